"""Touch controls on a phone (390 × 844, touch), in Debian's chromium, against a real server.

One thumb on the virtual stick, the other on Fire, at the same time (real multi-touch through
the DevTools protocol, the way a phone's touch screen reaches the page): the ship turns to
where the stick points and thrusts, the weapons fire, and everything the page sends is what
the keys send (`input` and `fire` messages). Lifting the thumbs lets go of both. The server
runs in this process (tests/web/test_browser_combat.py) so the test can read the ship's heading
where it is decided.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import pytest
from tests.web.harness import Player, ThreadedServer, game_fixture, ship_row

pytestmark = pytest.mark.browser

# wrap the socket's send to keep the types of the messages the page sends (instrumentation:
# the messages still go out unchanged)
RECORD_SENDS = """
() => {
  const net = window.callister.net;
  window.__sent = [];
  const send = net.send.bind(net);
  net.send = (msg) => { window.__sent.push([performance.now(), msg]); return send(msg); };
}
"""


game = game_fixture("touch")


def centre(p: Player, selector: str) -> tuple[float, float]:
    box = p.page.locator(selector).bounding_box()
    assert box, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def ship_pose(game: ThreadedServer, name: str) -> tuple[float, float]:
    """(heading in radians, speed) of the named player's ship, as the zone has it."""

    def go() -> tuple[float, float]:
        zone, row = ship_row(game.world, name)
        st = zone.store
        return float(st.angle[row]), math.hypot(float(st.vx[row]), float(st.vy[row]))

    result: tuple[float, float] = game.call(go)
    return result


def angle_gap(a: float, b: float) -> float:
    return abs((a - b + math.pi) % (2 * math.pi) - math.pi)


def test_stick_and_fire_with_two_thumbs(game: ThreadedServer, browser: Any) -> None:
    name = "Thumb_" + str(os.getpid() % 10000)
    p = Player(browser, game.live.http, name, 390, 844, touch=True, phone=True)
    p.register(tap=True)
    assert p.page.evaluate("window.callister.layout()") == {
        "mode": "phone",
        "touch": True,
        "drawer": False,
    }
    assert not p.page.is_visible("#pad"), "the stick replaces the on-screen pad"
    # the station screen is full screen; its ✕ closes it; the Undock button launches
    p.close_station(tap=True)
    p.page.wait_for_selector("[data-testid='t-dock']:text-is('Undock')")
    p.page.tap("[data-testid='t-dock']")
    p.wait("undocking", lambda s: not s["docked"])
    p.page.wait_for_selector("[data-testid='t-dock']:text-is('Dock')")
    p.page.wait_for_selector("[data-testid='t-fire']", state="visible")

    # --- two thumbs: the stick pushed away from where the ship points, Fire held
    heading0, _ = ship_pose(game, name)
    want = heading0 + math.pi  # turn right round
    sx, sy = centre(p, "#stick")
    fx, fy = centre(p, "#btn-t-fire")
    reach = 0.9 * 0.38 * p.page.locator("#stick").bounding_box()["width"]  # type: ignore[index]
    # the screen's y points down, the world's up
    tx, ty = sx + math.cos(want) * reach, sy - math.sin(want) * reach
    p.page.evaluate(RECORD_SENDS)
    cdp = p.context.new_cdp_session(p.page)

    def touch(kind: str, points: list[tuple[float, float, int]]) -> None:
        cdp.send(
            "Input.dispatchTouchEvent",
            {"type": kind, "touchPoints": [{"x": x, "y": y, "id": i} for x, y, i in points]},
        )

    touch("touchStart", [(sx, sy, 1), (fx, fy, 2)])
    for i in range(1, 9):  # the thumb slides out to the edge of the stick
        f = i / 8
        touch("touchMove", [(sx + (tx - sx) * f, sy + (ty - sy) * f, 1), (fx, fy, 2)])
        time.sleep(0.03)
    try:
        deadline = time.monotonic() + 15
        while True:
            heading, speed = ship_pose(game, name)
            fired = p.page.evaluate("window.callister.weapons().sent")
            if angle_gap(heading, want) < 0.35 and speed > 20 and fired > 0:
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"heading {heading:.2f} (want {want:.2f}), speed {speed:.1f}, shots {fired}; "
                    f"touch {p.page.evaluate('window.callister.touch()')}"
                )
            time.sleep(0.1)
        held = p.page.evaluate("window.callister.touch()")
        assert held["held"] and held["controls"]["thrust"] > 0
    finally:
        touch("touchEnd", [])
    # lifted: the stick lets go (controls at rest) and the trigger is released
    deadline = time.monotonic() + 5
    while True:
        t = p.page.evaluate("window.callister.touch()")
        if not t["held"] and t["controls"] == {"thrust": 0, "turn": 0, "brake": False}:
            break
        assert time.monotonic() < deadline, t
        time.sleep(0.05)
    shots = p.page.evaluate("window.callister.weapons().sent")
    time.sleep(1.0)  # a second with no thumb on Fire: no more shots
    assert p.page.evaluate("window.callister.weapons().sent") == shots
    sent = [m for _, m in p.page.evaluate("window.__sent")]
    times = [t for t, m in p.page.evaluate("window.__sent") if m["t"] == "input"]
    kinds = {m["t"] for m in sent}
    assert kinds <= {"input", "fire", "target", "ack", "ping"}, kinds
    inputs = [m for m in sent if m["t"] == "input"]
    assert inputs and all(0 <= m["thrust"] <= 1 and -1 <= m["turn"] <= 1 for m in inputs)
    assert inputs[-1] == {"t": "input", "ship": inputs[-1]["ship"], "thrust": 0, "turn": 0,
                          "brake": False}  # fmt: skip
    # a stick sends a few inputs a second (it re-aims 10 times a second), never a flood
    rate = len(times) / max(1.0, (times[-1] - times[0]) / 1000)
    assert rate <= 15, (len(times), rate)

    # --- Brake: held under a thumb, the ship slows
    _, before = ship_pose(game, name)
    bx, by = centre(p, "[data-testid='t-brake']")
    touch("touchStart", [(bx, by, 3)])
    try:
        deadline = time.monotonic() + 15
        while ship_pose(game, name)[1] > max(0.0, before - 40):
            assert time.monotonic() < deadline, ship_pose(game, name)
            time.sleep(0.1)
    finally:
        touch("touchEnd", [])
    # --- two fingers spread on the view zoom in; a finger on the view fires nothing
    zoom = p.page.evaluate("window.callister.snapshot().zoom")
    shots = p.page.evaluate("window.callister.weapons().sent")
    touch("touchStart", [(150, 380, 4), (240, 380, 5)])
    for i in range(1, 7):
        touch("touchMove", [(150 - 12 * i, 380, 4), (240 + 12 * i, 380, 5)])
        time.sleep(0.03)
    touch("touchEnd", [])
    grown = p.page.evaluate("window.callister.snapshot().zoom")
    assert grown > zoom * 1.5, (zoom, grown)
    assert p.page.evaluate("window.callister.weapons().sent") == shots
    assert not p.page_errors, p.page_errors
    p.close()
