"""Which workers are alive, how loaded they are, and who should own a zone nobody holds.

Every worker publishes a heartbeat (`cl.hb.worker`) twice a second with its zones and their
load; every process that places zones (gateways, workers handing a ship off) listens. Liveness
here only guides placement: ownership itself is the lease (leases.py), so a stale view costs at
worst a refused claim and a retry, never two owners.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import nats.errors

from callister.cluster.remote import WORKER_DEAD_AFTER, claim_subject, move_subject

log = logging.getLogger(__name__)


@dataclass(slots=True)
class WorkerInfo:
    name: str
    seen: float  # monotonic
    zones: dict[str, float] = field(default_factory=dict)  # zone -> load (ships)
    players: int = 0
    capacity: float = 1.0
    draining: bool = False
    tick_ms: dict[str, float] = field(default_factory=dict)

    @property
    def load(self) -> float:
        # an empty zone still costs its NPCs and its bookkeeping: count it as one ship
        return sum(max(1.0, v) for v in self.zones.values())


class Directory:
    def __init__(self, request: Any, *, dead_after: float = WORKER_DEAD_AFTER) -> None:
        """`request(subject, data, timeout)`: a NATS request returning the reply's bytes."""
        self._request = request
        self.dead_after = dead_after
        self.workers: dict[str, WorkerInfo] = {}

    def on_heartbeat(self, data: bytes) -> None:
        try:
            beat = json.loads(data)
            name = str(beat["worker"])
            zones = {str(k): float(v) for k, v in dict(beat.get("zones", {})).items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("malformed worker heartbeat ignored")
            return
        info = self.workers.get(name)
        if info is None:
            info = self.workers[name] = WorkerInfo(name, time.monotonic())
        info.seen = time.monotonic()
        info.zones = zones
        info.players = int(beat.get("players", 0) or 0)
        info.capacity = max(0.1, float(beat.get("capacity", 1.0) or 1.0))
        info.draining = bool(beat.get("draining", False))
        ticks = beat.get("tick_ms")
        if isinstance(ticks, dict):
            info.tick_ms = {
                str(k): float(v) for k, v in ticks.items() if isinstance(v, int | float)
            }

    def alive(self) -> list[WorkerInfo]:
        now = time.monotonic()
        return [w for w in self.workers.values() if now - w.seen < self.dead_after]

    def is_alive(self, name: str) -> bool:
        info = self.workers.get(name)
        return info is not None and time.monotonic() - info.seen < self.dead_after

    def owner_hint(self, zone: str) -> str | None:
        """The live worker whose last heartbeat listed `zone` (a hint: the lease decides)."""
        for w in self.alive():
            if zone in w.zones:
                return w.name
        return None

    def least_loaded(self, exclude: tuple[str, ...] = ()) -> str | None:
        candidates = [w for w in self.alive() if w.name not in exclude and not w.draining]
        if not candidates:
            return None
        # load relative to capacity; ties by name so every process picks the same worker
        return min(candidates, key=lambda w: ((w.load + 1.0) / w.capacity, w.name)).name

    async def claim(self, worker: str, zone: str, timeout: float = 8.0) -> dict[str, Any]:
        """Ask `worker` to take `zone`; its answer ({"ok": bool, "holder": ..., "error": ...})."""
        try:
            reply = await self._request(
                claim_subject(worker), json.dumps({"zone": zone}).encode(), timeout
            )
            answer = json.loads(reply)
            return answer if isinstance(answer, dict) else {"ok": False, "error": "bad reply"}
        except (TimeoutError, nats.errors.Error, ValueError) as exc:
            return {"ok": False, "error": repr(exc)}

    async def place(self, zone: str, exclude: tuple[str, ...] = ()) -> str | None:
        """Make sure some worker owns `zone`; return its name (None: no worker could)."""
        hint = self.owner_hint(zone)
        if hint is not None:
            return hint
        tried: set[str] = set(exclude)
        for _ in range(3):
            worker = self.least_loaded(tuple(tried))
            if worker is None:
                return None
            answer = await self.claim(worker, zone)
            if answer.get("ok"):
                info = self.workers.get(worker)
                if info is not None:
                    info.zones.setdefault(zone, 0.0)  # until its next heartbeat says so
                return worker
            holder = answer.get("holder")
            if holder:
                return str(holder)
            tried.add(worker)
        return None

    async def move(self, zone: str, to: str | None = None) -> dict[str, Any]:
        """Ask `zone`'s owner to hand it live to `to` (default: the least-loaded other worker):
        its answer, or {"ok": False, "error": ...} saying what went wrong."""
        try:
            reply = await self._request(move_subject(zone), json.dumps({"to": to}).encode(), 30.0)
            answer = json.loads(reply)
        except nats.errors.NoRespondersError:
            return {"ok": False, "error": f"no worker owns {zone} (it is not loaded)"}
        except (TimeoutError, nats.errors.Error, ValueError) as exc:
            return {"ok": False, "error": f"the move did not answer: {exc!r}"}
        return answer if isinstance(answer, dict) else {"ok": False, "error": "bad answer"}
