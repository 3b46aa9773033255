"""Moderation in the browser, against a real server, in Debian's chromium.

One story: a griefer (the project's bot, a real WebSocket client) shoots a player; the player
locks the griefer and reports them with the client's Report button; a moderator opens the
console (/mod), picks the report, watches its footage in the replay viewer (the game's own
renderer), bans the griefer, and the griefer's connection is closed (4403).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.web.test_browser import PASSWORD, Player, browser  # noqa: F401
from tests.web.test_browser_combat import ThreadedServer, undocked_bot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def game(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    # ordinary weapons: the griefer harasses the victim without killing them in the test's time
    server = ThreadedServer(tmp_path_factory.mktemp("moderation"), damage_multiplier=1.0)
    try:
        yield server
    finally:
        server.close()


def summary(p: Player) -> dict[str, Any]:
    value: dict[str, Any] = p.page.evaluate("window.callisterMod.summary()")
    return value


def wait_mod(p: Player, what: str, pred: Any, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        s = summary(p)
        if pred(s):
            return s
        if time.monotonic() > deadline:
            pytest.fail(f"moderator: timed out waiting for {what}; {s}; errors {p.page_errors}")
        time.sleep(0.2)


def test_report_watch_ban(game: ThreadedServer, browser: Any) -> None:  # noqa: F811
    base = game.live.http
    victim = Player(browser, base, "Victim_1")
    victim.register()

    griefer = undocked_bot(game, "Griefer_1")
    victim.page.keyboard.press("f")
    victim.wait("undocking", lambda s: not s["docked"])
    victim_ship = int(victim.snap()["ship"])

    async def grief(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            await griefer.send(
                {"t": "fire", "ship": griefer.ship, "slot": 0, "target": str(victim_ship)}
            )
            await griefer.pump(0.3)

    game.run(grief(3.0))
    # the victim locks the griefer (T cycles ships) and reports them
    deadline = time.monotonic() + 15
    while (victim.page.evaluate("window.callister.target()") or {}).get("id") != griefer.ship:
        assert time.monotonic() < deadline, "could not lock the griefer"
        victim.page.keyboard.press("t")
        time.sleep(0.3)
    victim.page.click("#btn-report")
    victim.page.select_option("#report-reason", "griefing")
    victim.page.fill("#report-text", "<img src=x onerror=alert(1)> shot me at the station")
    victim.page.click("#report-send")
    victim.page.wait_for_selector("#report-note:has-text('Report sent')")
    store = game.live.services.store
    deadline = time.monotonic() + 15
    while not store.moderation.list_reports(game.world.name):
        assert time.monotonic() < deadline, "the report did not reach the queue"
        time.sleep(0.2)
    # griefing goes on while the moderator works; the socket keeps reading
    pump = asyncio.run_coroutine_threadsafe(griefer.pump(120), game.loop)

    # a moderator opens the console
    body = {"name": "Mod_1", "password": PASSWORD}
    game.run(_register(game, body))
    store.accounts.set_role("Mod_1", "moderator")
    mod = Player(browser, base, "Mod_1")
    mod.page.goto(base + "/mod")
    mod.page.fill("#mod-name", "Mod_1")
    mod.page.fill("#mod-password", PASSWORD)
    mod.page.click("#mod-btn-login")
    wait_mod(mod, "the queue", lambda s: s["loaded"])
    mod.page.click("#mod-reports .mod-item")
    s = wait_mod(mod, "the footage", lambda s: s["frames"] > 10 and s["timeline"] > 0)
    assert s["follow"] == griefer.ship, s  # the reported ship is followed
    # the report text is shown as literal text
    assert (
        mod.page.text_content("#mod-report-text")
        == "<img src=x onerror=alert(1)> shot me at the station"
    )
    assert mod.page.query_selector("#mod-report img") is None
    mod.page.click("#mod-play")
    start = s["tick"]
    s = wait_mod(mod, "playback", lambda s: s["tick"] > start + 20 and s["poses"] >= 2)
    mod.page.select_option("#mod-speed", "4")
    mod.page.fill("#mod-scrub", str(int(start)))
    mod.page.dispatch_event("#mod-scrub", "input")
    mod.page.screenshot(path=str(_shot()))
    # ban the griefer: the console shows it, the griefer's socket is closed with 4403
    assert mod.page.input_value("#mod-account") == str(griefer.welcome["account"])
    mod.page.select_option("#mod-action", "ban")
    mod.page.fill("#mod-hours", "24")
    mod.page.fill("#mod-reason", "griefing at the home station")
    mod.page.click("#mod-do")
    mod.page.wait_for_selector("#mod-result:has-text('connection closed')")
    deadline = time.monotonic() + 10
    while not (griefer.ws is not None and griefer.ws.closed):
        assert time.monotonic() < deadline, "the griefer is still connected"
        time.sleep(0.1)
    # the close frame's code, as the griefer's receiver read it: aiohttp's `close_code` can
    # read 1006 when the bot's own ack write races the server's close (the frame said 4403)
    try:
        pump.result(timeout=10)
        read = "no close frame"
    except ConnectionError as exc:
        read = str(exc)
    assert griefer.ws.close_code == 4403 or "4403" in read, (griefer.ws.close_code, read)
    pump.cancel()
    assert not mod.page_errors and not victim.page_errors, (mod.page_errors, victim.page_errors)


def _shot() -> Any:
    from tests.web.test_browser import ROOT

    return ROOT / "docs" / "screenshot-moderation.png"


async def _register(game: ThreadedServer, body: dict[str, str]) -> None:
    assert game.http is not None
    async with game.http.post(f"{game.live.http}/api/register", json=body) as resp:
        assert resp.status == 201, await resp.text()
