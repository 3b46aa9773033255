"""Many worlds in the browser, against a real server, in Debian's chromium.

An administrator creates a private world with PvP off in the admin console and invites a
player; the player enters it from the game's worlds panel; a weapon fired at another player's
ship there does no harm; then the administrator deletes the world through the console (typing
its name) while the player is inside, the player sees the countdown and lands in their home
world with the same ship.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from tests.conftest import LiveServer, make_settings, start_live
from tests.web.test_browser import PASSWORD, Player, browser  # noqa: F401

from callister.bots.client import Bot
from callister.server.admin_routes import WORLD_HOST

pytestmark = pytest.mark.browser
T = TypeVar("T")


class ThreadedServer:
    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        # one administrator deletes in the console: the one-admin server's opt-out of the
        # two-person rule (tests/server/test_worlds.py tests the rule itself)
        settings = make_settings(tmp, world_delete_countdown_s=4, kill_switch_two_person=False)
        self.live: LiveServer = self.run(start_live(settings))
        self.http: aiohttp.ClientSession | None = None

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def go() -> T:
            return fn()

        result: T = self.run(go())
        return result

    def close(self) -> None:
        if self.http is not None:
            self.run(self.http.close())
        self.run(self.live.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def game(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    server = ThreadedServer(tmp_path_factory.mktemp("worlds"))
    try:
        yield server
    finally:
        server.close()


def post(base: str, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def until(what: str, pred: Callable[[], Any], t: float = 20.0) -> Any:
    deadline = time.monotonic() + t
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_admin_private_world_pvp_off_then_kill_switch(game: ThreadedServer, browser: Any) -> None:  # noqa: F811
    base = game.live.http
    admin_token = post(base, "/api/register", {"name": "Warden", "password": PASSWORD})["token"]
    game.live.services.store.accounts.set_role("Warden", "admin")

    # --- the administrator creates a private world with PvP off in the console
    admin = browser.new_context(viewport={"width": 1400, "height": 900})
    console = admin.new_page()
    errors: list[str] = []
    console.on("pageerror", lambda e: errors.append(str(e)))
    console.goto(base + "/admin")
    console.fill("#admin-name", "Warden")
    console.fill("#admin-password", PASSWORD)
    console.click("#admin-login-submit")
    console.wait_for_selector("[data-testid='world-row-infinity']", timeout=10000)
    console.fill("[data-testid='admin-create-name']", "refuge")
    console.select_option("[data-testid='admin-create-visibility']", "private")
    console.uncheck("[data-testid='admin-create-pvp']")
    console.click("[data-testid='admin-create-submit']")
    console.wait_for_selector("[data-testid='world-row-refuge']", timeout=10000)
    record = game.live.server.app[WORLD_HOST].records["refuge"]
    assert record.rules["pvp"] is False and record.visibility == "private"

    # --- a player (in the browser) is invited through the console and enters the world
    nova = Player(browser, base, "Nova")
    nova.register()
    console.fill("[data-testid='invite-input-refuge']", "Nova")
    console.click("[data-testid='invite-refuge']")
    nova.page.wait_for_selector("[data-testid='world-enter-refuge']", timeout=15000)
    ship = nova.snap()["ship"]
    nova.page.click("[data-testid='world-enter-refuge']")
    until("Nova in refuge", lambda: nova.page.evaluate("window.callister.worlds()")["world"]
          == "refuge")  # fmt: skip
    nova.wait("the first snapshot in refuge", lambda s: s["status"] == "online" and s["pos"])
    assert nova.snap()["ship"] != ship  # a first visit: a new character with its own ship
    # --- another player (a bot) is in refuge too, and the browser player fires at it

    async def target_setup() -> Bot:
        game.http = aiohttp.ClientSession()
        bot = Bot(base, game.live.ws, "Target", session=game.http, jump_every_s=0)
        await bot.register()
        return bot

    target: Bot = game.run(target_setup())
    post(base, "/api/worlds/refuge/invite", {"account": "Target"}, admin_token)
    target.world = "refuge"
    game.run(target.connect())
    game.run(target.send({"t": "undock", "ship": target.ship}))
    pump = asyncio.run_coroutine_threadsafe(target.pump(120), game.loop)
    nova.page.keyboard.press("f")
    nova.wait("undocking", lambda s: not s["docked"])
    runtime = game.live.server.app[WORLD_HOST].runtimes["refuge"]

    def place() -> None:
        world = runtime.world
        me = next(p for p in world.pilots.values() if p.name == "Nova")
        them = next(p for p in world.pilots.values() if p.name == "Target")
        zone = world.zones[me.zone_key].zone
        for pilot, dx in ((me, 0.0), (them, 150.0)):
            row = zone.store.row(pilot.character.ship_id)
            zone.store.x[row], zone.store.y[row] = 9000.0 + dx, 0.0
            zone.store.vx[row] = zone.store.vy[row] = 0.0

    game.call(place)
    target_ship = str(target.ship)
    nova.wait("the target in view", lambda s: target_ship in s["entities"])
    time.sleep(0.5)
    deadline = time.monotonic() + 10
    while ((nova.page.evaluate("window.callister.status()") or {}).get("target") or {}).get(
        "id"
    ) != target.ship:  # ids: JSON numbers
        assert time.monotonic() < deadline, "T did not lock the target"
        nova.page.keyboard.press("t")
        time.sleep(0.3)
    nova.page.keyboard.down("Space")
    try:
        until("the shot refused", lambda: nova.snap().get("lastError"))
        time.sleep(1.0)  # a second of trying
    finally:
        nova.page.keyboard.up("Space")

    def vitals() -> Any:
        them = next(p for p in runtime.world.pilots.values() if p.name == "Target")
        zone = runtime.world.zones[them.zone_key].zone
        return zone.vitals(them.character.ship_id)

    v = game.call(vitals)
    assert v.shield == v.shield_max and v.hull_hp == v.hull_max  # no harm done

    # --- the administrator deletes refuge in the console while Nova is inside
    console.click("[data-testid='delete-refuge']")
    console.fill("[data-testid='delete-confirm-input']", "refuge")
    console.click("[data-testid='delete-confirm-submit']")
    until("the countdown in the game", lambda: nova.page.evaluate(
        "window.callister.worlds()")["ending"])  # fmt: skip
    assert nova.page.is_visible("[data-testid='world-ending']")
    until("Nova home in infinity", lambda: nova.page.evaluate(
        "window.callister.worlds()")["world"] == "infinity", 30)  # fmt: skip
    nova.wait("online at home", lambda s: s["status"] == "online" and s["pos"])
    assert nova.snap()["ship"] == ship  # home: the ship Nova had in infinity
    until("the world gone from the console", lambda: not console.is_visible(
        "[data-testid='world-row-refuge']"), 30)  # fmt: skip
    assert "refuge" not in game.live.server.app[WORLD_HOST].records
    audit = game.live.services.store.worlds.list_audit("refuge")
    assert audit[0].action == "deleted"
    pump.cancel()
    assert not nova.page_errors, nova.page_errors
    assert not errors, errors
    admin.close()
