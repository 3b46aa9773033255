"""The living universe on a real server: what NPCs cost the tick.

`callister bench living --seconds S --density D --homes H --players P` starts the real
server in this process (`server.app.build_app` on a temporary SQLite database, `H` home
systems, `npc_density` D), connects P players (real WebSocket clients, `bots.client.Bot`)
that undock in their home system and drift, and runs S seconds of wall time. It reports, over
the ticks after the players undocked:

- `tick_ms` (`p50`, `p99`, `max`): the world's full tick (simulation, agents, snapshots), from
  the server's own metrics window;
- `agents_ms` (`p50`, `p99`, `max`, `mean`): the agent runtime's share of each tick
  (`AgentRuntime.tick`: the pool's thinking, the captains' plans, the living universe's
  bookkeeping), measured inside the tick;
- `offscreen_step_ms` (`p50`, `p99`, `max`, `mean`) and `offscreen_steps`: the off-screen
  simulation's steps, which run on the store-writer thread, never on the tick;
- `clones` (living clones by kind), `live_npcs` (flown by captains in watched zones),
  `moving_npcs_seen` (the most NPC ships moving at once in the players' zones), `startup_s`
  (server start, births included), `births_transactions`, `ledger_balanced`.

Run it with `--density 0` for the same server without NPCs (the "before").
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from callister.bench.net import free_port
from callister.bots.client import Bot
from callister.server.app import SERVICES, build_app
from callister.server.metrics import percentiles
from callister.server.settings import Settings


async def _run(seconds: float, density: float, homes: int, players: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="callister-living-"))
    settings = Settings(
        db=f"sqlite:///{tmp}/living.db",
        home_systems=homes,
        npc_density=density,
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        register_per_minute=10_000,
        log_json=False,
    )
    started = time.perf_counter()
    app = build_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    startup = time.perf_counter() - started
    world = app[SERVICES].world
    http_url, ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
    moving_max = 0
    try:
        world.agents.tick_ms.clear()  # (bounded windows: the run is measured from here)
        world.agents.tick_cpu_ms.clear()
        async with aiohttp.ClientSession() as http:
            bots = [
                Bot(http_url, ws_url, f"watcher{i}", session=http, jump_every_s=0)
                for i in range(players)
            ]
            for bot in bots:
                await bot.register()
                await bot.connect()
                await bot.send({"t": "undock", "ship": bot.ship})
            since = world.tick
            agents_since = len(world.agents.tick_ms)
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                await asyncio.gather(*(b.pump(1.0) for b in bots))
                moving_max = max(moving_max, _moving(world))
            ticks = world.tick - since
            tick_ms = world.metrics.tick_percentiles(since)
            agents = list(world.agents.tick_ms)[agents_since:]
            agents_cpu = list(world.agents.tick_cpu_ms)[agents_since:]
            living = world.agents.living
            steps = list(living.step_ms)
            audit = await world.writer.call(world.economy.audit)
            births = await world.writer.call(_births, world)
            result = {
                "seconds": seconds,
                "density": density,
                "homes": homes,
                "players": players,
                "ticks": ticks,
                "tick_ms": percentiles(list(_window(world, since)), 3) or tick_ms,
                "agents_ms": percentiles(agents, 3, mean=True),
                "agents_cpu_ms": percentiles(agents_cpu, 3, mean=True),
                "offscreen_steps": living.steps,
                "offscreen_step_ms": percentiles(steps, 2, mean=True),
                "clones": living.population(),
                "live_npcs": len(world.agents.captains),
                "moving_npcs_seen": moving_max,
                "startup_s": round(startup, 2),
                "births_transactions": births,
                "ledger_balanced": bool(audit["balanced"]),
            }
            for bot in bots:
                await bot.close()
    finally:
        await runner.cleanup()
    return result


def _window(world: Any, since: int) -> list[float]:
    m = world.metrics
    return [ms for t, ms in zip(m.tick_ids, m.tick_ms, strict=True) if t > since]


def _births(world: Any) -> int:
    row = world.store.db.scalar(
        "SELECT COUNT(*) FROM ledger_txns WHERE world = ? AND kind = ?", (world.name, "npc_birth")
    )
    return int(row or 0)


def _moving(world: Any) -> int:
    n = 0
    for key in world.agents.living.awake:
        handle = world.zones.get(key)
        if handle is None:
            continue
        for ship in world.agents.by_zone.get(key, set()):
            if handle.zone.has_ship(ship):
                st = handle.zone.ship_state(ship)
                if st.docked_at is None and math.hypot(st.vx, st.vy) > 3.0:
                    n += 1
    return n


def run_living_bench(
    seconds: float = 60.0, density: float = 1.0, homes: int = 4, players: int = 2
) -> dict[str, Any]:
    """Run the measurement (module docstring) and return its figures."""
    if seconds <= 0 or density < 0 or homes < 1 or players < 1:
        raise ValueError("seconds > 0, density >= 0, homes >= 1 and players >= 1")
    return asyncio.run(_run(seconds, density, homes, players))
