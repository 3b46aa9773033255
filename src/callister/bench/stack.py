"""`callister bench stack`: the server stack choice, measured on the path the server really takes.

The gateway's cost is dominated by sending many small binary frames to many sockets (see
docs/architecture.md). The server sends a snapshot with `server.frames.write_frame_now`: the
frame goes straight to the socket's transport, no coroutine and no task switch per frame (the
`Session.send_snapshot` bookkeeping around it is the same whatever the stack, so it is left
out). This measures the server process's CPU per frame on that path for aiohttp (the gateway's
own function) and for websockets (the same write through its Sans-I/O protocol: `send_binary`,
then `send_data` to the transport), with the same clients (aiohttp, in another process) on
loopback. `awaited` is each stack's public coroutine (`send_bytes`, `send`) for reference: the
reason the gateway writes directly.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

FRAME: Final = bytes(200)  # a typical snapshot: header + ~7 records
DONE: Final = "done"  # the text frame that tells the clients the run is over

CLIENT: Final = r"""
import asyncio, os, sys, aiohttp
async def main(url, n):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        socks = [await s.ws_connect(url, max_msg_size=0) for _ in range(n)]
        async def read(ws):
            got = 0
            while True:
                m = await ws.receive()
                if m.type != aiohttp.WSMsgType.BINARY:
                    return got  # the closing text frame, or the socket went away
                got += 1
        print(sum(await asyncio.gather(*(read(w) for w in socks))), flush=True)
        os._exit(0)  # no close handshakes: the server is not reading any more
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""

WriteNow = Callable[[Any, bytes], bool]
SendAwaited = Callable[[Any, bytes], Awaitable[None]]


async def _time_direct(write_now: WriteNow, socks: list[Any], rounds: int) -> dict[str, Any]:
    """CPU per frame of `rounds` snapshots to every socket on the direct path; frames refused
    (socket backed up past SNAPSHOT_BACKLOG, as the gateway skips them) are counted."""
    written = skipped = 0
    cpu = time.process_time()
    for _ in range(rounds):
        for ws in socks:
            if write_now(ws, FRAME):
                written += 1
            else:
                skipped += 1
        await asyncio.sleep(0)  # the loop runs between ticks: reads, timers
    cpu = time.process_time() - cpu
    return {
        "us_per_frame": round(cpu / max(1, written) * 1e6, 2),
        "written": written,
        "skipped": skipped,
    }


async def _time_awaited(send: SendAwaited, socks: list[Any], rounds: int) -> float:
    cpu = time.process_time()
    for _ in range(rounds):
        for ws in socks:
            await send(ws, FRAME)
        await asyncio.sleep(0)
    return round((time.process_time() - cpu) / (len(socks) * rounds) * 1e6, 2)


async def _measure(
    url: str,
    clients: int,
    rounds: int,
    socks: list[Any],
    ready: asyncio.Event,
    write_now: WriteNow,
    send: SendAwaited,
) -> dict[str, Any]:
    """Both timings with `clients` sockets of a client process; `received` is how many binary
    frames the clients counted (every frame written on either path must arrive intact)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLIENT, url, str(clients), stdout=subprocess.PIPE
    )
    try:
        await asyncio.wait_for(ready.wait(), 120)
        result = await _time_direct(write_now, socks, rounds)
        result["awaited_us_per_frame"] = await _time_awaited(send, socks, rounds)
        for ws in socks:
            await send_text(ws, DONE)
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        result["received"] = int(out.split()[-1]) if out.split() else 0
        return result
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def send_text(ws: Any, text: str) -> None:
    """Either stack's text send (aiohttp: send_str; websockets: send)."""
    sender = getattr(ws, "send_str", None) or ws.send
    await sender(text)


async def _run_aiohttp(clients: int, rounds: int) -> dict[str, Any]:
    from aiohttp import WSMsgType, web

    from callister.server.frames import write_frame_now
    from callister.server.session import SNAPSHOT_BACKLOG

    socks: list[web.WebSocketResponse] = []
    ready, done = asyncio.Event(), asyncio.Event()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        # as the gateway makes them (server/gateway.py)
        ws = web.WebSocketResponse(heartbeat=None, autoping=False, compress=False)
        await ws.prepare(request)
        socks.append(ws)
        if len(socks) == clients:
            ready.set()
        await done.wait()
        return ws

    def write_now(ws: web.WebSocketResponse, data: bytes) -> bool:
        return write_frame_now(ws, data, WSMsgType.BINARY, SNAPSHOT_BACKLOG)

    async def send(ws: web.WebSocketResponse, data: bytes) -> None:
        await ws.send_bytes(data)

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        url = f"ws://127.0.0.1:{port}/ws"
        return await _measure(url, clients, rounds, socks, ready, write_now, send)
    finally:
        done.set()
        await runner.cleanup()


async def _run_websockets(clients: int, rounds: int) -> dict[str, Any]:
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.protocol import State

    from callister.server.session import SNAPSHOT_BACKLOG

    socks: list[ServerConnection] = []
    ready, done = asyncio.Event(), asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        socks.append(ws)
        if len(socks) == clients:
            ready.set()
        await done.wait()

    def write_now(ws: ServerConnection, data: bytes) -> bool:
        # what write_frame_now does, in websockets' terms
        transport = ws.transport
        if ws.protocol.state is not State.OPEN or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > SNAPSHOT_BACKLOG:
            return False
        ws.protocol.send_binary(data)
        ws.send_data()
        return True

    async def send(ws: ServerConnection, data: bytes) -> None:
        await ws.send(data)

    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        try:
            url = f"ws://127.0.0.1:{port}/ws"
            return await _measure(url, clients, rounds, socks, ready, write_now, send)
        finally:
            done.set()


def run_stack_bench(clients: int = 200, rounds: int = 100) -> dict[str, Any]:
    """Per stack: `us_per_frame` (server CPU per frame on the gateway's direct write path, the
    comparison), `written` and `skipped` (frames the backlog check refused) on that path,
    `awaited_us_per_frame` (the stack's coroutine send, for reference) and `received` (frames
    the clients got over both paths); an `error` instead when the stack is not installed
    (websockets is in the `bench` extra). `ratio`: websockets' cost over aiohttp's. ValueError
    for non-positive sizes."""
    if clients < 1 or rounds < 1:
        raise ValueError("clients and rounds must be >= 1")
    results: dict[str, Any] = {
        "clients": clients,
        "rounds": rounds,
        "frame_bytes": len(FRAME),
        "path": "server.frames.write_frame_now (direct transport write)",
    }
    for name, fn in (("aiohttp", _run_aiohttp), ("websockets", _run_websockets)):
        try:
            results[name] = asyncio.run(fn(clients, rounds))
        except ImportError as exc:
            results[name] = {"error": str(exc)}
    ours, other = results["aiohttp"], results["websockets"]
    if "us_per_frame" in ours and "us_per_frame" in other and ours["us_per_frame"] > 0:
        results["ratio"] = round(other["us_per_frame"] / ours["us_per_frame"], 2)
    return results
