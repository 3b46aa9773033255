"""A moderator spectates live from the console, in Debian's chromium, against a real server.

Two players (the project's bots, real WebSocket clients) fly in one system; a moderator opens
the console (/mod), picks one player's account and presses Spectate: the live view (the game's
own Net, GameState and Renderer over a `hello.spectate` socket) draws the followed ship at the
centre of the canvas, the follow list switches to the other player, and neither player ever
sees the moderator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.web.harness import (
    Player,
    ThreadedServer,
    game_fixture,
    launch,
    mod_console,
    new_bot,
    undocked_bot,
)

pytestmark = pytest.mark.browser

game = game_fixture("spectate", damage_multiplier=1.0)


def wait_live(p: Player, what: str, pred: Any) -> dict[str, Any]:
    """Wait on the moderation console's live view (what it follows and draws)."""
    live: dict[str, Any] = p.wait_eval(
        what, "window.callisterMod.live()", pred, timeout=30, every=0.2
    )
    return live


def test_moderator_spectates_a_player_from_the_console(
    game: ThreadedServer,
    browser: Any,
    tmp_path: Path,
) -> None:
    base = game.live.http
    watched = undocked_bot(game, "Watched_1")
    other = undocked_bot(game, "Other_1")
    game.account("Mod_2", role="moderator")
    pumps = [game.keep_reading(b, 120) for b in (watched, other)]

    mod = mod_console(browser, base, "Mod_2")
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
    marshal = new_bot(game, "Marshal_1", role="moderator")
    marshal.hello_extra = {"moderator_ship": True}
    launch(game, marshal)  # undocked: docked ships carry no label
    pumps.append(game.keep_reading(marshal, 120))
    wait_live(mod, "the MOD tag", lambda s: s["modTags"] == [marshal.ship])
    mod.page.screenshot(path=str(tmp_path / "spectate.png"))
    mod.page.click("#mod-live-stop")
    wait_live(mod, "stopped", lambda s: not s["active"])
    for pump in pumps:
        pump.cancel()
    assert not mod.page_errors, mod.page_errors
