"""The load generator's own WebSocket client (bench/wsclient.py): against a real aiohttp server on
loopback for the handshake, messages both ways, ping and close, and a refused upgrade; against a
raw socket server for what aiohttp would never send (split and packed frames, garbled, oversize,
masked or truncated frames, bad handshakes), each of which must end in a counted error or a
clear WsError, never a hang or an exception out of the event loop."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvloop
from aiohttp import WSMsgType, web

from callister.bench.crowd_load import BINS, Client, ClientSocket
from callister.bench.wsclient import GUID, WsClient, WsError, accept_key, mask, open_ws


class Recorder(WsClient):
    def __init__(self) -> None:
        super().__init__(max_size=4096)
        self.binary: list[bytes] = []
        self.text: list[str] = []
        self.errors: list[tuple[str, str]] = []
        self.gone = asyncio.get_running_loop().create_future()

    def on_binary(self, payload: memoryview) -> None:
        self.binary.append(bytes(payload))

    def on_text(self, text: str) -> None:
        self.text.append(text)

    def on_error(self, code: str, detail: str) -> None:
        self.errors.append((code, detail))

    def on_close(self) -> None:
        if not self.gone.done():
            self.gone.set_result(None)


async def _site(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"ws://127.0.0.1:{port}/ws"


async def _with_aiohttp() -> None:
    got: list[Any] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        await ws.send_str('{"t":"welcome"}')
        await ws.send_bytes(b"\x02" * 300)  # a 16-bit length
        await ws.send_bytes(b"\x07" * 70_000)  # a 64-bit length (client limit raised below)
        got.append(await ws.receive())  # the client's text
        got.append(await ws.receive())  # its binary
        await ws.ping(b"are you there")
        got.append(await ws.receive())  # the pong
        await ws.close(code=4001, message=b"bye")
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner, url = await _site(app)
    try:

        def big() -> Recorder:
            r = Recorder()
            r.max_size = 1 << 20
            return r

        c = await open_ws(url, big, timeout=10)
        c.send_text('{"t":"hello"}')
        c.send_binary(b"\x02\x00\xff\x7f")
        await asyncio.wait_for(c.gone, 10)
    finally:
        await runner.cleanup()
    assert c.text == ['{"t":"welcome"}']
    assert c.binary == [b"\x02" * 300, b"\x07" * 70_000]
    assert got[0].type == WSMsgType.TEXT and got[0].data == '{"t":"hello"}'
    assert got[1].type == WSMsgType.BINARY and got[1].data == b"\x02\x00\xff\x7f"
    assert got[2].type == WSMsgType.PONG and got[2].data == b"are you there"
    assert c.closed and c.close_code == 4001 and c.errors == []
    assert not c.send_binary(b"late")  # a closed socket says so instead of raising


async def test_talks_to_aiohttp_both_ways_pongs_and_closes() -> None:
    await _with_aiohttp()


def test_talks_to_aiohttp_under_uvloop() -> None:
    # the load workers run uvloop, whose transports are not asyncio.Transport subclasses
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_with_aiohttp())


async def test_refused_upgrade_is_a_clear_error() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=403, text="no")

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner, url = await _site(app)
    try:
        with pytest.raises(WsError, match=r"handshake refused: HTTP/1\.1 403"):
            await open_ws(url, Recorder, timeout=10)
        with pytest.raises(WsError, match=r"handshake refused: HTTP/1\.1 404"):
            await open_ws(url.replace("/ws", "/nothing"), Recorder, timeout=10)
    finally:
        await runner.cleanup()


# -- a raw socket server ---------------------------------------------------------------------

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _request_key(reader: asyncio.StreamReader) -> str:
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    assert head.startswith("GET /ws HTTP/1.1\r\n")
    assert "Sec-WebSocket-Version: 13" in head and "Upgrade: websocket" in head
    key = next(ln.split(":", 1)[1].strip() for ln in head.split("\r\n") if "Key:" in ln)
    assert len(base64.b64decode(key)) == 16
    return key


def _upgrade(key: str) -> bytes:
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
    ).encode()


def _server_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        return bytes((b0, n)) + payload
    if n < 1 << 16:
        return bytes((b0, 126)) + n.to_bytes(2, "big") + payload
    return bytes((b0, 127)) + n.to_bytes(8, "big") + payload


async def _client_frame(reader: asyncio.StreamReader) -> tuple[int, bytes, bytes]:
    """(opcode, unmasked payload, mask key) of one client frame; it must be masked."""
    b0, b1 = await reader.readexactly(2)
    assert b1 & 0x80, "client frames are masked"
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(await reader.readexactly(2), "big")
    key = await reader.readexactly(4)
    body = await reader.readexactly(n)
    return b0 & 0x0F, bytes(b ^ key[i % 4] for i, b in enumerate(body)), key


async def _raw(
    script: Script, handshake: bool = True, sends: tuple[bytes, ...] = ()
) -> tuple[Recorder, list[Any]]:
    """Run `script` as the server for one Recorder client, which sends the binary `sends`
    once open; returns the client once it is closed (within 10 s: a hang fails the test) and
    what the script left in `seen`."""
    seen: list[Any] = []
    finished = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if handshake:
                writer.write(_upgrade(await _request_key(reader)))
            await script(reader, writer)
            seen.append("done")
        except Exception as exc:  # shows in the test's assertion on `seen`
            seen.append(exc)
        finally:
            writer.close()
            finished.set()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        c = await open_ws(f"ws://127.0.0.1:{port}/ws", Recorder, timeout=5)
        for payload in sends:
            assert c.send_binary(payload)
        await asyncio.wait_for(c.gone, 10)
        await asyncio.wait_for(finished.wait(), 10)
    finally:
        server.close()
    return c, seen


async def test_frames_split_across_reads_and_packed_into_one() -> None:
    frames = [
        _server_frame(2, b"\x02" + bytes(range(40))),
        _server_frame(1, '{"t":"w\u00e9lcome"}'.encode()),
        _server_frame(2, b"\x05" * 1000),
        _server_frame(1, b"frag", fin=False) + _server_frame(0, b"ment"),
        _server_frame(9, b"p1"),  # a ping between messages
    ]

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for byte in b"".join(frames):  # one byte a write: every frame split everywhere
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0)
        writer.write(b"".join(frames))  # then all of them in one write
        await writer.drain()
        for _ in range(2):
            assert (await _client_frame(reader))[:2] == (0xA, b"p1")
        writer.write(_server_frame(8, (1000).to_bytes(2, "big")))
        op, body, _ = await _client_frame(reader)
        assert (op, body) == (8, (1000).to_bytes(2, "big"))  # the close answered

    c, seen = await _raw(script)
    assert seen == ["done"]
    assert c.binary == [b"\x02" + bytes(range(40)), b"\x05" * 1000] * 2
    assert c.text == ['{"t":"w\u00e9lcome"}', "fragment"] * 2
    assert c.errors == [] and c.close_code == 1000


async def test_client_frames_are_masked_with_a_fresh_key_each() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        keys = set()
        for want in (b"\x02\x00\x80\x10", b"\x02\x00\x80\x10", b"x" * 200):
            op, body, key = await _client_frame(reader)
            assert (op, body) == (2, want)
            keys.add(key)
        assert len(keys) == 3
        writer.write(_server_frame(8, b""))
        assert (await _client_frame(reader))[:2] == (8, (1000).to_bytes(2, "big"))

    _, seen = await _raw(script, sends=(b"\x02\x00\x80\x10", b"\x02\x00\x80\x10", b"x" * 200))
    assert seen == ["done"]
    assert mask(mask(b"abcdefg", 0x12345678), 0x12345678) == b"abcdefg"


@pytest.mark.parametrize(
    ("bad", "code", "status"),
    [
        (bytes((0x82, 127)) + (1 << 40).to_bytes(8, "big"), "WS_TOO_BIG", 1009),
        (_server_frame(2, b"x" * 5000), "WS_TOO_BIG", 1009),  # over the 4096 B limit
        (bytes((0x83, 1, 0)), "WS_BAD_FRAME", 1002),  # opcode 3 is reserved
        (bytes((0xC2, 1, 0)), "WS_BAD_FRAME", 1002),  # RSV1 without an extension
        (bytes((0x82, 0x81, 1, 2, 3, 4, 5)), "WS_BAD_FRAME", 1002),  # a masked server frame
        (bytes((0x09, 0)), "WS_BAD_FRAME", 1002),  # a fragmented ping
        (_server_frame(0, b"x"), "WS_BAD_FRAME", 1002),  # a continuation of nothing
        (_server_frame(1, b"\xff\xfe"), "WS_BAD_UTF8", 1007),
    ],
)
async def test_a_garbled_frame_is_counted_and_fails_the_connection(
    bad: bytes, code: str, status: int
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_server_frame(2, b"ok") + bad + _server_frame(2, b"never read"))
        op, body, _ = await _client_frame(reader)
        assert (op, body) == (8, status.to_bytes(2, "big"))

    c, seen = await _raw(script)
    assert seen == ["done"]
    assert c.binary == [b"ok"]  # what came before it was read, nothing after
    assert [e[0] for e in c.errors] == [code] and c.closed


async def test_a_stream_cut_inside_a_frame_is_counted() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_server_frame(2, b"whole") + _server_frame(2, b"y" * 300)[:100])
        await writer.drain()

    c, seen = await _raw(script)
    assert seen == ["done"] and c.binary == [b"whole"]
    assert [e[0] for e in c.errors] == ["WS_TRUNCATED"]


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP response"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "handshake refused: HTTP/1.1 200"),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: d3Jvbmc=\r\n\r\n",
            "wrong Sec-WebSocket-Accept",
        ),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "without Upgrade"),
        (b"HTTP/1.1 101 " + b"x" * 20_000, "no end of the handshake response"),
        (b"HTTP/1.1 10", "connection closed during the handshake"),
    ],
)
async def test_a_bad_handshake_is_a_clear_error(reply: bytes, match: str) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _request_key(reader)
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(WsError, match=match):
            await open_ws(f"ws://127.0.0.1:{port}/ws", Recorder, timeout=5)
    finally:
        server.close()


async def test_a_silent_server_times_out_with_a_clear_error() -> None:
    finished = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads the request and says nothing until the client gives up
        writer.close()
        finished.set()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(WsError, match=r"no WebSocket handshake .* within 0\.5 s"):
            await open_ws(f"ws://127.0.0.1:{port}/ws", Recorder, timeout=0.5)
        await asyncio.wait_for(finished.wait(), 10)  # the client let go of its socket
    finally:
        server.close()
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 1.3


async def test_the_load_client_counts_garbage_and_keeps_its_stats() -> None:
    """The crowd's own socket: an update header is read into the stats, a short binary frame
    is BAD_UPDATE, a server error is counted by its code (BAD_JSON when it is not JSON), and a
    garbled frame is WS_BAD_FRAME and closes that client alone: nothing raises."""
    header = bytes((2, 0, 0, 0)) + (7).to_bytes(4, "little") + bytes(4)
    header += (40).to_bytes(4, "little", signed=True) + (-8).to_bytes(4, "little", signed=True)
    header += (3).to_bytes(2, "little") + bytes(2) + (1).to_bytes(2, "little")

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_upgrade(await _request_key(reader)))
        writer.write(_server_frame(2, header + b"records") + _server_frame(2, b"\x02short"))
        writer.write(_server_frame(1, b'{"t":"error","code":"RATE_LIMITED"}'))
        writer.write(_server_frame(1, b'{"t":"error","code":'))  # cut short: still counted
        writer.write(bytes((0x8F, 0)))  # opcode 15
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client, hist = Client("crowd-1"), [0] * BINS
    client.measuring = True
    try:
        sock = await open_ws(f"ws://127.0.0.1:{port}/ws", lambda: ClientSocket(client, hist))
        for _ in range(100):
            if client.closed:
                break
            await asyncio.sleep(0.05)
    finally:
        server.close()
    assert sock.closed and client.closed
    assert client.stats.updates == 1 and client.stats.bytes == len(header) + 7
    assert (client.tick, client.x, client.y, client.view) == (7, 10.0, -2.0, 2)
    assert client.errors == {
        "BAD_UPDATE": 1, "RATE_LIMITED": 1, "BAD_JSON": 1, "WS_BAD_FRAME": 1
    }  # fmt: skip
