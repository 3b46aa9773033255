"""The browser client against a real server, in Debian's chromium (never a downloaded browser).

One story, as a player lives it: log-in errors shown from the server, register, docked at home,
undock, fly, a second player appears in the same system and moves, dock again, survive a dropped
socket and a page reload, open the maps, jump to a linked system. Along the way the test saves
docs/screenshot.png (the README shows it).

The page's Content-Security-Policy forbids eval, which Playwright's `wait_for_function` uses, so
waiting is done by polling `page.evaluate` (CDP evaluation is not subject to the page's CSP).
The client exposes `window.callister.snapshot()` for exactly this.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from callister.protocol.snapshot import RECORD_DTYPE, decode_snapshot, encode_snapshot

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot.png"
PASSWORD = "correct-horse-42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `callister serve` on a free port with a fresh SQLite file; yields its base URL."""
    tmp = tmp_path_factory.mktemp("web")
    port = _free_port()
    env = dict(os.environ)
    env.update(
        CALLISTER_ARGON2_TIME_COST="1",  # fast hashing for tests
        CALLISTER_ARGON2_MEMORY_KIB="8192",
        CALLISTER_HOME_SYSTEMS="1",  # every new player starts in the same system
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp / "server.log"
    cmd = [sys.executable, "-m", "callister", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--db", f"sqlite:///{tmp}/w.db"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            try:
                if _get_json(f"{base}/healthz").get("status") == "ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not healthy within 60 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        errors = [ln for ln in log_path.read_text(errors="replace").splitlines() if '"error"' in ln]
        if errors:
            print("server errors:\n" + "\n".join(errors[-10:]))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


# ------------------------------------------------------------------------------ helpers
class Player:
    """One browser context and page, with the client's debug hook at hand."""

    def __init__(self, browser: Any, base: str, name: str) -> None:
        self.name = name
        self.context = browser.new_context(viewport={"width": 1280, "height": 760})
        self.page = self.context.new_page()
        self.page_errors: list[str] = []
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        # a CSP violation is reported on the console: the client must cause none
        self.page.on(
            "console",
            lambda m: (
                self.page_errors.append(m.text)
                if m.type == "error" and "Content Security Policy" in m.text
                else None
            ),
        )
        self.page.goto(base + "/")

    def snap(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = self.page.evaluate("window.callister.snapshot()")
        return snapshot

    def wait(self, what: str, predicate: Any, timeout: float = 15.0) -> dict[str, Any]:
        """Poll the debug snapshot until predicate(snapshot) holds."""
        deadline = time.monotonic() + timeout
        s = self.snap()
        while not predicate(s):
            if time.monotonic() > deadline:
                shown = self.text("#login-error") if self.page.is_visible("#login") else ""
                pytest.fail(
                    f"{self.name}: timed out waiting for {what}; last state: {_brief(s)}"
                    + (f"; the login screen says: {shown!r}" if shown else "")
                )
            time.sleep(0.1)
            s = self.snap()
        return s

    def shows(self, selector: str, text: str, timeout: float = 5.0) -> None:
        """Wait until the element's text is exactly `text` (the HUD refreshes at 10 Hz)."""
        self.page.wait_for_selector(
            f"{selector}:text-is({json.dumps(text)})", timeout=timeout * 1000
        )

    def text(self, selector: str) -> str:
        return self.page.text_content(selector) or ""

    def hold(self, key: str, seconds: float) -> None:
        self.page.keyboard.down(key)
        time.sleep(seconds)
        self.page.keyboard.up(key)

    def register(self) -> dict[str, Any]:
        self.page.fill("#login-name", self.name)
        self.page.fill("#login-password", PASSWORD)
        self.page.click("#btn-register")
        return self.wait(
            "registration and the first snapshot",
            lambda s: s["inGame"] and s["status"] == "online" and s["pos"] and s["system"],
        )


def _brief(s: dict[str, Any]) -> str:
    keep = ("status", "ship", "pos", "speed", "docked", "jumping", "system", "visible", "lastError")
    return json.dumps({k: s.get(k) for k in keep})


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
    assert s["docked"] is True, _brief(s)
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
    assert s["speed"] > 5, _brief(s)
    # the browser speaks protocol v2: updates after the first RESYNC are deltas, no acks
    assert s["protocol"] == 2 and s["deltas"] > 0, _brief(s)
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
