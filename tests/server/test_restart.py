"""A real server process: SIGTERM checkpoints and exits cleanly, SIGKILL loses at most the last
checkpoint interval, and a restart gives every player their ship back. On SQLite and PostgreSQL."""

from __future__ import annotations

import math
import signal
from pathlib import Path

import aiohttp
import pytest
from tests.server.wsclient import pump_until, undock

from callister.bench.net import bench_env, free_port, start_server
from callister.bots.client import Bot


def env() -> dict[str, str]:
    return bench_env({"CALLISTER_HOME_SYSTEMS": "1", "CALLISTER_CHECKPOINT_INTERVAL_S": "0.5"})


async def fly_a_bit(bot: Bot) -> tuple[float, float]:
    await undock(bot)
    await bot.send({"t": "input", "ship": bot.ship, "thrust": 1.0, "turn": 0.2})
    await bot.pump(1.5)
    await bot.send({"t": "input", "ship": bot.ship, "thrust": 0.0, "turn": 0.0, "brake": True})
    await bot.pump(6.0)  # a shuttle stops from full speed in under 5 s
    return bot.pos


@pytest.mark.slow
async def test_sigterm_checkpoints_and_restart_restores(store_url: str, tmp_path: Path) -> None:
    port = free_port()
    server = start_server(port, store_url, env(), tmp_path / "s1.log")
    async with aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{port}"
        bot = Bot(base, f"ws://127.0.0.1:{port}/ws", "Keeper", session=http, track_view=True)
        await bot.register()
        await bot.connect()
        ship = bot.ship
        where = await fly_a_bit(bot)
        assert math.hypot(*where) > 0
        server.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionError):
            await bot.pump(10.0)
        assert bot.bye == "server shutting down"  # told why before the socket closed
        assert server.wait(20) == 0
        server = start_server(port, store_url, env(), tmp_path / "s2.log")
        try:
            await bot.connect()  # the token survived the restart too
            await pump_until([bot], lambda: bot.ship in bot.positions())
            assert bot.ship == ship
            assert not bot.docked
            assert math.dist(bot.positions()[ship], where) < 5.0
            # a new player's ship id is fresh: ids are never reused across restarts
            other = Bot(base, f"ws://127.0.0.1:{port}/ws", "Newcomer", session=http)
            await other.register()
            await other.connect()
            assert other.ship > ship
            await other.close()
            await bot.close()
        finally:
            server.terminate()
            server.wait(20)


@pytest.mark.slow
async def test_sigkill_loses_at_most_the_checkpoint_interval(
    store_url: str, tmp_path: Path
) -> None:
    port = free_port()
    server = start_server(port, store_url, env(), tmp_path / "s1.log")
    async with aiohttp.ClientSession() as http:
        bot = Bot(
            f"http://127.0.0.1:{port}",
            f"ws://127.0.0.1:{port}/ws",
            "Crash",
            session=http,
            track_view=True,
        )
        await bot.register()
        await bot.connect()
        ship = bot.ship
        where = await fly_a_bit(bot)  # stopped for 6 s: several checkpoints hold this position
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        server = start_server(port, store_url, env(), tmp_path / "s2.log")
        try:
            await bot.connect()
            await pump_until([bot], lambda: bot.ship in bot.positions())
            assert bot.ship == ship
            assert math.dist(bot.positions()[ship], where) < 5.0
            await bot.close()
        finally:
            server.terminate()
            server.wait(20)
