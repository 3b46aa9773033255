"""NPC traffic in the home system, in Debian's chromium against a real server on default NPC
settings (issue 15): a new player undocks and, within 90 s, sees at least 3 other ships
moving (the clones of the living universe flying their plans); the page is saved as
docs/screenshot-living.png."""

from __future__ import annotations

import math
import os
import time
from typing import Any

import pytest
from tests.web.harness import ROOT, Player, ThreadedServer, game_fixture

pytestmark = pytest.mark.browser

SHOT = ROOT / "docs" / "screenshot-living.png"
KIND_SHIP = 1

# npc_density 1.0 is the default setting (the test settings turn NPCs off unless asked)
game = game_fixture("living", npc_density=1.0, damage_multiplier=1.0)


def moving_ships(snapshot: dict[str, Any]) -> list[str]:
    """Ships other than our own that the client shows moving (over 3 m/s)."""
    own = str(snapshot["ship"])
    return [
        i
        for i, e in snapshot["entities"].items()
        if i != own and e["kind"] == KIND_SHIP and math.hypot(e["vx"], e["vy"]) > 3.0
    ]


def test_a_new_player_sees_npc_traffic_in_the_home_system(
    game: ThreadedServer,
    browser: Any,
) -> None:
    p = Player(browser, game.live.http, "Newcomer_" + str(os.getpid() % 10000))
    s = p.register()
    assert s["docked"]
    p.undock()
    undocked = time.monotonic()
    seen: set[str] = set()

    def traffic(s: dict[str, Any]) -> bool:
        now = moving_ships(s)
        seen.update(now)
        return len(now) >= 3

    s = p.wait("3 NPC ships moving", traffic, timeout=90.0)
    waited = time.monotonic() - undocked
    names = [s["entities"][i]["name"] for i in moving_ships(s)]
    assert all(names), names  # the client names them (clones' names, with their trade)
    npcs = game.call(lambda: dict(game.world.agents.npcs))
    assert all(int(i) in npcs for i in moving_ships(s))  # they are the world's NPCs
    p.page.screenshot(path=str(SHOT))
    assert not p.page_errors
    print(f"3 NPC ships moving {waited:.1f} s after undocking; seen moving: {len(seen)}")
    p.close()
