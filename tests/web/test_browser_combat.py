"""The economy and combat in the browser, against a real server, in Debian's chromium.

One story: a player buys fuel at their station, mines ore at an asteroid, sells it, then fights
another player's ship out in lawless space, destroys it and loots the wreck. All of it through
the page: keys, clicks and the station screen.

The server runs in this process on its own thread (real aiohttp, real sockets, a real SQLite
file) so the test can do two things no player can: drain the tank before the purchase, and move
ships across a system instead of flying there for minutes. Everything the player does is done
through the browser; the victim is a real WebSocket client (the project's bot).
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from tests.conftest import LiveServer, make_settings, start_live
from tests.web.test_browser import CHROMIUM, ROOT, Player, _brief, browser  # noqa: F401

from callister.bots.client import Bot

pytestmark = pytest.mark.browser
T = TypeVar("T")
COMBAT_SHOT = ROOT / "docs" / "screenshot-combat.png"


class ThreadedServer:
    """A live server on an event loop in a background thread; `call` runs code on that loop."""

    def __init__(self, tmp: Path, **overrides: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        # by default weapons are ten times as deadly: the fight is over in seconds, not minutes
        settings = make_settings(tmp, **{"damage_multiplier": 10.0, **overrides})
        self.live: LiveServer = self.run(start_live(settings))
        self.http: aiohttp.ClientSession | None = None

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def go() -> T:
            return fn()

        result: T = self.run(go())
        return result

    @property
    def world(self) -> Any:
        return self.live.services.world

    def close(self) -> None:
        if self.http is not None:
            self.run(self.http.close())
        self.run(self.live.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def game(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    server = ThreadedServer(tmp_path_factory.mktemp("combat"))
    try:
        yield server
    finally:
        server.close()


def pilot_named(world: Any, name: str) -> Any:
    return next(p for p in world.pilots.values() if p.name == name)


def place(game: ThreadedServer, name: str, x: float, y: float) -> None:
    """Test set-up: put the named player's (undocked) ship at rest at (x, y)."""

    def go() -> None:
        world = game.world
        pilot = pilot_named(world, name)
        zone = world.zones[pilot.zone_key].zone
        row = zone.store.row(pilot.character.ship_id)
        zone.store.x[row], zone.store.y[row] = x, y
        zone.store.vx[row] = zone.store.vy[row] = 0.0

    game.call(go)


def undocked_bot(game: ThreadedServer, name: str) -> Bot:
    """Another pilot: a real WebSocket client (the project's bot), registered and undocked.
    Keep it reading its socket (`bot.pump`) while the test runs."""

    async def setup() -> Bot:
        game.http = game.http or aiohttp.ClientSession()
        bot = Bot(game.live.http, game.live.ws, name, session=game.http, jump_every_s=0)
        await bot.register()
        await bot.connect()
        await bot.send({"t": "undock", "ship": bot.ship})
        while bot.docked:
            await bot.pump(0.05)
        return bot

    bot: Bot = game.run(setup())
    return bot


def lawless_spot(system: dict[str, Any]) -> tuple[float, float]:
    """A point in the system far (> 7 km) from every station, away from the star."""
    best, spot = -1.0, (0.0, 0.0)
    radius = float(system["radius"])
    for i in range(72):
        a = i * math.pi / 36
        for r in (0.4 * radius, 0.6 * radius, 0.8 * radius):
            x, y = r * math.cos(a), r * math.sin(a)
            d = min(math.hypot(x - s["x"], y - s["y"]) for s in system["stations"])
            if d > best:
                best, spot = d, (x, y)
    assert best > 7000, "the home system has no lawless space"
    return spot


def status(p: Player) -> dict[str, Any]:
    value: dict[str, Any] = p.page.evaluate("window.callister.status()") or {}
    return value


def wait_status(
    p: Player, what: str, pred: Callable[[dict[str, Any]], bool], t: float = 20
) -> dict[str, Any]:
    deadline = time.monotonic() + t
    while True:
        s = status(p)
        if s and pred(s):
            return s
        if time.monotonic() > deadline:
            pytest.fail(f"{p.name}: timed out waiting for {what}; status {s}; {_brief(p.snap())}")
        time.sleep(0.1)


def click(p: Player, testid: str) -> None:
    p.page.click(f"[data-testid='{testid}']")


def test_trade_mine_fight_loot(game: ThreadedServer, browser: Any) -> None:  # noqa: F811
    base = game.live.http
    name = "Vega_" + str(os.getpid() % 10000)
    vega = Player(browser, base, name)
    s = vega.register()
    assert s["docked"]
    system = game.call(
        lambda: game.world.zones[pilot_named(game.world, name).zone_key].system.to_dict()
    )
    assert system["fields"], "the home system has an asteroid field"
    start = wait_status(vega, "the first status", lambda st: st.get("credits") is not None)
    credits0 = start["credits"]

    # --- buy fuel: the tank is half empty (set-up), Services -> Refuel
    def drain() -> None:
        pilot = pilot_named(game.world, name)
        zone = game.world.zones[pilot.zone_key].zone
        zone.set_vitals(
            pilot.character.ship_id, fuel=zone.vitals(pilot.character.ship_id).fuel_max / 2
        )

    game.call(drain)
    wait_status(vega, "the drained tank", lambda st: st["fuel"] < st["fuel_max"])
    vega.page.wait_for_selector("#station-screen", state="visible", timeout=10000)
    click(vega, "station-tab-services")
    click(vega, "buy-fuel")
    after = wait_status(vega, "a full tank", lambda st: st["fuel"] == st["fuel_max"])
    assert after["credits"] < credits0
    vega.page.wait_for_selector("#station-result.ok", timeout=5000)

    # --- mine: undock, (set-up) move next to a rock, M starts the mining laser
    vega.page.keyboard.press("f")
    vega.wait("undocking", lambda s: not s["docked"])
    rock = system["fields"][0]["rocks"][0]
    ore = system["fields"][0]["ore"]
    place(game, name, rock["x"] + rock["r"] + 40.0, rock["y"])
    vega.wait(
        "the move",
        lambda s: (
            math.hypot(s["pos"]["x"] - rock["x"], s["pos"]["y"] - rock["y"]) < rock["r"] + 100
        ),
    )
    time.sleep(0.5)  # the view draws ~100 ms in the past: let it catch up with the move
    vega.page.keyboard.press("m")
    mined = wait_status(vega, "ore in the hold", lambda st: st["cargo"].get(ore, 0) >= 2, 30)
    vega.page.keyboard.press("m")  # stop
    held = mined["cargo"][ore]

    # --- sell: back at the station (set-up), dock with F, Market -> sell the ore
    station = system["stations"][0]
    place(game, name, station["x"] + station["radius"] + 40.0, station["y"])
    vega.wait(
        "the station in range",
        lambda s: (
            math.hypot(s["pos"]["x"] - station["x"], s["pos"]["y"] - station["y"])
            < station["dock_radius"]
        ),
    )
    time.sleep(0.5)
    vega.page.keyboard.press("f")
    vega.wait("docking", lambda s: s["docked"])
    vega.page.wait_for_selector("#station-screen", state="visible", timeout=10000)
    click(vega, "station-tab-market")
    held = status(vega)["cargo"].get(ore, held)
    vega.page.fill(f"[data-testid='qty-{ore}']", str(held))
    before_sale = status(vega)["credits"]
    click(vega, f"sell-{ore}")
    sold = wait_status(vega, "the ore sold", lambda st: not st["cargo"].get(ore))
    assert sold["credits"] > before_sale

    # --- fight: a real WebSocket player carrying cargo waits out in lawless space
    victim_name = "Mark_" + str(os.getpid() % 10000)

    async def victim_setup() -> Bot:
        game.http = aiohttp.ClientSession()
        bot = Bot(base, game.live.ws, victim_name, session=game.http, jump_every_s=0)
        await bot.register()
        await bot.connect()
        await bot.send({"t": "market", "ship": bot.ship})
        while bot.market is None:
            await bot.pump(0.05)
        item = min(bot.market["items"], key=lambda i: i["buy"])["key"]
        receipt, code = await bot.request({"t": "trade", "item": item, "qty": 2, "side": "buy"})
        assert receipt is not None, code
        await bot.send({"t": "undock", "ship": bot.ship})
        while bot.docked:
            await bot.pump(0.05)
        return bot

    victim: Bot = game.run(victim_setup())
    loot_item = next(iter(victim.receipts.values()))["cargo"]
    pump = asyncio.run_coroutine_threadsafe(victim.pump(120), game.loop)  # keep it reading
    x, y = lawless_spot(system)
    vega.page.keyboard.press("f")
    vega.wait("undocking", lambda s: not s["docked"])
    place(game, victim_name, x, y)
    place(game, name, x - 150.0, y)
    victim_ship = str(victim.ship)
    vega.wait("the victim in view", lambda s: victim_ship in s["entities"])
    time.sleep(0.5)
    # T locks the nearest ship; holding Space fires the selected weapon whenever it is ready
    vega.page.keyboard.press("t")
    deadline = time.monotonic() + 10
    while (status(vega).get("target") or {}).get("id") != victim.ship:  # ids: JSON numbers
        assert time.monotonic() < deadline, (
            f"T did not lock the victim: {status(vega).get('target')}"
        )
        vega.page.keyboard.press("t")
        time.sleep(0.3)
    vega.page.keyboard.down("Space")
    try:
        wait_status(
            vega, "hits on the target", lambda st: (st.get("target") or {}).get("shield", 1) < 1, 20
        )
        COMBAT_SHOT.parent.mkdir(parents=True, exist_ok=True)
        vega.page.screenshot(path=str(COMBAT_SHOT))
        vega.wait("the victim destroyed", lambda s: victim_ship not in s["entities"], 60)
    finally:
        vega.page.keyboard.up("Space")
    fx = vega.page.evaluate("window.callister.fx()")
    assert fx, "effects were received"

    # --- loot: Shift+T locks the wreck, L takes what it holds
    deadline = time.monotonic() + 15
    while (status(vega).get("target") or {}).get("kind") != "wreck":
        assert time.monotonic() < deadline, f"no wreck to lock: {status(vega).get('target')}"
        vega.page.keyboard.press("Shift+T")
        time.sleep(0.3)
    vega.page.keyboard.press("l")
    looted = wait_status(
        vega,
        "the loot in the hold",
        lambda st: all(st["cargo"].get(k, 0) >= q for k, q in loot_item.items()),
        20,
    )
    assert looted["cargo"]

    # the books balance after all of it
    audit = game.run(game.world.writer.call(game.world.economy.audit))
    assert audit["balanced"], audit["problems"]
    pump.cancel()
    assert not vega.page_errors, vega.page_errors
