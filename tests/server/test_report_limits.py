"""Reports and distress calls have limits of their own (issue 13, M5), over real sockets: a
burst of reports is accepted up to the per-reporter and per-target limits and refused with a
clear RATE_LIMITED error after, the reports of one moment share one footage copy, and a
distress call reaches the system once per window however often it is sent."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from tests.conftest import LiveServer

from callister.server.settings import Settings

from .wsclient import capture, player, pump_until

DEFAULTS = Settings()


def _answers(
    seen: list[dict[str, Any]], ref: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The `reported` answers and the errors for `ref` that `seen` holds."""
    done = [e for e in seen if e["t"] == "reported"]
    refused = [e for e in seen if e["t"] == "error" and e.get("ref") == ref]
    return done, refused


async def _send_spread(bot: Any, message: dict[str, Any], count: int, seconds: float) -> None:
    for _ in range(count):
        await bot.send(message)
        await asyncio.sleep(seconds / count)


async def test_a_hundred_reports_in_three_seconds_are_limited_and_share_one_footage(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    target = await player(live, http, "noisy")
    reporter = await player(live, http, "angry")
    seen = capture(reporter)
    report = {"t": "report", "kind": "player", "target": "noisy", "reason": "spam", "text": "x"}
    await _send_spread(reporter, report, 100, 3.0)
    await pump_until(
        [reporter, target], lambda: sum(len(a) for a in _answers(seen, "report")) >= 100, 30
    )
    done, refused = _answers(seen, "report")
    assert len(done) == DEFAULTS.reports_per_minute and len(refused) == 100 - len(done)
    for error in refused:
        assert error["code"] == "RATE_LIMITED"
        assert "reports in the last minute" in error["message"] and "wait" in error["message"]
    # the accepted reports are queued, and the moment they report was saved once
    world = live.services.world.name
    reports = live.services.store.moderation.list_reports(world)
    assert len(reports) == len(done)
    footage = live.services.store.moderation.list_footage(world)
    assert len(footage) == 1
    assert {r.footage_id for r in reports} == {footage[0].id}
    assert {d["footage"] for d in done} == {footage[0].id}
    await target.close()
    await reporter.close()


async def test_reports_against_one_target_are_limited_across_reporters(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    target = await player(live, http, "popular")
    reporters = [await player(live, http, f"mob{i}") for i in range(3)]
    seen = [capture(r) for r in reporters]
    message = {"t": "report", "kind": "player", "target": "popular", "reason": "griefing"}
    per = DEFAULTS.reports_per_minute
    for reporter in reporters:  # each within its own limit; together over the target's
        for _ in range(per):
            await reporter.send(message)

    def answered() -> int:
        return sum(len(a) + len(b) for s in seen for a, b in [_answers(s, "report")])

    await pump_until([target, *reporters], lambda: answered() >= per * len(reporters), 30)
    done = sum(len(_answers(s, "report")[0]) for s in seen)
    refused = [e for s in seen for e in _answers(s, "report")[1]]
    assert done == DEFAULTS.reports_per_target_minute
    assert len(refused) == per * len(reporters) - done
    for error in refused:
        assert error["code"] == "RATE_LIMITED" and "popular" in error["message"]
    assert len(live.services.store.moderation.list_footage(live.services.world.name)) == 1
    for bot in (target, *reporters):
        await bot.close()


async def test_distress_calls_reach_the_system_once_per_window(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    caller = await player(live, http, "panicky")
    listeners = [await player(live, http, f"ear{i}") for i in range(2)]
    heard = [capture(b) for b in listeners]
    said = capture(caller)
    await _send_spread(caller, {"t": "distress", "ship": caller.ship}, 250, 5.0)

    def refused() -> list[dict[str, Any]]:
        return [e for e in said if e["t"] == "error" and e.get("ref") == "distress"]

    await pump_until([caller, *listeners], lambda: len(refused()) >= 249, 30)
    for error in refused():
        assert error["code"] == "RATE_LIMITED" and "call again in" in error["message"]

    # every message was handled (the refusals came after the call): each listener heard it once
    def calls(seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in seen if e["t"] == "event" and e.get("kind") == "distress"]

    await pump_until(listeners, lambda: all(calls(h) for h in heard), 5)
    for h in heard:
        assert len(calls(h)) == 1 and calls(h)[0]["from"] == "panicky"
    for bot in (caller, *listeners):
        await bot.close()
