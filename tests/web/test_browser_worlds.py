"""Many worlds in the browser, against a real server, in Debian's chromium.

An administrator creates a private world with PvP off in the admin console and invites a
player; the player enters it from the game's worlds panel; a weapon fired at another player's
ship there does no harm; then the administrator deletes the world through the console (typing
its name) while the player is inside, the player sees the countdown and lands in their home
world with the same ship.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.web.harness import (
    AdminConsole,
    Player,
    ThreadedServer,
    api,
    game_fixture,
    launch,
    new_bot,
    place,
    until,
    vitals,
)

from callister.server.admin_routes import WORLD_HOST

pytestmark = pytest.mark.browser

# ordinary weapons; one administrator deletes in the console: the one-admin server's opt-out
# of the two-person rule (tests/server/test_worlds.py tests the rule itself)
game = game_fixture(
    "worlds", damage_multiplier=1.0, world_delete_countdown_s=4, kill_switch_two_person=False
)


def test_admin_private_world_pvp_off_then_kill_switch(game: ThreadedServer, browser: Any) -> None:
    base = game.live.http
    admin_token = game.account("Warden", role="admin")["token"]

    # --- the administrator creates a private world with PvP off in the console
    admin = AdminConsole(browser, base, 1400, 900)
    console = admin.log_in("Warden", "[data-testid='world-row-infinity']")
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
    nova.wait_eval("Nova in refuge", "window.callister.worlds()", lambda w: w["world"] == "refuge")
    nova.wait("the first snapshot in refuge", lambda s: s["status"] == "online" and s["pos"])
    assert nova.snap()["ship"] != ship  # a first visit: a new character with its own ship
    # --- another player (a bot) is in refuge too, and the browser player fires at it
    target = new_bot(game, "Target")
    api(base, "POST", "/api/worlds/refuge/invite", {"account": "Target"}, admin_token)
    target.world = "refuge"
    launch(game, target)
    pump = game.keep_reading(target, 120)
    nova.undock()
    refuge = game.live.server.app[WORLD_HOST].runtimes["refuge"].world
    place(game, "Nova", 9000.0, 0.0, world=refuge)
    place(game, "Target", 9150.0, 0.0, world=refuge)
    target_ship = str(target.ship)
    nova.wait("the target in view", lambda s: target_ship in s["entities"])
    time.sleep(0.5)
    nova.lock(target.ship, confirmed=True)
    nova.page.keyboard.down("Space")
    try:
        until("the shot refused", lambda: nova.snap().get("lastError"))
        time.sleep(1.0)  # a second of trying
    finally:
        nova.page.keyboard.up("Space")

    v = vitals(game, "Target", world=refuge)
    assert v.shield == v.shield_max and v.hull_hp == v.hull_max  # no harm done

    # --- the administrator deletes refuge in the console while Nova is inside
    console.click("[data-testid='delete-refuge']")
    console.fill("[data-testid='delete-confirm-input']", "refuge")
    console.click("[data-testid='delete-confirm-submit']")
    nova.wait_eval("the countdown in the game", "window.callister.worlds()", lambda w: w["ending"])
    assert nova.page.is_visible("[data-testid='world-ending']")
    nova.wait_eval("Nova home in infinity", "window.callister.worlds()",
                   lambda w: w["world"] == "infinity", timeout=30)  # fmt: skip
    nova.wait("online at home", lambda s: s["status"] == "online" and s["pos"])
    assert nova.snap()["ship"] == ship  # home: the ship Nova had in infinity
    until("the world gone from the console", lambda: not console.is_visible(
        "[data-testid='world-row-refuge']"), timeout=30)  # fmt: skip
    assert "refuge" not in game.live.server.app[WORLD_HOST].records
    audit = game.live.services.store.worlds.list_audit("refuge")
    assert audit[0].action == "deleted"
    pump.cancel()
    assert not nova.page_errors, nova.page_errors
    assert not admin.errors, admin.errors
    admin.close()
