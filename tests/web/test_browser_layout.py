"""The HUD at 1280 × 800, 1024 × 600 and 390 × 844 (a phone, touch), in Debian's chromium.

Issue 16: on a phone the panels overlapped the ship, the flight pad and the station's ✕ were
off screen and the galaxy map was 130 px wide; 1024 × 600 was cramped; the Aboard and Crew
panels covered the view when flying alone. At each size this test plays the first minutes
through the page (register, the station screen, undock, fly, lock a ship, open the maps) and
checks what a player would see:

- every control on screen lies inside the window and is reachable (nothing covers its middle),
  and no two controls overlap;
- the middle of the view, where our ship is drawn, is free of panels;
- the edge markers (stations, the star, the target, jump links) and their labels are inside
  the window and off the controls;
- the optional panels (crew, shared ship) are out of the way when flying alone;
- the station screen and the maps fit the window with their close button in reach.

It saves docs/screenshot-desktop.png, docs/screenshot-1024.png and docs/screenshot-phone.png
(the README shows them). The server runs in this process (tests/web/test_browser_combat.py):
set-up puts a second ship (a real WebSocket client) near the player and, on the desktop, the
player by an asteroid; everything the player does goes through the page.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.harness import (
    ROOT,
    Player,
    ThreadedServer,
    game_fixture,
    home_system,
    lawless_spot,
    place,
    undocked_bot,
)

from callister.bots.client import Bot

pytestmark = pytest.mark.browser

SHOTS = {
    "desktop": ROOT / "docs" / "screenshot-desktop.png",
    "1024": ROOT / "docs" / "screenshot-1024.png",
    "phone": ROOT / "docs" / "screenshot-phone.png",
}

# What is wrong with the layout now, as a list of sentences (empty: nothing). Runs in the page.
LAYOUT_PROBLEMS = """
(scope) => {
  const W = innerWidth, H = innerHeight, out = [];
  const shown = (n) => {
    if (!n.isConnected || n.closest('[hidden]')) return false;
    const s = getComputedStyle(n);
    if (s.visibility === 'hidden' || s.display === 'none' || Number(s.opacity) === 0) return false;
    const r = n.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const name = (n) =>
    '#' + (n.id || n.dataset.testid || n.textContent.trim().slice(0, 20) || n.tagName);
  const sel = scope + ' :is(button, input, select, [role=tab], .stick)';
  const controls = [...document.querySelectorAll(sel)].filter(shown);
  // a control scrolled out of a scrolling list is reached by scrolling: the list must be on
  // screen, the control need not be
  const scroller = (n) => {
    for (let a = n.parentElement; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowY;
      if ((o === 'auto' || o === 'scroll') && a.scrollHeight > a.clientHeight + 1) return a;
    }
    return null;
  };
  const clipped = (n, r) => {
    const a = scroller(n);
    if (!a) return false;
    const c = a.getBoundingClientRect();
    return r.top < c.top - 0.5 || r.bottom > c.bottom + 0.5;
  };
  const boxes = controls.map((n) => [n, n.getBoundingClientRect()])
    .filter(([n, r]) => !clipped(n, r));
  for (const [n, r] of boxes) {
    if (r.left < -0.5 || r.top < -0.5 || r.right > W + 0.5 || r.bottom > H + 0.5) {
      out.push(`${name(n)} is off screen: ${Math.round(r.left)},${Math.round(r.top)} ` +
               `${Math.round(r.width)}x${Math.round(r.height)} in ${W}x${H}`);
      continue;
    }
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!hit || !(n === hit || n.contains(hit) || hit.closest('label') === n.closest('label'))) {
      out.push(`${name(n)} is covered by ${hit ? name(hit) : 'nothing'}`);
    }
  }
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      if (a.contains(b) || b.contains(a)) continue;
      const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (w > 1 && h > 1) out.push(`${name(a)} overlaps ${name(b)}`);
    }
  }
  return { problems: out, controls: controls.length };
}
"""

# Whether the ship's place (the middle of the view) is clear, and the markers sit well.
VIEW_PROBLEMS = """
() => {
  const W = innerWidth, H = innerHeight, out = [];
  const view = document.getElementById('view');
  for (const [dx, dy] of [[0, 0], [-28, 0], [28, 0], [0, -28], [0, 28]]) {
    const hit = document.elementFromPoint(W / 2 + dx, H / 2 + dy);
    const what = hit && (hit.id || hit.className);
    if (hit !== view) out.push(`the ship's place (${dx},${dy}) is covered by #${what}`);
  }
  const controls = [...document.querySelectorAll('#hud :is(button, input, select, .stick)')]
    .filter((n) => !n.closest('[hidden]') && n.getBoundingClientRect().width > 0 &&
                   getComputedStyle(n).display !== 'none')
    .map((n) => n.getBoundingClientRect());
  const panels = [...document.querySelectorAll('#hud .panel')]
    .filter((n) => !n.closest('[hidden]') && getComputedStyle(n).display !== 'none')
    .map((n) => n.getBoundingClientRect()).filter((r) => r.width > 0 && r.height > 0);
  for (const m of window.callister.markers()) {
    if (m.x < 0 || m.y < 0 || m.x > W || m.y > H) {
      out.push(`marker ${m.kind} off screen at ${m.x},${m.y}`);
    }
    if (controls.some((r) => m.x > r.left && m.x < r.right && m.y > r.top && m.y < r.bottom)) {
      out.push(`marker ${m.kind} ${m.name} under a control at ${m.x},${m.y}`);
    }
    const l = m.label;
    if (!l) continue;
    if (l.x0 < 0 || l.y0 < 0 || l.x1 > W || l.y1 > H) out.push(`label ${m.name} off screen`);
    const over = (r) => l.x0 < r.right && l.x1 > r.left && l.y0 < r.bottom && l.y1 > r.top;
    if ([...controls, ...panels].some(over)) {
      out.push(`label ${m.name} under a control or a panel`);
    }
  }
  return out;
}
"""


game = game_fixture("layout")


@pytest.fixture(scope="module")
def other(game: ThreadedServer) -> Iterator[Bot]:
    """A second pilot (a real WebSocket client), undocked and reading its socket."""
    bot = undocked_bot(game, "Wren_" + str(os.getpid() % 10000))
    pump = game.keep_reading(bot, 600)
    try:
        yield bot
    finally:
        pump.cancel()


def problems(p: Player, scope: str) -> list[str]:
    found: dict[str, Any] = p.page.evaluate(LAYOUT_PROBLEMS, scope)
    assert found["controls"] > 0, f"no controls shown in {scope}"
    return list(found["problems"])


def settle(p: Player, check: Any, what: str, timeout: float = 6.0) -> None:
    """The HUD redraws at 10 Hz and markers every frame: wait until `check()` finds nothing."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if not found:
            return
        if time.monotonic() > deadline:
            shot = (
                Path(tempfile.gettempdir())
                / f"layout-failure-{p.name}-{what.replace(' ', '-')}.png"
            )
            p.page.screenshot(path=str(shot))
            pytest.fail(f"{p.name}: {what}: " + "; ".join(found[:12]) + f" (screenshot: {shot})")
        time.sleep(0.2)


def press(p: Player, touch: bool, testid: str, key: str) -> None:
    """A player's action: a tap on the touch button, or its key."""
    if touch:
        p.page.tap(f"[data-testid='{testid}']")
    else:
        p.page.keyboard.press(key)


@pytest.mark.parametrize(
    ("label", "width", "height", "touch"),
    [
        ("desktop", 1280, 800, False),
        ("1024", 1024, 600, False),
        ("1024-touch", 1024, 600, True),
        ("phone", 390, 844, True),
        ("side667", 667, 375, True),  # phones on their side, the smallest and the largest
        ("side932", 932, 430, True),
    ],
)
def test_layout_at(
    game: ThreadedServer,
    other: Bot,
    browser: Any,
    label: str,
    width: int,
    height: int,
    touch: bool,
) -> None:
    name = f"L{label.replace('-', '')[:6]}_{os.getpid() % 10000}"
    phone = label.startswith(("phone", "side"))
    p = Player(browser, game.live.http, name, width, height, touch=touch, phone=phone)
    settle(p, lambda: problems(p, "#login"), "the login screen")
    s = p.register()
    assert s["docked"]
    mode = p.page.evaluate("window.callister.layout()")
    assert mode["touch"] == touch
    assert mode["mode"] == ("phone" if phone else {"desktop": "desktop"}.get(label, "compact"))

    # --- docked: the station screen fits, its ✕ is in reach
    p.page.wait_for_selector("#station-screen", state="visible", timeout=10000)
    settle(p, lambda: problems(p, "#station-screen"), "the station screen")
    box = p.page.locator("#station-screen").bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
    if phone:
        assert box["width"] == width and box["height"] == height, "full screen on a phone"
    # crew candidates at the home station: the crew panel has something to show
    p.wait_eval("the crew panel open for the candidates", "window.callister.panels().crew")
    p.close_station(tap=touch)

    # --- undock and fly a little, as a player does
    press(p, touch, "t-dock", "f")
    p.wait("undocking", lambda s: not s["docked"])
    if not touch:
        p.hold("w", 0.4)  # (the stick is tested in test_browser_touch.py)
    # flying alone with no crew aboard: neither optional panel covers the view
    p.wait_eval(
        "the optional panels shut",
        "window.callister.panels()",
        lambda panels: not any(panels.values()),
    )
    assert not p.page.is_visible("#crew") and not p.page.is_visible("#aboard")

    # set-up: the other pilot's ship comes by; the player locks it (T, or the Target button)
    own = p.snap()["pos"]
    place(game, other.name, own["x"] + 160.0, own["y"] + 90.0)
    p.wait("the other ship in view", lambda s: str(other.ship) in s["entities"])
    p.lock(other.ship, press=lambda: press(p, touch, "t-target", "t"), every=0.4)
    p.page.wait_for_selector("#hud-target", state="visible")

    if label == "desktop":
        # set-up: by an asteroid of the home system; M starts the mining laser
        rock = home_system(game, name)["fields"][0]["rocks"][0]
        place(game, name, rock["x"] + rock["r"] + 110.0, rock["y"])
        place(game, other.name, rock["x"] + rock["r"] + 230.0, rock["y"] + 110.0)
        p.wait_near("the move", rock["x"], rock["y"], rock["r"] + 120)
        p.page.keyboard.press("m")
        p.wait_status("the mining laser on", lambda st: st.get("mining") is not None)
        for _ in range(2):  # zoom in: the beam and the ships up close
            p.page.keyboard.press("Equal")
        p.wait_eval("the mining beam drawn", "window.callister.renderer.miningDrawn")

    settle(p, lambda: problems(p, "#hud"), "the HUD in flight")
    settle(p, lambda: p.page.evaluate(VIEW_PROBLEMS), "the view in flight")
    settle(p, lambda: marker_problems(p, must=False), "the objective's marker in flight")
    # (the other sizes' screenshots are for a look, not the README)
    shot = SHOTS.get(label, Path("/tmp/phone-side") / f"layout-{label}-{width}x{height}.png")
    if shot is not None:
        shot.parent.mkdir(parents=True, exist_ok=True)
        p.page.screenshot(path=str(shot))
        assert shot.stat().st_size > 20_000
    if label == "desktop":
        p.page.keyboard.press("m")  # stop mining

    # --- the maps fit the window, their ✕ in reach
    for button, key, overlay, min_w in (
        ("t-jump", "j", "#galaxy", 0.5),
        ("t-map", "n", "#sysmap", 0.5),
    ):
        press(p, touch, button, key)
        p.page.wait_for_selector(overlay, state="visible")
        canvas = p.page.locator(f"{overlay} canvas").bounding_box()
        assert canvas, overlay
        assert canvas["width"] >= (0.95 if phone else min_w) * width, (overlay, canvas)
        assert canvas["height"] >= 0.4 * height, (overlay, canvas)
        assert canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= width + 0.5
        assert canvas["y"] >= 0 and canvas["y"] + canvas["height"] <= height + 0.5
        settle(p, lambda ov=overlay: problems(p, ov), f"the map {overlay}")
        if touch:
            p.page.tap(f"{overlay} .close")
        else:
            p.page.click(f"{overlay} .close")
        p.page.wait_for_selector(overlay, state="hidden")

    if phone:
        # the drawer: pilot, sound, crew and shared ship, then shut again
        p.page.tap("#btn-menu")
        p.page.wait_for_selector("[data-testid='mute']", state="visible")
        settle(p, lambda: problems(p, "#hud-right"), "the drawer")
        p.page.tap("#btn-menu")
        p.page.wait_for_selector("[data-testid='mute']", state="hidden")
    assert not p.page_errors, p.page_errors
    p.close()


# The panels over the top of the view, as boxes: the target panel, the mission objective, the
# travel strip (cruise), the warnings, each toast and each line of the event log on screen.
# Runs in the page.
TOP_PANELS = """
() => {
  const out = [];
  const add = (what, n) => {
    if (!n || !n.isConnected || n.closest('[hidden]')) return;
    const s = getComputedStyle(n);
    if (s.display === 'none' || s.visibility === 'hidden' || Number(s.opacity) === 0) return;
    const r = n.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) {
      out.push({ what, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom });
    }
  };
  add('target', document.getElementById('hud-target'));
  add('objective', document.getElementById('objective'));
  add('travel', document.getElementById('hud-travel'));
  document.querySelectorAll('#hud-warnings .warn-pill').forEach((n, i) => add('warning ' + i, n));
  document.querySelectorAll('#hud-toasts li').forEach((n, i) => add('toast ' + i, n));
  document.querySelectorAll('#hud-log li').forEach((n, i) => add('log ' + i, n));
  add('weapons', document.getElementById('hud-combat'));
  add('hint', document.getElementById('hud-hint'));
  return out;
}
"""

# What the panels over the view must keep off, as boxes: the touch buttons and the stick, and
# a phone's top bar (the system and the vitals). Runs in the page.
FIXED_BOXES = """
() => {
  const out = [];
  const shown = (n) => n.isConnected && !n.closest('[hidden]') &&
    getComputedStyle(n).display !== 'none' && getComputedStyle(n).visibility !== 'hidden';
  const nodes = [...document.querySelectorAll('#touch :is(.tb, .stick)')];
  if (document.getElementById('hud').classList.contains('phone')) {
    nodes.push(document.getElementById('hud-system'), document.getElementById('hud-ship'));
  }
  for (const n of nodes.filter(shown)) {
    const r = n.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) {
      out.push({ what: '#' + n.id, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom });
    }
  }
  return out;
}
"""

# Every piece of the HUD a player reads or touches that lies (partly) outside the window.
# Runs in the page.
HUD_OUTSIDE = """
() => {
  const W = innerWidth, H = innerHeight, out = [];
  const sel = '#hud :is(.panel, button, .gauge, .gauge > *, li, .warn-pill, .stick, #hud-hint, ' +
    '#obj-marker)';
  for (const n of document.querySelectorAll(sel)) {
    if (!n.isConnected || n.closest('[hidden]')) continue;
    const s = getComputedStyle(n);
    if (s.display === 'none' || s.visibility === 'hidden' || Number(s.opacity) === 0) continue;
    const r = n.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if (r.left < -0.5 || r.top < -0.5 || r.right > W + 0.5 || r.bottom > H + 0.5) {
      const name = n.id || n.className || n.tagName;
      out.push(`${name} sticks out: ${Math.round(r.left)},${Math.round(r.top)} ` +
               `${Math.round(r.width)}x${Math.round(r.height)} in ${W}x${H}`);
    }
  }
  return out;
}
"""

# The objective's marker (pinned to the edge of the view when the objective is off screen)
# and what it must not sit on: the speed readout (its label and value), the other gauges, the
# panels (a phone's top bar, the objective, the target...) and the touch buttons. Runs in the
# page.
MARKER_BOXES = """
() => {
  const box = (n) => {
    if (!n || n.closest('[hidden]') || getComputedStyle(n).display === 'none') return null;
    const r = n.getBoundingClientRect();
    if (!r.width || !r.height) return null;
    return { x0: r.left, y0: r.top, x1: r.right, y1: r.bottom };
  };
  const marker = box(document.getElementById('obj-marker'));
  const parts = [];
  document.querySelectorAll('#hud-flight .gauge > *').forEach((n) => {
    const b = box(n);
    const what = 'gauge ' + (n.className || n.id) + ' ' + n.textContent.trim();
    if (b) parts.push({ what, ...b });
  });
  // nor hidden under a panel or a touch button
  document.querySelectorAll('#hud :is(.panel, .tb, .stick)').forEach((n) => {
    const b = box(n);
    if (b) parts.push({ what: '#' + (n.id || n.className), ...b });
  });
  const edge = !!marker && document.getElementById('obj-marker').classList.contains('edge');
  return { marker, edge, parts };
}
"""


def top_panel_problems(p: Player, must: tuple[str, ...]) -> list[str]:
    """What is wrong with the panels over the top of the view: one missing, off screen, or
    two of them overlapping."""
    boxes: list[dict[str, Any]] = p.page.evaluate(TOP_PANELS)
    width, height = p.page.viewport_size["width"], p.page.viewport_size["height"]  # type: ignore[index]
    out = [f"no {what} shown" for what in must if not any(b["what"] == what for b in boxes)]
    for b in boxes:
        if b["x0"] < -0.5 or b["y0"] < -0.5 or b["x1"] > width + 0.5 or b["y1"] > height + 0.5:
            out.append(f"{b['what']} is off screen")
    # each against the panels after it, then against the touch buttons and the top bar
    fixed: list[dict[str, Any]] = p.page.evaluate(FIXED_BOXES)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :] + fixed:
            w = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
            h = min(a["y1"], b["y1"]) - max(a["y0"], b["y0"])
            if w > 1 and h > 1:
                out.append(f"{a['what']} overlaps {b['what']} ({round(w)}x{round(h)} px)")
    return out


def marker_problems(p: Player, *, must: bool = True) -> list[str]:
    """What the objective's marker, pinned to the edge, covers of the speed readout, the panels
    and the touch buttons; `must`: that it is shown pinned (the caller set that up)."""
    found: dict[str, Any] = p.page.evaluate(MARKER_BOXES)
    m = found["marker"]
    if m is None or not found["edge"]:
        return ["the objective's marker is not pinned to the edge"] if must else []
    out = []
    for b in found["parts"]:
        w = min(m["x1"], b["x1"]) - max(m["x0"], b["x0"])
        h = min(m["y1"], b["y1"]) - max(m["y0"], b["y0"])
        if w > 0 and h > 0:
            out.append(f"the objective's marker overlaps {b['what']} ({round(w)}x{round(h)} px)")
    return out


# Windows the top panels are checked in: a phone both ways, common landscape phones (short and
# wide, each its own pilot far out in the system), a desktop.
TOP_SIZES = [
    ("phone", 390, 844, True),
    ("side", 844, 390, True),  # the phone on its side
    ("side667", 667, 375, True),
    ("side740", 740, 360, True),
    ("side780", 780, 360, True),
    ("side915", 915, 412, True),
    ("side932", 932, 430, True),
    ("desktop", 1280, 800, False),
]


@pytest.mark.parametrize(("label", "width", "height", "touch"), TOP_SIZES)
def test_top_panels_keep_apart(
    game: ThreadedServer,
    other: Bot,
    browser: Any,
    label: str,
    width: int,
    height: int,
    touch: bool,
) -> None:
    """The known weak spot of the phone: with a target locked, the tutorial's objective up and
    cruise on, the objective and the travel strip covered the target's name, and a toast or a
    tutorial line in the log sat over the rest. Played through the page: none of the target,
    the objective, the travel strip, a toast, a warning, a log line, the weapons or the hint
    may overlap another, the touch buttons or a phone's top bar; nothing of the HUD may stick
    out of the window; the objective's marker, pinned to the top edge, may not sit on the
    speed readout (on a phone on its side it touched the SPEED label)."""
    name = f"K{label}_{os.getpid() % 10000}"
    p = Player(browser, game.live.http, name, width, height, touch=touch, phone=touch)
    p.register()
    p.close_station(tap=touch)
    press(p, touch, "t-dock", "f")
    p.wait("undocking", lambda s: not s["docked"])
    p.page.wait_for_selector("#objective", state="visible")  # the tutorial: fly to the marker
    index = [size[0] for size in TOP_SIZES].index(label)

    # set-up: the player due south of the tutorial's marker, far enough for it to be pinned to
    # the top edge of the view, right under the top bar's speed readout
    goal = p.wait_eval(
        "the tutorial's marker", "window.callister.missions().objective?.marker ?? null"
    )
    x, y = goal["x"] + 300.0 * (index - 3), goal["y"] - 6000.0
    place(game, name, x, y)
    p.wait_near("the move south of the marker", x, y, 100.0)
    p.wait_eval("the marker shown", "window.callister.missions().markerShown")
    shot_dir = Path("/tmp/phone-side")
    shot_dir.mkdir(parents=True, exist_ok=True)
    try:
        settle(p, lambda: marker_problems(p), "the objective's marker")
        settle(p, lambda: p.page.evaluate(HUD_OUTSIDE), "the HUD inside the window")
    finally:
        p.page.screenshot(path=str(shot_dir / f"marker-{label}-{width}x{height}.png"))

    # set-up: the player far out in the system (cruise needs 1 km from a station, and drops
    # near other ships: the module's earlier pilots linger by the station), the other pilot's
    # ship by it; the player locks that ship
    x, y = lawless_spot(home_system(game, name))
    x += 2500.0 * index  # each size's pilot alone there
    place(game, name, x, y)
    p.wait_near("the move out", x, y, 100.0)
    place(game, other.name, x + 160.0, y + 90.0)
    p.wait("the other ship in view", lambda s: str(other.ship) in s["entities"])
    p.lock(other.ship, press=lambda: press(p, touch, "t-target", "t"), every=0.4)
    p.page.wait_for_selector("#hud-target", state="visible")

    # cruise on (the travel strip's button), then a refusal's toast: Mine with no rock in reach
    def cruise() -> None:
        if touch:
            p.page.tap("[data-testid='cruise']")
        else:
            p.page.click("[data-testid='cruise']")

    # (again if a tap went astray on a loaded machine; slowly: a second tap turns it off)
    p.press_until(
        "turn cruise on",
        cruise,
        lambda: p.status().get("cruise"),
        lambda c: c in ("spooling", "on"),
        timeout=30.0,
        every=2.5,
    )
    if touch:
        p.page.tap("#btn-mine")
    else:
        p.page.click("#btn-mine")
    p.wait_eval("a toast", "window.callister.toasts()")
    must = ("target", "objective", "travel", "toast 0")
    try:
        settle(p, lambda: top_panel_problems(p, must), "the panels over the view")
        # and, as everywhere, the controls apart and in reach, the ship's place clear
        settle(p, lambda: problems(p, "#hud"), "the HUD in cruise")
        settle(p, lambda: p.page.evaluate(VIEW_PROBLEMS), "the view in cruise")
        settle(p, lambda: p.page.evaluate(HUD_OUTSIDE), "the HUD inside the window in cruise")
    finally:
        p.page.screenshot(path=str(shot_dir / f"top-panels-{label}-{width}x{height}.png"))
    assert not p.page_errors, p.page_errors
    p.close()


# Each toast and log line that lies over a station's name in the view: its text and opacity.
OVER_LABELS = """
() => {
  const labels = window.callister.stationLabels();
  const out = [];
  for (const li of document.querySelectorAll('#hud-toasts li, #hud-log li')) {
    const r = li.getBoundingClientRect();
    if (!r.width || getComputedStyle(li).display === 'none') continue;
    if (labels.some((l) => l.x0 < r.right && l.x1 > r.left && l.y0 < r.bottom && l.y1 > r.top)) {
      out.push({ text: li.textContent, opacity: Number(getComputedStyle(li).opacity) });
    }
  }
  return out;
}
"""


def test_toasts_let_a_station_name_through(game: ThreadedServer, other: Bot, browser: Any) -> None:
    """On a phone a tutorial line or a toast sat on the name of the station the player was
    heading to. Set-up moves the player so that the station's name lies under a toast: the
    toast goes see-through there (a tap would dismiss it)."""
    p = Player(
        browser, game.live.http, f"Kname_{os.getpid() % 10000}", 390, 844, touch=True, phone=True
    )
    p.register()
    p.close_station(tap=True)
    press(p, True, "t-dock", "f")
    p.wait("undocking", lambda s: not s["docked"])
    p.page.tap("#btn-mine")  # no rock in reach: a toast
    toast = p.wait_eval(
        "a toast",
        "(() => { const li = document.querySelector('#hud-toasts li');"
        " if (!li) return null; const r = li.getBoundingClientRect();"
        " return { x: (r.left + r.right) / 2, y: (r.top + r.bottom) / 2 }; })()",
    )
    label = p.wait_eval("the station's name in view", "window.callister.stationLabels()")[0]
    snap = p.snap()
    own, zoom = snap["pos"], snap["zoom"]
    # set-up: move the ship so that the name comes under the toast (screen y grows downwards)
    dx = toast["x"] - (label["x0"] + label["x1"]) / 2
    dy = toast["y"] - (label["y0"] + label["y1"]) / 2
    x, y = own["x"] - dx / zoom, own["y"] + dy / zoom
    place(game, p.name, x, y)
    p.wait_near("the move", x, y, 30.0)
    p.page.tap("#btn-mine")  # the toast again (it lasts a few seconds)
    over = p.wait_eval("a toast over the station's name", OVER_LABELS)
    p.wait_eval(
        "the toast see-through there",
        OVER_LABELS,
        lambda found: found and all(o["opacity"] < 0.5 for o in found),
        timeout=5.0,
    )
    p.page.screenshot(path=str(Path(tempfile.gettempdir()) / "toast-over-station-name.png"))
    assert over
    assert not p.page_errors, p.page_errors
    p.close()
