"""The HUD's feel, in Debian's chromium, against a real server: toasts that expire and
collapse, sound (Web Audio, started by the first gesture, mute and volume kept between visits),
ship silhouettes as data, and the admin console that polled a 404 every second (issue 16).

The server runs in this process (tests/web/test_browser_combat.py). Everything is done
through the page, as a player (or an administrator) does it.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from tests.web.harness import AdminConsole, Player, ThreadedServer, game_fixture

from callister.content import load_content

pytestmark = pytest.mark.browser

game = game_fixture("hud")


def test_toasts_collapse_and_expire(game: ThreadedServer, browser: Any) -> None:
    p = Player(browser, game.live.http, "Toast_" + str(os.getpid() % 10000))
    p.register()
    toasts = "window.callister.toasts()"
    # docked, M (mine) is refused by the client with a reason; said three times, it is one
    # toast with a count, not three stacked copies
    for _ in range(3):
        p.page.keyboard.press("m")
        time.sleep(1.6)  # the same notice is repeated at most every 1.5 s
    shown = p.page.evaluate(toasts)
    assert len(shown) == 1 and shown[0]["count"] == 3, shown
    assert "Undock" in shown[0]["text"]
    assert p.page.locator("#hud-toasts li").count() == 1
    assert p.page.locator("#hud-toasts li .count").text_content() == "×3"
    # another notice stacks under it
    p.page.keyboard.press("l")  # loot with no wreck targeted
    p.wait_eval("two toasts", toasts, lambda t: len(t) == 2)
    # with nothing new to say, they expire on their own
    p.wait_eval("the toasts to expire", toasts, lambda t: not t)
    assert p.page.locator("#hud-toasts li").count() == 0
    assert not p.page_errors, p.page_errors
    p.close()


def test_sound_starts_on_a_gesture_and_remembers_mute_and_volume(
    game: ThreadedServer,
    browser: Any,
) -> None:
    p = Player(browser, game.live.http, "Sound_" + str(os.getpid() % 10000))
    audio = lambda: p.page.evaluate("window.callister.audio()")  # noqa: E731

    def wait_audio(what: str, pred: Any) -> Any:
        return p.until(what, audio, pred, timeout=15)

    assert audio()["state"] == "none", "no audio before the player does anything (autoplay)"
    s = p.register()  # typing and clicking: gestures
    assert s["inGame"]
    a = wait_audio("the audio context running", lambda a: a["state"] == "running")
    assert a["engine"] and not a["muted"]
    # undocking clunks; a button clicks
    p.undock()
    wait_audio("the undocking sound", lambda a: a["counts"].get("undock", 0) >= 1)
    p.page.click("#btn-sysmap")
    wait_audio("a click", lambda a: a["counts"].get("click", 0) >= 1)
    p.page.keyboard.press("Escape")
    # the engine follows thrust
    p.page.keyboard.down("w")
    try:
        wait_audio("the engine's hum", lambda a: a["engineGain"] > 0.1)
    finally:
        p.page.keyboard.up("w")
    # a quieter volume with the slider, then mute with the button; both survive a reload
    p.page.fill("[data-testid='volume']", "30")
    wait_audio("the volume", lambda a: abs(a["volume"] - 0.3) < 1e-9)
    p.page.click("[data-testid='mute']")
    wait_audio("muted", lambda a: a["muted"] and a["level"] == 0)
    played = sum(audio()["counts"].values())
    p.page.click("#btn-sysmap")  # muted: no sound is started
    p.page.keyboard.press("Escape")
    assert sum(audio()["counts"].values()) == played
    p.page.reload()
    p.wait("the game after a reload", lambda s: s["inGame"] and s["pos"] is not None)
    a = audio()
    assert a["muted"] and abs(a["volume"] - 0.3) < 1e-9, a
    assert p.page.get_attribute("[data-testid='mute']", "aria-pressed") == "true"
    assert p.page.input_value("[data-testid='volume']") == "30"
    p.page.click("[data-testid='mute']")  # a gesture: the context starts, unmuted
    a = wait_audio("unmuted", lambda a: not a["muted"] and a["state"] == "running")
    assert abs(a["level"] - 0.09) < 1e-9, a  # the slider is squared: 0.3 -> 0.09
    wait_audio("the volume to glide there", lambda a: abs(a["gain"] - 0.09) < 0.01)
    # moving the slider while muted unmutes (as a player expects)
    p.page.click("[data-testid='mute']")
    wait_audio("muted again", lambda a: a["muted"])
    p.page.fill("[data-testid='volume']", "50")
    wait_audio("unmuted by the slider", lambda a: not a["muted"] and a["volume"] == 0.5)
    assert not p.page_errors, p.page_errors
    p.close()


def test_ship_silhouettes_are_data(game: ThreadedServer, browser: Any) -> None:
    p = Player(browser, game.live.http, "Hull_" + str(os.getpid() % 10000))
    got = p.page.evaluate(
        """async () => {
            const m = await import("/static/js/hulls.js");
            const key = (s) => JSON.stringify(s.silhouette);
            const built = Object.fromEntries(m.BUILT_IN_HULLS.map((k) => [k, m.hullShape(k)]));
            const served = m.hullShape("shuttle", {shuttle: {radius: 15,
              silhouette: [[1, 0], [-1, 0.5], [-0.6, 0], [-1, -0.5]], engines: [[-0.6, 0]]}});
            const bad = m.hullShape("shuttle", {shuttle: {silhouette: [[1, 0], ["x", 1], [0, 0]]}});
            const huge = m.hullShape("shuttle", {shuttle: {silhouette: [[9, 0], [0, 1], [0, -1]]}});
            const a = m.hullShape("corvette", null, 30);
            const b = m.hullShape("skiff", null, 9);
            const c = m.hullShape("dart", null, 9);
            return {
              keys: Object.keys(built), outlines: new Set(Object.values(built).map(key)).size,
              sources: Object.values(built).map((s) => s.source),
              radii: Object.values(built).map((s) => s.radius),
              served: [served.source, served.radius, served.silhouette.length, served.engines],
              bad: [bad.source, key(bad) === key(built.shuttle)],
              huge: huge.source,
              derived: [a.source, b.source, key(a) !== key(b), key(b) !== key(c),
                        a.engines.length, b.engines.length],
            };
        }"""
    )
    assert got["keys"] == ["shuttle", "hauler", "interceptor"]
    assert got["outlines"] == 3, "each built-in hull has its own outline"
    assert got["sources"] == ["built-in"] * 3
    assert got["radii"] == [12, 24, 10]  # as content/data/hulls.toml
    assert got["served"] == ["served", 15, 4, [[-0.6, 0]]], "what the server sends wins"
    assert got["bad"] == ["built-in", True], "a malformed outline is ignored, not drawn"
    assert got["huge"] == "built-in", "coordinates beyond 2 radii are refused"
    assert got["derived"] == ["derived", "derived", True, True, 2, 1], got["derived"]

    # in the game: the server sends every hull's outline (welcome.content.hulls: its content,
    # issue 18), so our shuttle is drawn from content/data/hulls.toml's; whatever the server
    # sends is drawn instead
    p.register()
    me = str(p.snap()["ship"])
    hulls = p.wait_eval("our ship drawn", "window.callister.hulls()", lambda h: me in h)
    outline = load_content().hulls["shuttle"].silhouette
    assert hulls[me]["hull"] == "shuttle" and hulls[me]["source"] == "served"
    assert hulls[me]["points"] == len(outline)
    p.page.evaluate(
        "window.callister.state.me.content.hulls ="
        " {shuttle: {silhouette: [[1, 0], [-1, 0.7], [-1, -0.7]]}}"
    )
    p.until(
        "the served outline drawn",
        lambda: p.page.evaluate("window.callister.hulls()").get(me, {}),
        lambda h: h.get("source") == "served" and h.get("points") == 3,
    )
    assert not p.page_errors, p.page_errors
    p.close()


def test_admin_console_does_not_poll_what_the_server_lacks(
    game: ThreadedServer,
    browser: Any,
) -> None:
    base = game.live.http
    name = "Keeper_" + str(os.getpid() % 10000)
    game.account(name, role="admin")
    console = AdminConsole(browser, base)
    page = console.page
    asked: dict[str, int] = {}
    missing: list[str] = []

    def seen(resp: Any) -> None:
        path = resp.url.split("?")[0].removeprefix(base)
        asked[path] = asked.get(path, 0) + 1
        if resp.status == 404:
            missing.append(path)

    page.on("response", seen)
    console.log_in(name, "[data-testid='world-row-infinity']")
    # the console refreshes every second: let it refresh a few times (waiting in Playwright,
    # which delivers the page's events meanwhile)
    deadline = time.monotonic() + 20
    while asked.get("/api/admin/worlds", 0) < 4:
        assert time.monotonic() < deadline, asked
        page.wait_for_timeout(200)
    # a single server has no cluster view: asked once (the answer is 404), then never again
    assert asked.get("/api/admin/cluster") == 1, asked
    assert missing == ["/api/admin/cluster"], missing
    assert page.evaluate("window.callisterAdmin.has()") == {"cluster": False, "worlds": True}
    assert page.is_hidden("#admin-cluster") and page.is_visible("#admin-worlds-section")
    console.close()
