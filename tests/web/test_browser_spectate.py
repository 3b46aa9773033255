"""A moderator spectates live from the console, in Debian's chromium, against a real server.

Two players (the project's bots, real WebSocket clients) fly in one system; a moderator opens
the console (/mod), picks one player's account and presses Spectate: the live view (the game's
own Net, GameState and Renderer over a `hello.spectate` socket) draws the followed ship at the
centre of the canvas, the follow list switches to the other player, and neither player ever
sees the moderator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.web.test_browser import PASSWORD, Player, browser  # noqa: F401
from tests.web.test_browser_combat import ThreadedServer

from callister.bots.client import Bot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def game(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    server = ThreadedServer(tmp_path_factory.mktemp("spectate"), damage_multiplier=1.0)
    try:
        yield server
    finally:
        server.close()


def live_state(p: Player) -> dict[str, Any]:
    value: dict[str, Any] = p.page.evaluate("window.callisterMod.live()")
    return value


def wait_live(p: Player, what: str, pred: Any, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        s = live_state(p)
        if pred(s):
            return s
        if time.monotonic() > deadline:
            pytest.fail(f"moderator: timed out waiting for {what}; {s}; errors {p.page_errors}")
        time.sleep(0.2)


def test_moderator_spectates_a_player_from_the_console(
    game: ThreadedServer,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    base = game.live.http

    async def setup() -> tuple[Bot, Bot]:
        game.http = aiohttp.ClientSession()
        bots = []
        for name in ("Watched_1", "Other_1"):
            bot = Bot(base, game.live.ws, name, session=game.http, jump_every_s=0)
            await bot.register()
            await bot.connect()
            await bot.send({"t": "undock", "ship": bot.ship})
            while bot.docked:
                await bot.pump(0.05)
            bots.append(bot)
        body = {"name": "Mod_2", "password": PASSWORD}
        async with game.http.post(f"{base}/api/register", json=body) as resp:
            assert resp.status == 201, await resp.text()
        return bots[0], bots[1]

    watched, other = game.run(setup())
    game.live.services.store.accounts.set_role("Mod_2", "moderator")
    pumps = [asyncio.run_coroutine_threadsafe(b.pump(120), game.loop) for b in (watched, other)]

    mod = Player(browser, base, "Mod_2")
    mod.page.goto(base + "/mod")
    mod.page.fill("#mod-name", "Mod_2")
    mod.page.fill("#mod-password", PASSWORD)
    mod.page.click("#mod-btn-login")
    mod.page.wait_for_selector("#mod-who:has-text('Mod_2')")
    mod.page.fill("#mod-account", str(watched.welcome["account"]))
    mod.page.click("#mod-spectate")
    s = wait_live(
        mod,
        "the followed ship drawn",
        lambda s: s["spectating"] and watched.ship in s["poses"] and s["centre"] is not None,
    )
    assert s["follow"] == watched.ship and s["active"]
    assert mod.page.is_visible("#mod-live") and not mod.page.is_visible("#mod-view")
    mod.page.wait_for_selector(f"#mod-live-follow option[value='{other.ship}']", state="attached")
    mod.page.select_option("#mod-live-follow", str(other.ship))
    s = wait_live(mod, "following the other player", lambda s: s["follow"] == other.ship)
    wait_live(mod, "the other ship drawn", lambda s: other.ship in s["poses"])
    assert "following Other_1" in (mod.page.text_content("#mod-live-status") or "")
    # nobody sees the moderator: no ship of theirs in the zone, no name in anyone's ents
    world = game.world
    zone = world.zones[world.pilots[int(watched.welcome["account"])].zone_key].zone
    assert game.call(lambda: zone.ship_count) == 2
    assert "Mod_2" not in watched.names.values() and "Mod_2" not in other.names.values()

    # a moderator flying a marked ship: drawn with the "MOD" tag by the game's renderer
    async def marshal_setup() -> Bot:
        assert game.http is not None
        bot = Bot(base, game.live.ws, "Marshal_1", session=game.http, jump_every_s=0)
        await bot.register()
        game.live.services.store.accounts.set_role("Marshal_1", "moderator")
        bot.hello_extra = {"moderator_ship": True}
        await bot.connect()
        await bot.send({"t": "undock", "ship": bot.ship})  # docked ships carry no label
        while bot.docked:
            await bot.pump(0.05)
        return bot

    marshal: Bot = game.run(marshal_setup())
    pumps.append(asyncio.run_coroutine_threadsafe(marshal.pump(120), game.loop))
    wait_live(mod, "the MOD tag", lambda s: s["modTags"] == [marshal.ship])
    mod.page.screenshot(path=str(tmp_path / "spectate.png"))
    mod.page.click("#mod-live-stop")
    wait_live(mod, "stopped", lambda s: not s["active"])
    for pump in pumps:
        pump.cancel()
    assert not mod.page_errors, mod.page_errors
