"""Shared ships in the browser, against a real server, in Debian's chromium: a captain invites
a second player through the page, the player accepts, the captain makes them the gunner, flies
out, and the gunner fires the captain's ship's laser. Everything through the page (clicks,
typing, keys); the server runs in this process on its own thread."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from tests.web.harness import Player, ThreadedServer, game_fixture, pilot_named, ship_row

pytestmark = pytest.mark.browser

game = game_fixture("aboard")


def aboard_of(p: Player) -> dict[str, Any]:
    value: dict[str, Any] = p.page.evaluate("window.callister.aboard()")
    return value


def test_two_players_crew_one_ship_and_the_gunner_fires(
    game: ThreadedServer,
    browser: Any,
    tmp_path: Path,
) -> None:
    tag = str(os.getpid() % 10000)
    cap = Player(browser, game.live.http, "Cap_" + tag)
    gia = Player(browser, game.live.http, "Gia_" + tag)
    cap.register()
    gia.register()
    cap_ship = int(cap.snap()["ship"])
    # flying alone, the shared-ship panel keeps out of the way: the captain opens it from its
    # chip, invites Gia by name; the invitation opens Gia's panel, and she accepts from it
    assert not cap.page.is_visible("[data-testid='aboard-name']")
    cap.page.click("[data-testid='chip-aboard']")
    cap.page.fill("[data-testid='aboard-name']", gia.name)
    cap.page.click("[data-testid='aboard-invite']")
    gia.until("the invitation", lambda: aboard_of(gia)["invites"])
    gia.page.click(f"[data-testid='accept-{cap_ship}']")
    a = gia.until("a station aboard", lambda: aboard_of(gia), lambda a: a["station"])
    # the captain keeps the helm (issue 16): Gia boards at the first free other station
    assert a["station"] == "gunner" and a["ship"] == cap_ship
    # Gia's client now acts for and watches the captain's ship
    gia.wait("the view of the captain's ship", lambda s: int(s["ship"]) == cap_ship)
    # the captain sees who is aboard, and makes Gia the gunner
    gia_id = str(game.call(lambda: pilot_named(game.world, gia.name).account_id))
    cap.until(
        "Gia in the list",
        lambda: aboard_of(cap)["members"],
        lambda m: any(str(x["id"]) == gia_id for x in m),  # an account id: a JSON number
    )
    assert cap.page.is_visible(f"#aboard-list li[data-member='{gia_id}']")
    # the captain moves Gia through the list (to the miner's station, then back to gunner)
    cap.page.select_option(f"[data-testid='assign-{gia_id}']", "miner")
    gia.until("the miner's station", lambda: aboard_of(gia)["station"], lambda s: s == "miner")
    cap.page.select_option(f"[data-testid='assign-{gia_id}']", "gunner")
    gia.until("the gunner's station", lambda: aboard_of(gia)["station"], lambda s: s == "gunner")
    # the pilot's seat was never given away: the captain flies; undock with F
    cap.page.keyboard.press("f")
    cap.wait("undocked", lambda s: not s["docked"])
    gia.wait("undocked (the gunner's view)", lambda s: not s["docked"])
    # the gunner fires the ship's weapon (Space), straight ahead
    gia.page.keyboard.down("Space")
    try:
        gia.wait_eval(
            "a beam from the captain's ship",
            "window.callister.fx()",
            lambda fx: fx.get("beam", 0) > 0,
        )
    finally:
        gia.page.keyboard.up("Space")
    # the server agrees: a weapon of the captain's ship has fired (its slot has a ready tick)

    def fired() -> bool:
        zone, row = ship_row(game.world, cap.name)
        return bool((zone.store.ready[row] > 0).any())

    assert game.call(fired)
    cap_fx = cap.page.evaluate("window.callister.fx()")
    assert cap_fx.get("beam", 0) > 0  # the captain saw the shot too
    assert not cap.page_errors and not gia.page_errors
    gia.page.screenshot(path=str(tmp_path / "aboard.png"))
    cap.close()
    gia.close()
