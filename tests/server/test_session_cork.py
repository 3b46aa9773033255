"""Session.cork/uncork: what one zone tick sends a socket goes out in one write, in order."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from tests.conftest import LiveServer
from tests.server.wsclient import player

from callister.bots.client import Bot
from callister.protocol.messages import encode_server
from callister.server.frames import binary_header, frame_header, socket_transport
from callister.server.session import SNAPSHOT_BACKLOG, Cork, Session, send_updates


class CountedWrites:
    """Counts the writes made to a real transport (and passes them on)."""

    def __init__(self, transport: Any) -> None:
        self.transport, self.writes = transport, 0
        self._write = transport.write

    def __call__(self, data: bytes) -> None:
        self.writes += 1
        self._write(data)

    def __enter__(self) -> CountedWrites:
        self.transport.write = self
        return self

    def __exit__(self, *exc: object) -> None:
        del self.transport.write  # the class's own method again


async def _frames_after(ws: aiohttp.ClientWebSocketResponse, marker: str, n: int) -> list[Any]:
    """The `n` frames that follow the chat message `marker` (frames before it are skipped)."""
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type == aiohttp.WSMsgType.TEXT and json.loads(msg.data).get("text") == marker:
            break
    out = []
    for _ in range(n):
        msg = await ws.receive(timeout=10)
        out.append(json.loads(msg.data) if msg.type == aiohttp.WSMsgType.TEXT else msg.data)
    return out


def test_frame_headers_follow_rfc_6455() -> None:
    assert frame_header(0x2, 5) == b"\x82\x05"
    assert frame_header(0x1, 125) == b"\x81\x7d"
    assert frame_header(0x2, 126) == b"\x82\x7e\x00\x7e"
    assert frame_header(0x2, 70000) == b"\x82\x7f" + (70000).to_bytes(8, "big")


async def _player_session(
    live: LiveServer, http: aiohttp.ClientSession, name: str
) -> tuple[Bot, Session, Any]:
    """A connected player, the server's session of it and that session's transport."""
    bot = await player(live, http, name)
    session: Session = live.services.gateway.sessions[bot.welcome["account"]]
    return bot, session, socket_transport(session.ws)


def _holding(*sessions: Session) -> Cork:
    """A cork the sessions join, holding (as a zone's tick does: Fanout._on_zone_tick)."""
    cork = Cork()
    for session in sessions:
        session.join_cork(cork)
    cork.hold()
    return cork


async def test_a_corked_tick_is_one_write_in_the_order_written(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    bot, session, transport = await _player_session(live, http, "Corky")
    with CountedWrites(transport) as counted:
        cork = _holding(session)
        session.send_json(encode_server("chat", text="first"))
        assert session.send_snapshot(b"\x01\x02\x03")
        session.send_json(encode_server("chat", text="last"))
        assert counted.writes == 0  # held
        cork.release()
        assert counted.writes == 1
    assert bot.ws is not None
    frames = await _frames_after(bot.ws, "first", 2)
    assert frames[0] == b"\x01\x02\x03"
    assert frames[1]["text"] == "last"


async def test_an_update_goes_out_at_once_with_what_the_tick_held_and_uncork_writes_nothing(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    bot, session, transport = await _player_session(live, http, "Prompt")
    with CountedWrites(transport) as counted:
        cork = _holding(session)
        session.send_json(encode_server("chat", text="before"))
        assert counted.writes == 0  # held
        assert session.send_update(memoryview(b"\x09\x08"))
        assert counted.writes == 1  # the held message and the update, together
        cork.release()
        assert counted.writes == 1
        cork.hold()
        assert session.send_update(b"\x07")  # nothing held: the update alone, at once
        assert counted.writes == 2
        cork.release()
        assert counted.writes == 2
    assert bot.ws is not None
    frames = await _frames_after(bot.ws, "before", 2)
    assert frames == [b"\x09\x08", b"\x07"]


async def test_a_corked_snapshot_over_the_backlog_is_skipped_and_json_still_arrives(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    bot, session, _ = await _player_session(live, http, "Brimful")
    cork = _holding(session)
    session.send_json(encode_server("chat", text="mark"))
    assert not session.send_snapshot(b"\x00" * (SNAPSHOT_BACKLOG + 1))  # best effort: skipped
    session.send_json(encode_server("chat", text="kept"))
    cork.release()
    assert bot.ws is not None
    frames = await _frames_after(bot.ws, "mark", 1)
    assert frames[0]["text"] == "kept"


async def test_nothing_is_written_once_the_close_has_begun(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """RFC 6455: no data frame after the close frame (a browser fails the socket with "Data
    frame received after close"). The server's shutdown closes every socket while zone
    ticks may still send, so each direct-write path must see the close begin."""
    bot, session, transport = await _player_session(live, http, "Closer")
    assert session.send_update(b"\x01")  # the update path keeps the transport from now on
    cork = _holding(session)
    assert session.send_snapshot(b"\x02")  # held when the close begins
    closing = asyncio.get_running_loop().create_task(session.ws.close(code=1001, message=b"bye"))
    await asyncio.sleep(0)  # the close frame is written; the client has not answered yet
    assert session.ws.closed and not transport.is_closing()
    with CountedWrites(transport) as counted:
        cork.release()  # the held snapshot is dropped
        cork.hold()
        assert not session.send_update(b"\x03")
        cork.release()
        assert not session.send_snapshot(b"\x04")
        session.send_json(encode_server("chat", text="late"))
        assert counted.writes == 0
    assert bot.ws is not None
    seen = []  # everything the client reads up to the close frame
    while (msg := await bot.ws.receive(timeout=10)).type in (
        aiohttp.WSMsgType.BINARY,
        aiohttp.WSMsgType.TEXT,
    ):
        seen.append(msg.data)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg
    assert b"\x01" in seen  # written before the close began
    assert not {b"\x02", b"\x03", b"\x04"} & {data for data in seen if isinstance(data, bytes)}
    assert not [text for text in seen if isinstance(text, str) and '"late"' in text]
    await closing


async def test_a_zones_updates_go_out_together_and_the_unsent_are_named(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """`send_updates`, the fan-out's path: a socket with nothing held gets its update in one
    write; one with a frame held gets both in one write; one backed up or closing is named
    (its view resyncs) and gets nothing; the counters add up what went."""
    plain, plain_s, plain_t = await _player_session(live, http, "Plain")
    held, held_s, held_t = await _player_session(live, http, "Held")
    _, full_s, full_t = await _player_session(live, http, "Full")
    _, gone_s, _ = await _player_session(live, http, "Gone")
    closing = asyncio.get_running_loop().create_task(gone_s.ws.close(code=1001, message=b"bye"))
    await asyncio.sleep(0)
    counters = plain_s.metrics.counters
    before = (counters["callister_bytes_sent_total"], counters["callister_snapshots_sent_total"])
    cork = _holding(plain_s, held_s, full_s, gone_s)
    held_s.send_json(encode_server("chat", text="held"))
    data = memoryview(b"\x0a\x0b" + b"\x00" * (SNAPSHOT_BACKLOG + 10))
    starts, ends = [0, 1, 2, 3], [1, 2, 3 + SNAPSHOT_BACKLOG, 10]  # the third: over the backlog
    with CountedWrites(plain_t) as p, CountedWrites(held_t) as h, CountedWrites(full_t) as f:
        failed = send_updates([plain_s, held_s, full_s, gone_s], data, starts, ends)
        assert failed == [2, 3]  # over the backlog; closing
        assert (p.writes, h.writes, f.writes) == (1, 1, 0)
    with CountedWrites(plain_t) as p, CountedWrites(held_t) as h, CountedWrites(full_t) as f:
        cork.release()  # nothing left to write
        assert (p.writes, h.writes, f.writes) == (0, 0, 0)
    assert counters["callister_snapshots_sent_total"] - before[1] == 2
    assert counters["callister_bytes_sent_total"] - before[0] >= 2
    assert plain.ws is not None and held.ws is not None
    while (await plain.ws.receive(timeout=10)).data != b"\x0a":
        pass  # what the zone's own ticks send it meanwhile (a timeout fails the test)
    frames = await _frames_after(held.ws, "held", 1)
    assert frames == [b"\x0b"]
    await closing


async def test_a_zones_sockets_share_its_cork_and_a_socket_leaving_keeps_its_order(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """The fan-out holds one cork per zone (one step to hold and release a thousand sockets);
    a socket that leaves the zone mid-tick writes what it held first, then goes on alone."""
    a_bot, a, a_t = await _player_session(live, http, "Shared")
    _, b, _ = await _player_session(live, http, "Alike")
    fanout = live.services.gateway.fanout
    assert a.zone_key == b.zone_key is not None
    await _until(lambda: a.zone_key in fanout._corks)  # the zone's first tick made it
    cork = fanout._corks[a.zone_key]
    assert a._cork is cork and b._cork is cork
    with CountedWrites(a_t) as counted:
        cork.hold()
        a.send_json(encode_server("chat", text="from the zone"))
        assert counted.writes == 0
        a.join_cork(None)  # it leaves (a jump, say): what it held goes first
        assert counted.writes == 1
        a.send_json(encode_server("chat", text="after"))  # its own cork: at once
        assert counted.writes == 2
        cork.release()
        assert counted.writes == 2
    assert a_bot.ws is not None
    frames = await _frames_after(a_bot.ws, "from the zone", 1)
    assert frames[0]["text"] == "after"


async def _until(test: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not test():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_the_update_path_builds_the_same_binary_headers() -> None:
    for length in (0, 5, 125, 126, 300, 65535, 65536, 100_000):
        assert binary_header(length) == frame_header(0x2, length)
