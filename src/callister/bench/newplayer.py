"""`callister bench newplayer`: a scripted new player's first minutes on a fresh server.

A real `callister serve` (temporary SQLite database, default settings) and one player over a
real WebSocket, doing only what a player can do: register, follow the tutorial's objectives
(undock, fly to the marker by autopilot, mine, dock, sell, take a contract from the mission
board, jump), then, with `--strand`, burn the tank dry in open space and get out of it the
way the HUD offers (a rescue call, answered by the station's tug when nobody else comes).

Measured: `tutorial_completed`, `seconds_to_first_profit` (wall seconds from the welcome to
the first sale's receipt that the tutorial counted as a profit), `ships_seen_first_90s`
(other ships in the player's view during the first 90 s), `dead_ends` (once a second the
player's situation, from what the client knows, is checked with the server's own
`missions.rescue.dead_end`: no action leads towards progress), `missions_offered` (contracts
on the first board read), and timings per step.
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from callister.bench.net import bench_env, free_port, start_server, stop_server
from callister.bots.client import Bot
from callister.content import load_content
from callister.missions.rescue import Situation, dead_end
from callister.sim.rules import MINING_RANGE

STEP_TIMEOUT_S = 120.0


class Player(Bot):
    """A bot that keeps every JSON message, the tutorial and the ships it has seen."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: list[dict[str, Any]] = []
        self.tutorial: dict[str, Any] | None = None
        self.welcomed_at = 0.0
        self.seen: set[int] = set()
        self.missions: dict[str, Any] | None = None
        self.rescue_msgs: list[dict[str, Any]] = []

    def _on_frame(self, data: str | bytes) -> None:
        super()._on_frame(data)
        if isinstance(data, bytes):
            if self.welcomed_at and time.monotonic() - self.welcomed_at <= 90:
                for record in self.view:
                    if int(record["kind"]) == 1 and int(record["id"]) != self.ship:
                        self.seen.add(int(record["id"]))
            return
        msg = json.loads(data)
        self.messages.append(msg)
        kind = msg.get("t")
        if kind == "welcome":
            self.welcomed_at = time.monotonic()
        elif kind == "objectives" and msg.get("tutorial") is not None:
            self.tutorial = msg["tutorial"]
        elif kind == "tutorial":
            self.tutorial = msg
        elif kind == "missions":
            self.missions = msg
        elif kind in ("rescue", "rescue_offers"):
            self.rescue_msgs.append(msg)

    @property
    def step(self) -> str | None:
        return None if self.tutorial is None else self.tutorial.get("step")

    def events_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("kind") == kind]


class Script:
    """The new player's script (see the module docstring)."""

    def __init__(self, bot: Player) -> None:
        self.bot = bot
        self.content = load_content()
        self.dead_ends = 0
        self.samples = 0
        self.first_profit_s: float | None = None
        self.steps: dict[str, float] = {}
        self.stop = False

    # ------------------------------------------------------------------ waiting
    async def until(self, cond: Any, timeout: float = STEP_TIMEOUT_S) -> bool:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                return False
            await self.bot.pump(0.05)
        return True

    async def step_done(self, step: str, timeout: float = STEP_TIMEOUT_S) -> bool:
        bot = self.bot
        ok = await self.until(lambda: bot.tutorial is not None and bot.step != step, timeout)
        if ok:
            self.steps[step] = round(time.monotonic() - bot.welcomed_at, 1)
        return ok

    async def fly(self, to: dict[str, Any], timeout: float = STEP_TIMEOUT_S) -> bool:
        bot = self.bot
        before = len(bot.events_of("autopilot_arrived")) + len(bot.events_of("autopilot_cancelled"))
        await bot.send({"t": "autopilot", "ship": bot.ship, "to": to})
        return await self.until(
            lambda: (
                len(bot.events_of("autopilot_arrived")) + len(bot.events_of("autopilot_cancelled"))
                > before
            ),
            timeout,
        )

    # ------------------------------------------------------------------ dead ends
    async def watch_dead_ends(self) -> None:
        """Once a second: is the player in a dead end (from what the client knows)?"""
        while not self.stop:
            situation = self.situation()
            if situation is not None:
                self.samples += 1
                if dead_end(situation):
                    self.dead_ends += 1
            await asyncio.sleep(1.0)

    def situation(self) -> Situation | None:
        bot = self.bot
        s, system = bot.status, bot.system
        if not s or system is None or "fuel" not in s:
            return None
        hull = self.content.hulls.get(bot.welcome.get("hull", ""), self.content.starter_hull)
        fuel, credits = float(s["fuel"]), int(s.get("credits", 0))
        cargo_used = int(s.get("cargo_used", 0))
        if bot.docked:
            near = min(system["stations"], key=lambda st: math.dist(bot.pos, (st["x"], st["y"])))
            home = bot.welcome.get("home") == [system["x"], system["y"]] and near[
                "index"
            ] == bot.welcome.get("home_station")
            return Situation(
                hull, True, fuel, credits, cargo_used, at_home=home,
                services=tuple(near["services"]), contracts=True,
            )  # fmt: skip
        refuel = [
            math.dist(bot.pos, (st["x"], st["y"]))
            for st in system["stations"]
            if "refuel" in st["services"] and not st.get("destroyed")
        ]
        fields = [
            max(0.0, math.dist(bot.pos, (f["x"], f["y"])) - f["radius"])
            for f in system["fields"]
            if f["richness"] > 0
        ]
        return Situation(
            hull, False, fuel, credits, cargo_used,
            refuel_distance=min(refuel) if refuel else None,
            field_distance=min(fields) if fields else None,
            links=bool(system["links"]),
            responders=1 if system["stations"] else 0,  # a station's tug answers a call
        )  # fmt: skip

    # ------------------------------------------------------------------ the tutorial
    async def tutorial(self) -> bool:
        bot = self.bot
        if not await self.until(lambda: bot.tutorial is not None, 30):
            return False
        for _ in range(12):  # each step at most once, the loop ends with the tutorial
            step = bot.step
            if step is None or bot.tutorial is None or bot.tutorial.get("finished"):
                return True
            handler = getattr(self, f"do_{step}")
            if not await handler():
                return False
        return bool(bot.tutorial and bot.tutorial.get("finished"))

    def marker(self) -> dict[str, Any]:
        assert self.bot.tutorial is not None
        objective = self.bot.tutorial.get("objective") or {}
        return objective.get("marker") or {}

    async def do_undock(self) -> bool:
        bot = self.bot
        await bot.send({"t": "undock", "ship": bot.ship})
        return await self.step_done("undock")

    async def do_fly(self) -> bool:
        m = self.marker()
        await self.fly({"kind": "point", "x": m["x"], "y": m["y"]})
        return await self.step_done("fly", 30)

    async def do_mine(self) -> bool:
        bot = self.bot
        m = self.marker()
        assert bot.system is not None
        await self.fly({"kind": "field", "index": m["index"]})
        rocks = []
        n = 0
        for f in bot.system["fields"]:
            for r in f["rocks"]:
                if f["index"] == m["index"]:
                    rocks.append((n, r))
                n += 1
        while bot.step == "mine":
            index, rock = min(
                rocks, key=lambda ir: math.dist(bot.pos, (ir[1]["x"], ir[1]["y"])) - ir[1]["r"]
            )
            gap = math.dist(bot.pos, (rock["x"], rock["y"])) - rock["r"]
            if gap > MINING_RANGE - 20:  # closer: a point just off the rock's surface
                d = math.dist(bot.pos, (rock["x"], rock["y"])) or 1.0
                out = rock["r"] + 60
                x = rock["x"] + (bot.pos[0] - rock["x"]) / d * out
                y = rock["y"] + (bot.pos[1] - rock["y"]) / d * out
                await self.fly({"kind": "point", "x": round(x), "y": round(y)}, 60)
            await bot.send({"t": "mine", "ship": bot.ship, "rock": index})
            if await self.step_done("mine", 40):
                break
            rocks = [r for r in rocks if r[0] != index] or rocks
        await bot.send({"t": "mine", "ship": bot.ship, "rock": None})
        return bot.step != "mine"

    async def do_dock(self) -> bool:
        bot = self.bot
        m = self.marker()
        index = m.get("index", bot.welcome.get("home_station", 0))
        await self.fly({"kind": "station", "index": index})
        for _ in range(20):
            await bot.send({"t": "dock", "ship": bot.ship, "station": index})
            if await self.until(lambda: bot.docked, 3):
                break
        return await self.step_done("dock", 30)

    async def do_sell(self) -> bool:
        bot = self.bot
        for item, qty in dict((bot.status or {}).get("cargo", {})).items():
            receipt, _ = await bot.request({"t": "trade", "item": item, "qty": qty, "side": "sell"})
            if receipt is not None and await self.step_done("sell", 10):
                self.first_profit_s = round(time.monotonic() - bot.welcomed_at, 1)
                return True
        return False

    async def do_contract(self) -> bool:
        bot = self.bot
        if not bot.docked:
            await self.do_dock()
        await bot.send({"t": "missions", "ship": bot.ship})
        if not await self.until(lambda: bot.missions is not None, 30):
            return False
        assert bot.missions is not None
        credits = int((bot.status or {}).get("credits", 0))
        rank = bot.missions["terms"]["max_tier"]
        for c in bot.missions["contracts"]:
            if c["tier"] <= rank and c["collateral"] <= credits:
                await bot.send({"t": "accept", "ship": bot.ship, "contract": c["id"]})
                if await self.step_done("contract", 15):
                    return True
        return False

    async def do_jump(self) -> bool:
        bot = self.bot
        m = self.marker()
        to = m.get("to") or (bot.system or {}).get("links", [[0, 0]])[0]
        if bot.docked:
            await bot.send({"t": "undock", "ship": bot.ship})
            await self.until(lambda: not bot.docked, 10)
        await bot.send({"t": "jump", "ship": bot.ship, "to": to})
        return await self.step_done("jump", 60)

    # ------------------------------------------------------------------ running dry
    async def strand(self) -> dict[str, Any]:
        """Burn the tank dry away from stations, then take the way out the HUD offers."""
        bot = self.bot
        started = time.monotonic()
        if bot.docked:
            await bot.send({"t": "undock", "ship": bot.ship})
            await self.until(lambda: not bot.docked, 10)
        # full thrust, turning gently, until the tank is empty (the server says fuel_empty)
        await bot.send(
            {"t": "input", "ship": bot.ship, "thrust": 1.0, "turn": 0.05, "brake": False}
        )
        dry = await self.until(lambda: bool(bot.events_of("fuel_empty")), 150)
        await bot.send({"t": "input", "ship": bot.ship, "thrust": 0, "turn": 0, "brake": False})
        if not dry:
            return {"stranded": False}
        ways = await self.until(lambda: bool((bot.status or {}).get("ways_out")), 10)
        await bot.send({"t": "distress", "ship": bot.ship})
        await self.until(lambda: any(m["t"] == "rescue_offers" for m in bot.rescue_msgs), 10)
        offers = next(m for m in bot.rescue_msgs if m["t"] == "rescue_offers")["offers"]
        kind = "tow" if any(o["kind"] == "tow" and o["affordable"] for o in offers) else "fuel"
        await bot.send({"t": "rescue", "ship": bot.ship, "op": "take", "kind": kind})
        done = await self.until(
            lambda: any(m["t"] == "rescue" and m.get("event") == "done" for m in bot.rescue_msgs),
            150,
        )
        if done and kind == "tow":
            await self.until(lambda: bot.docked, 10)
        return {
            "stranded": True,
            "ways_out_shown": ways,
            "rescue": kind,
            "rescued": done,
            "rescue_seconds": round(time.monotonic() - started, 1),
            "docked_after": bot.docked,
            "fuel_after": (bot.status or {}).get("fuel"),
        }


async def _play(http_url: str, ws_url: str, strand: bool) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        bot = Player(http_url, ws_url, "Newcomer", session=http, track_view=True, jump_every_s=0)
        await bot.register()
        await bot.connect()
        script = Script(bot)
        watcher = asyncio.ensure_future(script.watch_dead_ends())
        try:
            completed = await script.tutorial()
            missions_offered = len((bot.missions or {}).get("contracts", []))
            stranded: dict[str, Any] = {}
            if strand:
                stranded = await script.strand()
        finally:
            script.stop = True
            await watcher
            await bot.close()
    errors: dict[str, int] = dict(bot.stats.error_codes)
    return {
        "tutorial_completed": completed,
        "seconds_to_first_profit": script.first_profit_s,
        "ships_seen_first_90s": len(bot.seen),
        "dead_ends": script.dead_ends,
        "situations_checked": script.samples,
        "missions_offered": missions_offered,
        "tutorial_steps_s": script.steps,
        "strand": stranded,
        "errors": errors,
    }


def run_newplayer_bench(strand: bool = True, db: str | None = None) -> dict[str, Any]:
    """Start a fresh server, play, stop the server; the result as a dict (module docstring)."""
    tmp = Path(tempfile.mkdtemp(prefix="callister-newplayer-"))
    port = free_port()
    db = db or f"sqlite:///{tmp}/bench.db"
    server = start_server(port, db, bench_env(), tmp / "server.log")
    started = time.monotonic()
    try:
        result = asyncio.run(_play(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws", strand))
    finally:
        stop_server(server)
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    result["db"] = db.split("://")[0]
    return result
