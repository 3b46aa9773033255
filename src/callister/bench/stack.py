"""`callister bench stack`: the server stack choice, measured.

The gateway's cost is dominated by sending many small binary frames to many sockets (see
docs/architecture.md). This measures the server-side CPU per frame sent for two asyncio stacks,
aiohttp and websockets, with the same clients (aiohttp, in another process) on loopback.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

FRAME = bytes(200)  # a typical snapshot: header + ~7 records

CLIENT = r"""
import asyncio, sys, aiohttp
async def main(url, n, total):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        socks = [await s.ws_connect(url) for _ in range(n)]
        print("ready", flush=True)
        async def read(ws):
            got = 0
            while got < total:
                m = await ws.receive()
                if m.type != aiohttp.WSMsgType.BINARY: break
                got += 1
        await asyncio.gather(*(read(w) for w in socks))
        import os; os._exit(0)  # no close handshakes: the server is not reading any more
asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


async def _drive(send_all: Any, clients: list[Any], rounds: int) -> float:
    """CPU seconds the server process spends sending `rounds` frames to every client."""
    cpu = time.process_time()
    for _ in range(rounds):
        await send_all(clients)
        await asyncio.sleep(0)
    return time.process_time() - cpu


async def _run_aiohttp(clients: int, rounds: int) -> float:
    from aiohttp import web

    socks: list[web.WebSocketResponse] = []
    ready = asyncio.Event()
    done = asyncio.Event()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        socks.append(ws)
        if len(socks) == clients:
            ready.set()
        await done.wait()
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def send_all(ws_list: list[web.WebSocketResponse]) -> None:
        for ws in ws_list:
            await ws.send_bytes(FRAME)

    cpu = await _with_clients(f"ws://127.0.0.1:{port}/ws", clients, rounds, ready, socks, send_all)
    done.set()
    await runner.cleanup()
    return cpu


async def _run_websockets(clients: int, rounds: int) -> float:
    from websockets.asyncio.server import serve

    socks: list[Any] = []
    ready = asyncio.Event()
    done = asyncio.Event()

    async def handler(ws: Any) -> None:
        socks.append(ws)
        if len(socks) == clients:
            ready.set()
        await done.wait()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]

        async def send_all(ws_list: list[Any]) -> None:
            for ws in ws_list:
                await ws.send(FRAME)

        cpu = await _with_clients(
            f"ws://127.0.0.1:{port}/ws", clients, rounds, ready, socks, send_all
        )
        done.set()
    return cpu


async def _with_clients(
    url: str, clients: int, rounds: int, ready: asyncio.Event, socks: list[Any], send_all: Any
) -> float:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLIENT,
        url,
        str(clients),
        str(rounds),
        stdout=subprocess.PIPE,
    )
    await asyncio.wait_for(ready.wait(), 60)
    cpu = await _drive(send_all, socks, rounds)
    await asyncio.wait_for(proc.wait(), 120)
    return cpu


def run_stack_bench(clients: int = 200, rounds: int = 100) -> dict[str, Any]:
    results: dict[str, Any] = {"clients": clients, "rounds": rounds, "frame_bytes": len(FRAME)}
    for name, fn in (("aiohttp", _run_aiohttp), ("websockets", _run_websockets)):
        try:
            cpu = asyncio.run(fn(clients, rounds))
            results[name] = {"us_per_frame": round(cpu / (clients * rounds) * 1e6, 2)}
        except ImportError as exc:
            results[name] = {"error": str(exc)}
    return results


if __name__ == "__main__":
    print(json.dumps(run_stack_bench()))
