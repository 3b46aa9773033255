"""A game master seen from a player's browser (issue 18), in Debian's chromium against a real
server: a marked GM ship is drawn with the "GM" tag, a frozen system is announced in the event
log (and the unfreeze), and an invisible GM ship leaves the player's view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.web.harness import Player, ThreadedServer, game_fixture, undocked_bot

pytestmark = pytest.mark.browser

game = game_fixture("gm", damage_multiplier=1.0)


def wait_for(p: Player, what: str, expr: str, pred: Any) -> Any:
    return p.wait_eval(what, expr, pred, timeout=30, every=0.2)


def test_a_player_sees_the_game_master(
    game: ThreadedServer,
    browser: Any,
    tmp_path: Path,
) -> None:
    player = Player(browser, game.live.http, "Viewer_1")
    player.register()

    warden = undocked_bot(game, "Warden_1", role="admin")  # undocked: docked ships carry no label
    game.run(warden.gm("gm_ship", mode="marked"))
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
    assert player.page.evaluate(seen)
    game.run(warden.gm("gm_ship", mode="invisible"))
    wait_for(player, "the GM ship gone from view", seen, lambda has: not has)
    assert not player.page_errors, player.page_errors
