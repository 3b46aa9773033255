"""The crowd load generator against a v2 server on loopback: worker processes connect every
client, placement is called with every ship before the walk, every client sends binary controls
and reads update headers, and the report carries every field issue 17 asks for."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from tests.bench.v2server import V2Server

from callister.bench.crowd_load import LoadConfig, Placement, check_loopback, run_crowd_load

FIELDS = (
    "clients", "connected", "updates_per_client_per_s", "update_interval_ms", "bytes_per_update",
    "visible_per_client", "server_cpu_ms_per_client_s", "loadgen_cpu_percent", "tick_ms",
    "other_zone_tick_hz",
)  # fmt: skip


async def test_crowd_load_runs_the_workload_and_reports() -> None:
    clients = 16
    server = V2Server(crowd=clients)
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stop = asyncio.Event()
    ticker = asyncio.create_task(server.tick_loop(stop))
    placed: list[Placement] = []

    def place(p: Placement) -> tuple[float, float]:
        placed.append(p)
        return server.centre()

    cfg = LoadConfig(
        url=f"http://127.0.0.1:{port}", clients=clients, workers=2, seconds=3.0, settle_s=1.0,
        connect_s=60.0,
    )  # fmt: skip
    try:
        report: dict[str, Any] = await asyncio.to_thread(run_crowd_load, cfg, place)
        controls = dict(server.controls)
    finally:
        stop.set()
        await ticker
        await runner.cleanup()
    assert set(FIELDS) <= set(report)
    assert report["clients"] == clients and report["connected"] == clients
    assert report["errors"] == {} and report["failures"] == []
    # placement got every crowd ship and the observer before anyone walked
    assert len(placed) == 1
    assert len(placed[0].crowd) == clients and placed[0].observer is not None
    ships = [s for _, _, s in placed[0].crowd] + [placed[0].observer[2]]
    # everyone sent binary controls the server decoded, and read updates
    assert all(controls.get(ship, 0) > 0 for ship in ships), controls
    assert report["updates_per_client_per_s"] > 0
    assert report["bytes_per_update"] >= 26  # at least the header
    assert 1 <= report["visible_per_client"] <= clients  # the crowd, never the observer
    assert report["update_interval_ms"]["p50"] > 0
    assert report["other_zone_tick_hz"] > 0 and report["crowd_zone_tick_hz"] > 0
    assert report["server_cpu_ms_per_client_s"] > 0
    assert report["loadgen_cpu_percent"] > 0
    assert report["tick_ms"]["p50"] > 0


def test_only_loopback_and_sane_sizes() -> None:
    for url in ("http://10.0.0.1:8080", "ws://127.0.0.1:1/ws", "http://example.com"):
        with pytest.raises(ValueError, match="loopback"):
            check_loopback(url)
    assert check_loopback("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    for bad in ({"clients": 0}, {"workers": 0}, {"seconds": 0.0}):
        with pytest.raises(ValueError):
            run_crowd_load(LoadConfig(url="http://127.0.0.1:1", **{"clients": 1, **bad}))


async def test_a_refused_upgrade_fails_the_run_with_the_reason() -> None:
    """Every client registers but the server refuses the WebSocket upgrade (403): the run ends
    at once with the handshake's own words, not a hang until connect_s."""

    async def register(request: web.Request) -> web.Response:
        return web.json_response({"token": "t"}, status=201)

    async def ws(request: web.Request) -> web.Response:
        return web.Response(status=403, text="no sockets today")

    app = web.Application()
    app.router.add_post("/api/register", register)
    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    cfg = LoadConfig(url=f"http://127.0.0.1:{port}", clients=3, workers=1, connect_s=20.0)
    try:
        with pytest.raises(RuntimeError, match=r"no client connected.*HTTP/1\.1 403 Forbidden"):
            await asyncio.wait_for(asyncio.to_thread(run_crowd_load, cfg), 60)
    finally:
        await runner.cleanup()
