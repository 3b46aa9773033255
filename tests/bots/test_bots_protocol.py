"""`callister bots --protocol 2` (docs/protocol.md, "Protocol v2") on a real server over real
sockets: v2 bots connect, count updates at the server's rate, fly their own ship from what the
updates say, jump, send binary controls and never an ack, ask for a RESYNC when an update does
not fit their view; a v2 bot refuses a server that answers v1, and a version the bots do not
speak is refused before anything starts."""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.command_line import run_callister
from tests.conftest import LiveServer, make_settings, running
from tests.waiting import until

from callister.bots.client import RESYNC_PATIENCE, Bot, ProtocolMismatch
from callister.bots.swarm import run_swarm
from callister.protocol.updates import Body, encode_update

SNAPSHOT_HZ = 20  # updates a second the server sends each client


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with running(make_settings(tmp_path, snapshot_hz=SNAPSHOT_HZ)) as server:
        yield server


class Sent:
    """Every frame a bot writes to its socket (JSON text parsed, binary as bytes)."""

    def __init__(self, bot: Bot) -> None:
        assert bot.ws is not None
        self.json: list[dict[str, Any]] = []
        self.binary: list[bytes] = []
        ws = bot.ws
        send_str, send_bytes = ws.send_str, ws.send_bytes

        async def text(data: str, *args: Any, **kwargs: Any) -> None:
            self.json.append(json.loads(data))
            await send_str(data, *args, **kwargs)

        async def binary(data: bytes, *args: Any, **kwargs: Any) -> None:
            self.binary.append(bytes(data))
            await send_bytes(data, *args, **kwargs)

        ws.send_str = text  # type: ignore[method-assign]
        ws.send_bytes = binary  # type: ignore[method-assign]

    def types(self) -> set[str]:
        return {str(m.get("t")) for m in self.json}


def pumping(bot: Bot, cond: Any) -> Any:
    """For `until`: receive on `bot` a little, then check `cond()`."""

    async def check() -> Any:
        await bot.pump(0.05)
        return cond()

    return check


async def v2_bot(live: LiveServer, http: aiohttp.ClientSession, name: str, **kw: Any) -> Bot:
    bot = Bot(live.http, live.ws, name, session=http, protocol=2, **kw)
    await bot.register()
    await bot.connect()
    return bot


async def test_v2_bots_fly_and_jump_at_the_update_rate_without_acks(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    bot = await v2_bot(live, http, "v2flyer", jump_every_s=2.5)
    assert bot.welcome["v"] == 2 and bot.welcome["snapshot_hz"] == SNAPSHOT_HZ
    session = live.services.gateway.sessions[bot.welcome["account"]]
    assert session.version == 2  # the server speaks v2 on this socket
    sent = Sent(bot)
    home = bot.system
    await bot.fly(10.0)
    stats = bot.stats
    assert stats.failure is None and stats.errors == 0, (stats.error_codes, bot.view_errors)
    assert bot.resyncs_asked == 0
    # ~20 updates a second (each a v2 frame: type 2), evenly spaced
    assert stats.snapshots >= 10 * SNAPSHOT_HZ * 0.7
    intervals = sorted(stats.intervals_ms)
    assert 1000 / SNAPSHOT_HZ * 0.6 <= intervals[len(intervals) // 2] <= 1000 / SNAPSHOT_HZ * 1.6
    assert stats.bytes_received > stats.json_bytes
    # it undocked, flew and jumped: each jump a new system, whose first update is a RESYNC
    assert stats.jumps >= 2 and bot.system is not None and bot.system != home
    assert bot.ship in bot.v2view.entities and not bot.docked
    # controls went up as 4-byte binary frames; no input, no ack (JSON or binary)
    assert sent.binary and all(len(f) == 4 and f[0] == 2 for f in sent.binary)
    assert {"input", "ack"}.isdisjoint(sent.types()) and "jump" in sent.types()
    await bot.close()


async def test_a_v2_bot_follows_its_own_ship(live: LiveServer, http: aiohttp.ClientSession) -> None:
    """What a v2 bot holds of its ship (from its updates) is where a v1 client sees it."""
    bot = await v2_bot(live, http, "v2self", jump_every_s=0)
    watcher = Bot(live.http, live.ws, "v1watch", session=http, track_view=True, jump_every_s=0)
    await watcher.register()
    await watcher.connect()
    await bot.fly(3.0)  # undock and fly a while
    assert not bot.docked and bot.stats.errors == 0
    await bot.steer(0.0, 0.0, brake=True)

    async def stopped() -> bool:
        await asyncio.gather(bot.pump(0.1), watcher.pump(0.1))
        ref = bot.v2view.entities[bot.ship]
        return math.hypot(ref.vx, ref.vy) < 1 and bot.ship in watcher.positions()

    await until(stopped, "the v2 bot's ship braked to a stop and in the v1 view")
    await asyncio.gather(bot.pump(0.3), watcher.pump(0.3))
    assert math.dist(bot.pos, watcher.positions()[bot.ship]) < 5.0
    assert bot.positions()[bot.ship] == pytest.approx(bot.pos)
    assert bot.stats.errors == 0
    await bot.close()
    await watcher.close()


async def test_a_gap_or_a_bad_frame_asks_for_a_resync(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    bot = await v2_bot(live, http, "v2gap", jump_every_s=0)
    sent = Sent(bot)
    await until(pumping(bot, lambda: bot.v2view.seq > 2), "a few updates applied")
    view = bot.v2view
    # an update whose seq skips some, without RESYNC: the view is wrong
    bot._on_frame(encode_update(view.tick + 2, view.seq + 5, view.origin, [], [], []))
    assert bot.stats.error_codes == {"VIEW_GAP": 1} and bot.resyncs_asked == 1
    # while it waits for the RESYNC, updates are ignored and nothing more is asked
    bot._on_frame(b"\x02\x00\x00")  # malformed: shorter than a header
    assert bot.stats.error_codes == {"VIEW_GAP": 1, "BAD_UPDATE": 1} and bot.resyncs_asked == 1
    applied = bot.v2view.seq
    await until(pumping(bot, lambda: bot.v2view.seq != applied), "the RESYNC applied")
    assert {"t": "resync"} in sent.json
    assert bot.ship in bot.v2view.entities and bot.stats.errors == 2
    # the view then goes on normally; a bad frame later asks again
    seq = bot.v2view.seq
    await until(pumping(bot, lambda: bot.v2view.seq >= seq + 3), "updates after it")
    view = bot.v2view  # the next update, changing an entity the bot does not hold
    ghost = (9_999_999, Body(0, 0, 0, 0, 0, 0, 0, 0, 0))
    bot._on_frame(encode_update(view.tick + 2, view.seq + 1, view.origin, [], [ghost], []))
    assert bot.stats.error_codes["VIEW_GAP"] == 2 and bot.resyncs_asked == 2
    assert bot.stats.failure is None
    await bot.close()


async def test_a_resync_that_does_not_come_is_asked_for(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    bot = await v2_bot(live, http, "v2wait", jump_every_s=0)
    sent = Sent(bot)
    await until(pumping(bot, lambda: bot.v2view.seq > 2), "a few updates applied")
    # as on entering a system, the view restarts and the bot waits for the RESYNC the server
    # sends then unasked; this `system` did not come from the server, so no RESYNC follows
    bot._on_frame(json.dumps({"t": "system", "system": bot.system, "tick": 0, "gates": []}))
    assert bot.v2view.entities == {} and bot.resyncs_asked == 0
    await until(pumping(bot, lambda: bot.ship in bot.v2view.entities), "the view back")
    assert sent.json.count({"t": "resync"}) == 1 and bot.resyncs_asked == 1
    assert bot.stats.error_codes == {"VIEW_GAP": 1}
    assert bot.view_errors == [f"no RESYNC in {RESYNC_PATIENCE} updates"]
    await bot.close()


async def test_a_v2_bot_refuses_a_server_that_answers_v1(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    # this server now answers every hello as one from before v2 did (welcome.v 1, v1 frames)
    live.services.gateway.version = lambda hello: 1  # type: ignore[method-assign]
    bot = Bot(live.http, live.ws, "v2refused", session=http, protocol=2)
    await bot.register()
    with pytest.raises(ProtocolMismatch, match=r"asked for protocol v2.*welcome says v1"):
        await bot.connect()
    # a swarm reports it as each bot's failure, none connected
    summary = await run_swarm(live.ws, 2, 1.0, ramp_s=0.0, protocol=2, jump_every_s=0)
    assert summary["connected"] == 0 and summary["bots"] == 2
    assert "--protocol 1" in summary["failures"][0] and "welcome says v1" in summary["failures"][0]
    # v1 bots are content with it
    summary = await run_swarm(live.ws, 1, 1.0, ramp_s=0.0, protocol=1, jump_every_s=0)
    assert summary["connected"] == 1 and summary["errors"] == 0


async def test_the_bots_command_speaks_v2(live: LiveServer) -> None:
    """`callister bots --protocol 2 --json`, a process of its own, against the server; the
    summary keeps its fields, `snapshots` counting the v2 updates."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callister", "bots", "--url", live.ws, "--count", "3",
        "--seconds", "6", "--ramp", "0.5", "--jump-every", "2", "--protocol", "2", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    summary = json.loads(out)
    assert set(summary) == {
        "bots", "connected", "errors", "error_codes", "failures", "snapshots",
        "bytes_per_client_per_s", "json_bytes_per_client_per_s", "snapshot_interval_ms", "jumps",
        "seconds",
    }  # fmt: skip
    assert summary["connected"] == 3 and summary["errors"] == 0, summary
    assert summary["snapshots"] >= 3 * 5 * SNAPSHOT_HZ * 0.7
    assert summary["snapshot_interval_ms"]["p50"] == pytest.approx(1000 / SNAPSHOT_HZ, rel=0.5)
    assert summary["jumps"] >= 3


def test_a_protocol_the_bots_do_not_speak_is_refused() -> None:
    out = run_callister("bots", "--protocol", "3", "--count", "1")
    assert out.returncode == 2
    assert "--protocol: invalid choice: 3 (choose from 1, 2)" in out.stderr
    with pytest.raises(ValueError, match="protocol must be 1 or 2"):
        Bot("http://127.0.0.1:1", "ws://127.0.0.1:1/ws", "x", session=None, protocol=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="protocol must be 1 or 2"):
        asyncio.run(run_swarm("ws://127.0.0.1:1/ws", 1, 1.0, protocol=0))
