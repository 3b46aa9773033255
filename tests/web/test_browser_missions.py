"""Missions in the browser (issue 16) at 1280 × 800, 1024 × 600 and 390 × 844 (a phone, touch),
in Debian's chromium: the tutorial's objective and marker, its steps played through the page
(undock with the Undock button; the flight to the marker by the autopilot, a protocol message
the page sends; mining with the Mine button), Skip and Resume, the mission board at a station
(Accept, Abandon), and running dry: the HUD shows the ways out, "Call a tow" is clicked and the
station's tug docks the ship.

Set-up only empties the tank (what minutes of thrusting would do); every step after it is a
click. It saves docs/screenshot-missions-desktop.png, -1024.png and -phone.png (the README
shows them).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from tests.web.harness import ROOT, Player, ThreadedServer, game_fixture, set_vitals

pytestmark = pytest.mark.browser

SIZES = {
    "desktop": (1280, 800, False, False),
    "1024": (1024, 600, False, False),
    "phone": (390, 844, True, True),
}


game = game_fixture("missions", damage_multiplier=1.0)


def wait_missions(p: Player, what: str, pred: Any, timeout: float = 30.0) -> dict[str, Any]:
    """Wait on the missions' state (the tutorial, the objective, the board, a rescue)."""
    missions: dict[str, Any] = p.wait_eval(
        what, "window.callister.missions()", pred, timeout=timeout
    )
    return missions


def tap(p: Player, testid: str) -> None:
    p.page.locator(f"[data-testid='{testid}']").first.click()


@pytest.mark.parametrize("size", list(SIZES))
def test_tutorial_board_and_rescue(game: ThreadedServer, browser: Any, size: str) -> None:
    width, height, touch, phone = SIZES[size]
    p = Player(browser, game.live.http, f"Rookie{size}", width, height, touch=touch, phone=phone)
    try:
        p.register()
        # the tutorial starts docked at home: its objective, its steps, Skip
        m = wait_missions(p, "the tutorial", lambda m: m["tutorial"] and m["objective"])
        assert m["tutorial"]["step"] == "undock" and not m["tutorial"]["finished"]
        p.page.wait_for_selector("[data-testid='objective']:visible", timeout=5000)
        p.page.wait_for_selector("[data-testid='tutorial-skip']:visible", timeout=5000)

        # undock: the step is done, the next objective is a marker to fly to
        if p.page.is_visible("#station-screen"):  # open on docking: its own Undock button
            p.page.click("#btn-station-undock")
        else:
            p.page.click("#btn-t-dock" if touch else "#btn-dock")
        m = wait_missions(p, "the fly step", lambda m: m["tutorial"]["step"] == "fly")
        marker = m["objective"]["marker"]
        assert marker["kind"] == "point"
        wait_missions(p, "the marker on screen", lambda m: m["markerShown"])
        p.page.evaluate(
            "([x, y]) => window.callister.net.send({t: 'autopilot',"
            " ship: window.callister.state.ship, to: {kind: 'point', x, y}})",
            [marker["x"], marker["y"]],
        )
        m = wait_missions(p, "the mine step", lambda m: m["tutorial"]["step"] == "mine", 90)
        p.wait("two rewards through the ledger", lambda s: p.status().get("credits", 0) >= 2200)

        # skip, then resume from the mission board once docked (a recall takes us home)
        tap(p, "tutorial-skip")
        wait_missions(p, "skipped", lambda m: m["tutorial"]["skipped"])
        p.page.wait_for_selector("[data-testid='tutorial-skip']", state="hidden", timeout=5000)

        # running dry: the ways out appear; a tow is called with one click
        # set-up: the tank runs dry (what a couple of minutes at full thrust would do)
        set_vitals(game, p.name, fuel=0.0)
        wait_missions(p, "the rescue panel", lambda m: m["rescueShown"], 15)
        assert "call_rescue" in (p.status().get("ways_out") or [])
        assert "recall_home" in p.status()["ways_out"]
        p.page.wait_for_selector("[data-testid='rescue-tow']:visible", timeout=10000)
        if size == "desktop":
            p.page.screenshot(path=str(ROOT / "docs" / "screenshot-rescue.png"))
        tap(p, "rescue-tow")
        wait_missions(p, "the tow posted", lambda m: (m["rescue"] or {}).get("event") == "posted")
        wait_missions(
            p, "towed into dock", lambda m: (m["rescue"] or {}).get("event") == "done", 120
        )
        p.wait("docked after the tow", lambda s: s["docked"], 20)

        # the mission board: resume the tutorial, accept a contract, abandon it
        tap(p, "station-missions" if p.page.is_visible("#station-screen") else "open-board")
        m = wait_missions(p, "the board", lambda m: m["board"] is not None and m["boardOpen"])
        assert m["board"], "the station offers no contracts"
        tap(p, "tutorial-resume")
        wait_missions(p, "resumed", lambda m: not m["tutorial"]["skipped"])
        p.page.locator("[data-testid='accept']:not([disabled])").first.click()
        m = wait_missions(p, "a contract held", lambda m: len(m["missions"]) == 1)
        p.page.screenshot(path=str(ROOT / "docs" / f"screenshot-missions-{size}.png"))
        tap(p, "abandon")
        wait_missions(p, "abandoned", lambda m: not m["missions"])
        assert not p.page_errors, p.page_errors
    finally:
        p.close()


if os.environ.get("CALLISTER_SKIP_BROWSER"):  # pragma: no cover
    pytestmark = pytest.mark.skip("browser tests disabled")
