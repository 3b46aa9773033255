"""A brand-new player's first minutes, played through the page at 1280 × 800, 1024 × 600 and
390 × 844 (a phone, touch), against a real `callister serve` subprocess (fresh SQLite, the
living universe on) in Debian's chromium.

Issue 16's quality bar: no JavaScript error at any point, nothing the player needs off screen.
At each size the walk registers, reads the first screen (the station), buys and sells, undocks,
flies (keys on the desktop, the virtual stick on the phone), looks for NPC ships, flies back
with "fly to" from the system map, docks, opens the galaxy map and every menu panel, and
resizes the window. After the three walks the server is stopped mid-session: the client must
say it is gone, stay responsive, and reconnect when it is back.

Any `pageerror` or console error fails the test; the only errors allowed are the browser's own
network errors while the server is down (a refused socket is reported on the console by
chromium, not by the client). Screenshots of each step land in the test's temporary directory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.harness import PASSWORD, ServeProcess

pytestmark = pytest.mark.browser

PlaywrightError = pytest.importorskip("playwright.sync_api").Error

SIZES = {"desktop": (1280, 800), "compact": (1024, 600), "phone": (390, 844)}

# The shown controls and panels under `scope` that stick out of the window (a list of names).
OFF_SCREEN = """
(scope) => {
  const W = innerWidth, H = innerHeight, out = [];
  const sel = scope + ' :is(button, input, select, [role=tab], .stick, .panel)';
  for (const n of document.querySelectorAll(sel)) {
    if (!n.isConnected || n.closest('[hidden]')) continue;
    const s = getComputedStyle(n);
    if (s.visibility === 'hidden' || s.display === 'none' || Number(s.opacity) === 0) continue;
    const r = n.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    // a control scrolled out of a scrolling list is reached by scrolling
    let a = n.parentElement, scrolled = false;
    for (; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowY;
      const scrolls = o === 'auto' || o === 'scroll';
      if (scrolls && a.scrollHeight > a.clientHeight + 1) { scrolled = true; break; }
    }
    if (scrolled) continue;
    if (r.left < -1 || r.top < -1 || r.right > W + 1 || r.bottom > H + 1) {
      const name = n.id || n.dataset.testid || n.textContent.trim().slice(0, 20) || n.tagName;
      const at = [r.left, r.top, r.right, r.bottom].map(Math.round).join(',');
      out.push(`${name} at ${at}`);
    }
  }
  return out;
}
"""

# The shown HUD controls and vital gauges whose middle another element covers (a list of
# names). The phone's drawer, when open, covers the view on purpose: call this with it shut and
# no overlay open.
COVERED = """
() => {
  const out = [];
  const sel = '#hud :is(button, input, select, .stick), #hud-ship .vbar';  // + hull, fuel…
  for (const n of document.querySelectorAll(sel)) {
    if (n.closest('[hidden]')) continue;
    const s = getComputedStyle(n);
    if (s.visibility === 'hidden' || s.display === 'none' || Number(s.opacity) === 0) continue;
    const r = n.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) continue;  // OFF_SCREEN's job
    const top = document.elementFromPoint(x, y);
    if (top && !n.contains(top) && !top.contains(n)) {
      const name = (e) => e.id || e.dataset.testid || e.className || e.tagName;
      const who = n.classList.contains('vbar') ? n.parentElement : n;  // the gauge's row
      out.push(`${name(who)} under ${name(top)}`);
    }
  }
  return out;
}
"""

# The chromium messages a refused connection produces (only allowed while the server is down).
NETWORK_DOWN = ("ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET", "ERR_EMPTY_RESPONSE")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    # healthy within 180 s: on a loaded CI machine the kernels compile at start
    s = ServeProcess(tmp_path_factory.mktemp("walk"), "walk.db", 180)
    s.start()
    try:
        yield s
    finally:
        s.stop()


class Walker:
    """One new player in one window, with every console error and page error kept."""

    def __init__(self, chromium: Any, server: ServeProcess, size: str, shots: Path) -> None:
        w, h = SIZES[size]
        self.size = size
        self.phone = size == "phone"
        self.shots = shots
        self.server_down = False
        self.errors: list[str] = []
        self.context = chromium.new_context(
            viewport={"width": w, "height": h}, has_touch=self.phone, is_mobile=self.phone
        )
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", self._console)
        self.page.goto(server.base + "/")

    def _console(self, m: Any) -> None:
        if m.type != "error":
            return
        text = m.text
        network = any(code in text for code in NETWORK_DOWN)
        if network and self.server_down:
            return
        self.errors.append(f"console.error: {text}")

    def snap(self) -> dict[str, Any]:
        s: dict[str, Any] = self.page.evaluate("window.callister.snapshot()")
        return s

    def wait(self, what: str, pred: Any, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = pred()
            if value:
                return value
            if time.monotonic() > deadline:
                self.shot(f"timeout-{what.replace(' ', '-')}")
                pytest.fail(f"{self.size}: timed out waiting for {what}; errors: {self.errors}")
            time.sleep(0.15)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{self.size}-{name}.png"))

    def on_screen(self, scope: str, step: str) -> None:
        """Nothing shown under `scope` sticks out of the window, and no error so far."""
        out = self.page.evaluate(OFF_SCREEN, scope)
        assert not out, f"{self.size}, {step}: off screen: {out}"
        assert not self.errors, f"{self.size}, {step}: {self.errors}"

    def reachable(self, step: str) -> None:
        """Every shown HUD control can be pressed: nothing covers its middle."""
        out = self.page.evaluate(COVERED)
        assert not out, f"{self.size}, {step}: covered: {out}"

    def tap(self, desktop: str, phone: str) -> None:
        """Press the control a player of this size would use (a tap on the phone)."""
        if self.phone:
            self.page.tap(phone)
        else:
            self.page.click(desktop)

    def close(self) -> None:
        self.context.close()


def walk(w: Walker) -> None:
    page = w.page
    page.wait_for_selector("#login-name", state="visible")
    w.on_screen("#login", "the login screen")
    page.fill("#login-name", f"walk{w.size}"[:16])
    page.fill("#login-password", PASSWORD)
    page.click("#btn-register")
    s = w.wait("the first snapshot", lambda: (s := w.snap())["inGame"] and s["pos"] and s)
    assert s["docked"], "a new pilot starts docked at home"

    # the first screen: the station, its market, its close button in reach
    page.wait_for_selector("#station-screen", state="visible")
    page.wait_for_selector("[data-testid='station-tab-market']", state="visible")
    w.shot("01-first-screen")
    w.on_screen("#station-screen", "the station screen")

    # trade: buy one unit of the first good and sell it back
    credits = w.wait("credits", lambda: w.snap()["credits"])
    buy = page.locator("#station-market button:text-is('Buy')").first
    buy.click()
    w.wait("the purchase", lambda: w.snap()["credits"] < credits)
    bought = w.snap()["credits"]
    sell = page.locator("#station-market button:text-is('Sell'):not([disabled])").first
    sell.click()
    w.wait("the sale", lambda: w.snap()["credits"] > bought)
    w.shot("02-traded")

    # undock (the station screen's own button), then fly away from the station
    page.click("#btn-station-undock")
    w.wait("undocked", lambda: not w.snap()["docked"])
    page.wait_for_selector("#station-screen", state="hidden")
    if w.phone:
        box = page.locator("#stick").bounding_box()
        assert box
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(cx, cy)
        page.mouse.down()
        page.mouse.move(cx, cy - box["height"] / 2, steps=4)
        w.wait("speed from the stick", lambda: w.snap()["speed"] > 40)
        page.mouse.up()
    else:
        page.keyboard.down("w")
        w.wait("speed from W", lambda: w.snap()["speed"] > 40)
        page.keyboard.up("w")
    w.shot("03-flying")
    w.on_screen("#hud", "in flight")
    w.reachable("in flight")

    # the living universe: NPC ships are about from the start
    w.wait("NPC ships in sensor range", lambda: w.snap()["visible"] > 0, timeout=60)

    # the system map: fly to the home station by autopilot
    w.tap("#btn-sysmap", "#btn-t-map")
    page.wait_for_selector("#sysmap", state="visible")
    page.wait_for_selector("[data-testid^='fly-station-']", state="visible")
    w.shot("04-system-map")
    w.on_screen("#sysmap", "the system map")

    # the list reorders when passing ships change places (it is sorted by distance): a press
    # that lands as the rows move is pressed again, as a player would
    def flying() -> bool:
        if page.locator("[data-testid='travel-status']:has-text('Autopilot →')").count():
            return True
        fly = page.locator("[data-testid^='fly-station-']").first
        try:
            fly.scroll_into_view_if_needed(timeout=5000)
            if w.phone:
                fly.tap(timeout=5000)
            else:
                fly.click(timeout=5000)
        except PlaywrightError:  # the row was rebuilt under the pointer: try again
            pass
        return False

    w.wait("the autopilot on", flying, timeout=60)
    if not page.is_hidden("#sysmap"):
        w.tap("#sysmap .close", "#sysmap .close")
    page.wait_for_selector("#sysmap", state="hidden")
    w.shot("05-autopilot")
    w.on_screen("#hud", "on autopilot")
    w.reachable("on autopilot")

    # resize: turn the window on its side and back, in flight; the HUD follows
    width, height = SIZES[w.size]
    page.set_viewport_size({"width": height, "height": width})
    w.wait("the new layout", lambda: w.page.evaluate("innerWidth") == height)
    time.sleep(0.3)  # one animation frame for the layout observer
    w.shot("08-turned")
    w.on_screen("#hud", "turned")
    w.reachable("turned")
    page.set_viewport_size({"width": width, "height": height})
    w.wait("the old layout", lambda: w.page.evaluate("innerWidth") == width)
    w.on_screen("#hud", "turned back")
    w.reachable("turned back")

    # dock as soon as the autopilot has brought us in range (the dock button says so)
    def docked() -> bool:
        if w.snap()["docked"]:
            return True
        hint = page.text_content("#hud-hint") or ""
        if "docking range" in hint:
            w.tap("#btn-dock", "#btn-t-dock")
        return False

    w.wait("docked again", docked, timeout=120)
    page.wait_for_selector("#station-screen", state="visible")
    w.on_screen("#station-screen", "docked again")
    page.keyboard.press("Escape")
    page.wait_for_selector("#station-screen", state="hidden")

    # the galaxy map
    w.tap("#btn-jump", "#btn-t-jump")
    page.wait_for_selector("#galaxy", state="visible")
    w.shot("06-galaxy")
    w.on_screen("#galaxy", "the galaxy map")
    page.keyboard.press("Escape")
    page.wait_for_selector("#galaxy", state="hidden")

    # every menu panel (the phone keeps them in the drawer behind ☰)
    if w.phone:
        page.tap("#btn-menu")
        w.wait("the drawer", lambda: w.page.evaluate("window.callister.layout().drawer"))
    for chip, panel in (("crew", "#crew"), ("aboard", "#aboard"), ("party", "#party")):
        # a chip toggles its panel (the crew shows by itself when docked): open it, shut it
        for want, state in (("true", "visible"), ("false", "hidden")):
            if page.get_attribute(f"#chip-{chip}", "aria-expanded") != want:
                w.tap(f"#chip-{chip}", f"#chip-{chip}")
            page.wait_for_selector(panel, state=state)
            if want == "true":
                w.shot(f"07-panel-{chip}")
                w.on_screen("#hud", f"the {chip} panel")
    if w.phone:
        page.keyboard.press("Escape")  # shuts the drawer
        w.wait("the drawer shut", lambda: not w.page.evaluate("window.callister.layout().drawer"))
        w.on_screen("#hud", "the drawer shut")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_new_player_walks_through(
    size: str,
    server: ServeProcess,
    browser: Any,
    tmp_path: Path,
) -> None:
    w = Walker(browser, server, size, tmp_path)
    try:
        walk(w)
        assert not w.errors, w.errors
    finally:
        w.close()


def test_the_server_goes_away_and_comes_back(
    server: ServeProcess,
    browser: Any,
    tmp_path: Path,
) -> None:
    w = Walker(browser, server, "desktop", tmp_path)
    try:
        page = w.page
        page.fill("#login-name", "walkrestart")
        page.fill("#login-password", PASSWORD)
        page.click("#btn-register")
        w.wait("the first snapshot", lambda: (s := w.snap())["inGame"] and s["status"] == "online")
        page.click("#btn-station-undock")
        w.wait("undocked", lambda: not w.snap()["docked"])

        w.server_down = True
        server.stop()
        page.wait_for_selector("#banner", state="visible", timeout=20000)
        assert "Connection lost" in (page.text_content("#banner") or "")
        assert w.snap()["status"] != "online"
        # the page does not freeze: the maps still open and close
        page.keyboard.press("n")
        page.wait_for_selector("#sysmap", state="visible")
        page.keyboard.press("Escape")
        page.wait_for_selector("#sysmap", state="hidden")
        w.shot("server-gone")
        w.on_screen("#hud", "the server gone")

        server.start()
        w.wait("reconnected", lambda: w.snap()["status"] == "online", timeout=120)
        w.server_down = False
        page.wait_for_selector("#banner", state="hidden", timeout=20000)
        w.wait("the ship again", lambda: (s := w.snap())["pos"] and s["inGame"])
        w.shot("reconnected")
        page.keyboard.down("w")
        w.wait("flying after the restart", lambda: w.snap()["speed"] > 20)
        page.keyboard.up("w")
        assert not w.errors, w.errors
    finally:
        w.close()
