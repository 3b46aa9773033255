"""A game master seen from a player's browser (issue 18), in Debian's chromium against a real
server: a marked GM ship is drawn with the "GM" tag, a frozen system is announced in the event
log (and the unfreeze), and an invisible GM ship leaves the player's view."""

from __future__ import annotations

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
    server = ThreadedServer(tmp_path_factory.mktemp("gm"), damage_multiplier=1.0)
    try:
        yield server
    finally:
        server.close()


def drawn(p: Player, what: str) -> Any:
    return p.page.evaluate(what)


def wait_for(p: Player, what: str, expr: str, pred: Any, timeout: float = 30.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = drawn(p, expr)
        if pred(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{p.name}: timed out waiting for {what}; {value}; {p.page_errors}")
        time.sleep(0.2)


def test_a_player_sees_the_game_master(
    game: ThreadedServer,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    base = game.live.http
    player = Player(browser, base, "Viewer_1")
    player.register()

    async def gm_setup() -> Bot:
        game.http = aiohttp.ClientSession()
        bot = Bot(base, game.live.ws, "Warden_1", session=game.http, jump_every_s=0)
        bot.password = PASSWORD
        await bot.register()
        game.live.services.store.accounts.set_role("Warden_1", "admin")
        await bot.connect()
        await bot.send({"t": "undock", "ship": bot.ship})  # docked ships carry no label
        while bot.docked:
            await bot.pump(0.05)
        await bot.gm("gm_ship", mode="marked")
        return bot

    warden: Bot = game.run(gm_setup())
    wait_for(player, "the GM tag", "[...window.callister.renderer.gmTags]",
             lambda tags: tags == [warden.ship])  # fmt: skip
    player.page.screenshot(path=str(tmp_path / "gm.png"))
    assert warden.system is not None
    sector = [str(warden.system["x"]), str(warden.system["y"])]
    game.run(warden.gm("freeze", sector=sector))
    wait_for(player, "the frozen notice", "window.callister.events()",
             lambda log: any("froze this system" in line for line in log))  # fmt: skip
    game.run(warden.gm("unfreeze", sector=sector))
    wait_for(player, "the unfrozen notice", "window.callister.events()",
             lambda log: any("unfroze" in line for line in log))  # fmt: skip
    seen = f"window.callister.state.tracks.has({warden.ship})"
    assert drawn(player, seen)
    game.run(warden.gm("gm_ship", mode="invisible"))
    wait_for(player, "the GM ship gone from view", seen, lambda has: not has)
    assert not player.page_errors, player.page_errors
