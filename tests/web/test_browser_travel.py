"""Travel in the browser (issue 16), in Debian's chromium against a real server: undock, open
the system map, "fly to" a station from its list (click) and from the map itself, stop the
autopilot (X), arrive and dock; the fuel warning before the point of no return and its "fly to
refuel" button; and the same trip on a phone (390 × 844, touch) by taps. Everything through the
page; the server flies the ship. Saves docs/screenshot-travel.png and
docs/screenshot-travel-phone.png (the README shows them)."""

from __future__ import annotations

import math
import os
import time
from typing import Any

import pytest
from tests.web.harness import ROOT, Player, ThreadedServer, game_fixture, pilot_named

pytestmark = pytest.mark.browser

SHOT_DESKTOP = ROOT / "docs" / "screenshot-travel.png"
SHOT_PHONE = ROOT / "docs" / "screenshot-travel-phone.png"
TRIP_S = 150.0  # bounds a hang only: the trip itself is ~25 km at cruise speed

game = game_fixture("travel", damage_multiplier=1.0)


def travel(p: Player) -> dict[str, Any]:
    value: dict[str, Any] = p.page.evaluate("window.callister.travel()")
    return value


def far_station(game: ThreadedServer, name: str) -> tuple[int, float, float, float]:
    """The station of the player's system farthest from its ship: (index, x, y, dock radius)."""

    def go() -> tuple[int, float, float, float]:
        pilot = pilot_named(game.world, name)
        handle = game.world.zones[pilot.zone_key]
        own = handle.zone.ship_state(pilot.character.ship_id)
        best = max(handle.system.stations, key=lambda s: math.hypot(s.x - own.x, s.y - own.y))
        return best.index, float(best.x), float(best.y), float(best.dock_radius)

    result: tuple[int, float, float, float] = game.call(go)
    return result


def ship_of(game: ThreadedServer, name: str) -> Any:
    def go() -> Any:
        pilot = pilot_named(game.world, name)
        return game.world.ship_state(pilot)

    return game.call(go)


def undock(p: Player, tap: bool = False) -> None:
    if tap:
        p.close_station(tap=True)
        p.page.wait_for_selector("[data-testid='t-dock']:text-is('Undock')")
        p.page.tap("[data-testid='t-dock']")
        p.wait("undocked", lambda s: not s["docked"])
    else:
        p.page.wait_for_selector("#station-screen", state="visible")
        p.page.keyboard.press("Escape")
        p.undock()


def test_fly_to_a_station_by_autopilot_at_1280x800(game: ThreadedServer, browser: Any) -> None:
    name = "Trav_" + str(os.getpid() % 10000)
    p = Player(browser, game.live.http, name, 1280, 800)
    p.register()
    undock(p)
    index, sx, sy, dock_r = far_station(game, name)
    # the travel strip is up in flight; the map lists the destinations
    p.page.wait_for_selector("[data-testid='travel']", state="visible")
    p.page.keyboard.press("n")
    p.page.wait_for_selector(f"[data-testid='fly-station-{index}']", state="visible")
    kinds = {d["kind"] for d in travel(p)["destinations"]}
    assert {"station", "field", "link"} <= kinds  # stations, asteroid fields and jump gates
    # fly to the far station from the list, by keyboard: the map opened with N focuses the
    # nearest destination's Fly button; ↓ moves down the list, Enter flies
    for _ in range(len(travel(p)["destinations"])):
        focused = p.page.evaluate("document.activeElement?.dataset?.testid ?? ''")
        if focused == f"fly-station-{index}":
            break
        p.page.keyboard.press("ArrowDown")
    p.page.keyboard.press("Enter")
    # the HUD says where to, how far
    p.until("the autopilot on", lambda: travel(p)["autopilot"],
            lambda a: a and a["to"] == "station" and a["index"] == index)  # fmt: skip
    p.page.wait_for_selector("[data-testid='travel-status']:has-text('Autopilot →')")
    # X stops it: the server cancels, the strip clears
    p.page.keyboard.press("Escape")  # close the map
    p.page.keyboard.press("x")
    p.until("the autopilot stopped", lambda: travel(p),
            lambda t: t["autopilot"] is None and "off" in t["cancels"])  # fmt: skip
    # again, by clicking the station on the map itself
    p.page.keyboard.press("n")
    p.page.wait_for_selector("#sysmap", state="visible")
    at = p.page.evaluate(
        "([x, y]) => { const v = window.callister.sysmap.view; return [v.X(x), v.Y(y)]; }",
        [sx, sy],
    )
    p.page.click("#sysmap-canvas", position={"x": at[0], "y": at[1]})
    p.until("the autopilot on again", lambda: travel(p)["autopilot"],
            lambda a: a and a["to"] == "station" and a["index"] == index)  # fmt: skip
    # on a long leg the autopilot engages cruise: the strip's Cruise button lights
    p.until("cruise", lambda: travel(p)["cruise"], lambda c: c in ("spooling", "on"))
    time.sleep(1.0)  # a second of flight, so the screenshot shows the course under way
    SHOT_DESKTOP.parent.mkdir(parents=True, exist_ok=True)
    p.page.screenshot(path=str(SHOT_DESKTOP))
    assert SHOT_DESKTOP.stat().st_size > 20_000
    p.page.keyboard.press("Escape")
    p.until("arrival", lambda: travel(p), lambda t: t["arrivals"] >= 1, timeout=TRIP_S)
    # the server agrees: the ship stopped inside the station's docking range; F docks
    own = ship_of(game, name)
    assert math.hypot(own.x - sx, own.y - sy) <= dock_r
    assert math.hypot(own.vx, own.vy) < 10
    p.page.keyboard.press("f")
    p.wait("docked at the far station", lambda s: s["docked"])
    assert ship_of(game, name).docked_at == index
    assert not p.page_errors, p.page_errors


def test_the_fuel_warning_before_the_point_of_no_return(
    game: ThreadedServer,
    browser: Any,
) -> None:
    name = "Fuel_" + str(os.getpid() % 10000)
    p = Player(browser, game.live.http, name, 1280, 800)
    p.register()
    undock(p)
    p.page.wait_for_selector("[data-testid='travel']", state="visible")
    assert not p.page.is_visible("[data-testid='fuel-warning']")  # a full tank: no warning

    def drain() -> int:
        """Test set-up: leave the ship just enough fuel to reach a station without the
        reserve (as if it had flown a long way): the outlook `low`."""
        from callister.server.status import status_message

        world = game.world
        pilot = pilot_named(world, name)
        zone = world.zones[pilot.zone_key].zone
        row = zone.store.row(pilot.character.ship_id)
        full = float(zone.store.fuel_max[row])
        for i in range(200, 0, -1):
            zone.store.fuel[row] = full * i / 200
            own = zone.ship_state(pilot.character.ship_id)
            status = status_message(world, world.content, zone, pilot, own, 0)
            if status["fuel_warning"] == "low":
                return int(status["fuel_station"])
        raise AssertionError("no fuel level gives the point-of-no-return warning")

    station = game.call(drain)
    p.page.wait_for_selector("[data-testid='fuel-warning']:has-text('POINT OF NO RETURN')")
    assert travel(p)["fuel_warning"] == "low"
    # its button flies to the station the server says is still in reach
    p.page.click("[data-testid='refuel-run']")
    p.until("the autopilot to refuel", lambda: travel(p)["autopilot"],
            lambda a: a and a["to"] == "station" and a["index"] == station)  # fmt: skip
    assert not p.page_errors, p.page_errors


def test_fly_to_by_taps_on_a_phone(game: ThreadedServer, browser: Any) -> None:
    name = "TPho_" + str(os.getpid() % 10000)
    p = Player(browser, game.live.http, name, 390, 844, touch=True, phone=True)
    p.register(tap=True)
    undock(p, tap=True)
    index, sx, sy, dock_r = far_station(game, name)
    p.page.tap("[data-testid='t-map']")
    p.page.wait_for_selector(f"[data-testid='fly-station-{index}']", state="visible")
    p.page.tap(f"[data-testid='fly-station-{index}']")
    # the map gives the screen back at once; the strip says where the ship is going
    p.page.wait_for_selector("#sysmap", state="hidden")
    p.page.wait_for_selector("[data-testid='travel-status']:has-text('Autopilot →')")
    box = p.page.locator("[data-testid='travel']").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    p.until("cruise", lambda: travel(p)["cruise"], lambda c: c in ("spooling", "on"))
    time.sleep(1.0)
    p.page.screenshot(path=str(SHOT_PHONE))
    assert SHOT_PHONE.stat().st_size > 10_000
    p.until("arrival", lambda: travel(p), lambda t: t["arrivals"] >= 1, timeout=TRIP_S)
    own = ship_of(game, name)
    assert math.hypot(own.x - sx, own.y - sy) <= dock_r
    p.page.wait_for_selector("[data-testid='t-dock'].ready")
    p.page.tap("[data-testid='t-dock']")
    p.wait("docked", lambda s: s["docked"])
    assert not p.page_errors, p.page_errors
