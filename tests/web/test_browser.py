"""The browser client against a real server, in Debian's chromium (never a downloaded browser).

One story, as a player lives it: log-in errors shown from the server, register, docked at home,
undock, fly, a second player appears in the same system and moves, dock again, survive a dropped
socket and a page reload, open the maps, jump to a linked system. Along the way the test saves
docs/screenshot.png (the README shows it).

Waiting is done by polling the client's `window.callister.snapshot()` (tests/web/harness.py
says why).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from tests.web.harness import PASSWORD, ROOT, Player, ServeProcess, brief

from callister.protocol.snapshot import RECORD_DTYPE, decode_snapshot, encode_snapshot

pytestmark = pytest.mark.browser

SCREENSHOT = ROOT / "docs" / "screenshot.png"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `callister serve` on a free port with a fresh SQLite file; yields its base URL."""
    # every new player starts in the same system
    serve = ServeProcess(tmp_path_factory.mktemp("web"), "w.db", 60, CALLISTER_HOME_SYSTEMS="1")
    serve.start()
    try:
        yield serve.base
    finally:
        serve.stop()
        log = serve.log_path.read_text(errors="replace").splitlines()
        errors = [ln for ln in log if '"error"' in ln]
        if errors:
            print("server errors:\n" + "\n".join(errors[-10:]))


def _dist(a: dict[str, float], b: dict[str, float]) -> float:
    return math.hypot(a["x"] - b["x"], a["y"] - b["y"])


def _home_station(p: Player) -> dict[str, Any]:
    station: dict[str, Any] = p.page.evaluate(
        "(() => { const s = window.callister.state; const o = s.ownRecord();"
        " return s.nearestStation(o.x, o.y).station; })()"
    )
    return station


# ------------------------------------------------------------------------------ the story
def test_play_session(server: str, browser: Any) -> None:
    alice = Player(browser, server, "Alice_" + str(os.getpid() % 10000))

    # --- a stale token from an earlier visit: the client drops it and asks to log in
    alice.page.evaluate("localStorage.setItem('callister.token', 'stale-token')")
    alice.page.reload()
    alice.page.wait_for_selector("#login-error:has-text('log in')", timeout=10000)
    assert alice.page.evaluate("localStorage.getItem('callister.token')") is None

    # --- the login screen shows the server's own error messages
    assert alice.page.is_visible("#login")
    alice.page.fill("#login-name", "nobody_here")
    alice.page.fill("#login-password", "wrong-password")
    alice.page.click("#btn-login")
    alice.page.wait_for_selector("#login-error:has-text('wrong name or password')", timeout=10000)
    alice.page.fill("#login-name", "x")
    alice.page.fill("#login-password", PASSWORD)
    alice.page.click("#btn-register")
    alice.page.wait_for_selector("#login-error:has-text('3-24 characters')", timeout=10000)
    assert alice.page.is_visible("#login")

    # --- register: the ship appears docked at its home station
    s = alice.register()
    assert s["docked"] is True, brief(s)
    assert s["ship"] > 0 and str(s["ship"]) in s["entities"]
    assert s["entities"][str(s["ship"])]["name"] == alice.name
    home = _home_station(alice)
    assert _dist(s["pos"], home) <= home["dock_radius"]
    system = s["system"]
    assert system["name"] and system["links"], "the home system has a name and jump links"
    alice.shows("#hud-system-name", system["name"])
    alice.shows("#hud-status", "docked")
    assert alice.page.is_hidden("#login")

    # --- undock with the key, then fly: hold W for a second
    alice.page.keyboard.press("f")
    # the `undocked` event can come an update before the one placing the ship in the lane
    s = alice.wait(
        "undocking", lambda s: not s["docked"] and _dist(s["pos"], home) > home["dock_radius"]
    )
    undocked_at = s["pos"]
    lane = _dist(undocked_at, home)
    assert home["dock_radius"] < lane < home["dock_radius"] + 400, "undocked: in the undock lane"
    alice.hold("w", 1.0)
    s = alice.wait("the ship to move", lambda s: _dist(s["pos"], undocked_at) > 10)
    assert s["speed"] > 5, brief(s)
    # the browser speaks protocol v2: updates after the first RESYNC are deltas, no acks
    assert s["protocol"] == 2 and s["deltas"] > 0, brief(s)
    alice.hold("s", 2.5)  # brake
    s = alice.wait("braking below docking speed", lambda s: s["speed"] < 30)
    alice.shows("#hud-status", "in flight")

    # --- a second player joins the same system (CALLISTER_HOME_SYSTEMS=1) and flies about
    bob = Player(browser, server, "Bob_" + str(os.getpid() % 10000))
    b = bob.register()
    assert b["system"]["name"] == system["name"]
    bob_id = str(b["ship"])
    bob.page.click("#btn-dock")  # the HUD button undocks too
    bob.wait("bob undocking", lambda s: not s["docked"])
    bob.page.keyboard.down("w")
    seen = alice.wait(
        "alice to see bob's ship with its name",
        lambda s: bob_id in s["entities"] and s["entities"][bob_id]["name"] == bob.name,
    )
    first = seen["entities"][bob_id]
    later = alice.wait(
        "bob's ship to move in alice's view",
        lambda s: bob_id in s["entities"] and _dist(s["entities"][bob_id], first) > 20,
    )
    assert later["visible"] >= 1
    alice.page.wait_for_selector("#hud-visible:not(:text-is('0'))", timeout=5000)

    # the README's picture: alice in flight by her station, bob banking away, his flame lit
    alice.page.keyboard.press("Equal")  # zoom in a step
    bob.hold("a", 0.2)
    alice.wait(
        "bob to be a little way off",
        lambda s: bob_id in s["entities"] and _dist(s["entities"][bob_id], s["pos"]) > 120,
    )
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    alice.page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 20_000
    bob.page.keyboard.up("w")

    # --- dock again: the autopilot brings her back inside the ring, stopped (sent as the
    # protocol message: the client has no control for it yet)
    s = alice.snap()
    alice.page.evaluate(
        "([ship, index]) => window.callister.net.send("
        "{t: 'autopilot', ship, to: {kind: 'station', index}})",
        [s["ship"], home["index"]],
    )
    s = alice.wait(
        "the autopilot to bring her home",
        lambda s: _dist(s["pos"], home) <= home["dock_radius"] and s["speed"] < 5,
        timeout=60,
    )
    alice.page.wait_for_selector("#hud-hint:has-text('press F to dock')", timeout=5000)
    alice.page.keyboard.press("f")
    s = alice.wait("docking", lambda s: s["docked"])
    alice.shows("#hud-status", "docked")

    # --- a dropped socket: the banner tells the player, the client reconnects to the same ship
    ship = s["ship"]
    reconnects = s["reconnects"]
    alice.page.evaluate("window.callister.net.ws.close()")
    s = alice.wait(
        "reconnecting",
        lambda s: s["reconnects"] > reconnects and s["status"] == "online" and s["pos"],
    )
    assert any("reconnecting" in b for b in s["banners"]), s["banners"]
    assert s["ship"] == ship and s["docked"]
    alice.page.wait_for_selector("#banner", state="hidden", timeout=5000)

    # --- reload: the stored token logs straight back in
    alice.page.reload()
    s = alice.wait("the game after a reload", lambda s: s["inGame"] and s["pos"] is not None)
    assert s["ship"] == ship and s["docked"]
    assert alice.page.is_hidden("#login")

    # --- the system map opens with N and closes with Escape
    alice.page.keyboard.press("n")
    assert alice.page.is_visible("#sysmap")
    alice.page.keyboard.press("Escape")
    assert alice.page.is_hidden("#sysmap")

    # --- jump: J opens the galaxy map and jump list; a Jump button jumps (undocking first)
    alice.page.keyboard.press("j")
    assert alice.page.is_visible("#galaxy")
    links = s["system"]["links"]
    deadline = time.monotonic() + 10
    while True:  # the list shows "…" until the charts have loaded the systems' names
        names = alice.page.locator("#jump-list li .nm b").all_text_contents()
        if len(names) == len(links) and all(n and n != "…" for n in names):
            break
        assert time.monotonic() < deadline, f"the jump list did not fill: {names}"
        time.sleep(0.1)
    charted = alice.page.evaluate("window.callister.galaxy.systems.size")
    assert charted > len(links), "the galaxy map holds the neighbourhood, not only the links"
    target = alice.page.locator("#jump-list li").first
    target_name = target.locator(".nm b").text_content()
    target.locator("button").click()
    alice.wait("the jump to charge", lambda s: s["jumping"], 5)
    assert alice.page.is_hidden("#galaxy")
    s = alice.wait(
        f"arriving in {target_name}",
        lambda s: s["system"] and s["system"]["name"] != system["name"] and s["pos"] is not None,
        15,
    )
    assert s["system"]["name"] == target_name
    assert [s["system"]["x"], s["system"]["y"]] in [list(map(str, link)) for link in links]
    assert not s["docked"] and not s["jumping"]
    assert bob_id not in s["entities"], "bob stayed behind in the other system"
    alice.shows("#hud-system-name", target_name)
    assert alice.snap()["status"] == "online"

    assert not alice.page_errors, alice.page_errors
    assert not bob.page_errors, bob.page_errors


def test_snapshot_decoder_matches_the_server(server: str, browser: Any) -> None:
    """js/snapshot.js decodes the bytes protocol/snapshot.py encodes: extremes included."""
    records = np.zeros(4, dtype=RECORD_DTYPE)
    records["id"] = [1, 2**53 - 1, 123_456_789_012, 2**32 + 5]
    records["x"] = [0, -(2**31), 2**31 - 1, -16 * 1234 - 3]
    records["y"] = [16, 2**31 - 1, -(2**31), 16 * 98765 + 7]
    records["vx"] = [-(2**15), 2**15 - 1, 0, -17]
    records["vy"] = [2**15 - 1, -(2**15), 1, 33]
    records["angle"] = [0, 65535, 16384, 40000]
    records["kind"] = [1, 1, 2, 1]
    records["flags"] = [0, 7, 2, 5]
    removed = np.array([7, 2**53 - 2], dtype=np.uint64)
    delta = encode_snapshot(2**32 - 1, 42, 41, records, removed)
    full = encode_snapshot(9, 43, 0, records[:1], np.empty(0, dtype=np.uint64))

    page = browser.new_page()
    try:
        page.goto(server + "/")
        got = page.evaluate(
            """async ([delta, full]) => {
                const m = await import("/static/js/snapshot.js");
                const buf = (bytes) => new Uint8Array(bytes).buffer;
                const d = m.decodeSnapshot(buf(delta));
                const f = m.decodeSnapshot(buf(full));
                const base = new Map([[7, {id: 7}], [5, {id: 5}], [1, {id: 1, x: 99}]]);
                const view = m.applySnapshot(base, d);
                let bad = null;
                try { m.decodeSnapshot(buf(delta.slice(0, delta.length - 1))); }
                catch (e) { bad = String(e.message); }
                return {d, f, viewIds: [...view.keys()].sort((a, b) => a - b),
                        x1: view.get(1).x, fullIds: [...m.applySnapshot(view, f).keys()], bad};
            }""",
            [list(delta), list(full)],
        )
    finally:
        page.close()

    want = decode_snapshot(delta)
    d = got["d"]
    assert (d["tick"], d["seq"], d["baseSeq"], d["full"]) == (2**32 - 1, 42, 41, False)
    assert d["removed"] == [7, 2**53 - 2]
    for rec, row in zip(d["changed"], want.changed, strict=True):
        assert rec["id"] == int(row["id"])
        assert rec["x"] == int(row["x"]) / 16 and rec["y"] == int(row["y"]) / 16
        assert rec["vx"] == int(row["vx"]) / 16 and rec["vy"] == int(row["vy"]) / 16
        assert rec["angle"] == pytest.approx(int(row["angle"]) / 65536 * 2 * math.pi)
        assert (rec["kind"], rec["flags"]) == (int(row["kind"]), int(row["flags"]))
    assert got["f"]["full"] is True and got["f"]["baseSeq"] == 0
    # the delta replaced id 1, dropped 7, kept 5, added the rest
    assert got["viewIds"] == sorted([1, 5, 2**53 - 1, 123_456_789_012, 2**32 + 5])
    assert got["x1"] == 0
    assert got["fullIds"] == [1], "a FULL snapshot replaces the view"
    assert got["bad"] and "bytes" in got["bad"]
