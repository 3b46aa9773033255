"""The gateway's half of views built at the edge (cluster/edge.py has the worker's half and the
`F` item's layout): per zone a `ViewEngine` (the worker's radius and tick rate) and the `ents`
entries the zone's worker sent; per player a slot, given when its session first appears in a
zone's due list (its first update a RESYNC, as on entering a system), moved when it appears in
another zone, dropped on `U`, MOVED, CLOSE and the socket's end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from callister.cluster.edge import FORGET_S, EdgeFrame, parse_edge_frame
from callister.server.metrics import Metrics
from callister.server.settings import Settings
from callister.server.views import ViewEngine

log = logging.getLogger(__name__)

Write = Callable[[str, bytes, bool], bool]
"""write(session id, data, binary): sent to the client's socket now (False: it could not take
it: backed up, closed, or no such session)."""


@dataclass
class _Seat:
    """A player's view at this gateway."""

    zone: str
    slot: int
    introduced: set[int] = field(default_factory=set)


@dataclass
class _Zone:
    engine: ViewEngine
    epoch: int = -1
    entries: dict[int, bytes] = field(default_factory=dict)
    seats: dict[str, _Seat] = field(default_factory=dict)  # by session id
    last: float = 0.0  # (monotonic) when its last frame came


class EdgeViews:
    def __init__(
        self, settings: Settings, metrics: Metrics, write: Write, live: Callable[[str], bool]
    ) -> None:
        """`live(sid)`: the session is attached here and its socket open."""
        self.settings, self.metrics, self.write, self.live = settings, metrics, write, live
        self.zones: dict[str, _Zone] = {}
        self.seats: dict[str, _Seat] = {}  # by session id

    def on_frame(self, payload: bytes | memoryview) -> None:
        """An `F` item from a worker; a malformed one is logged and dropped."""
        try:
            item = parse_edge_frame(payload)
        except ValueError as exc:
            self.metrics.inc("callister_bad_batches_total")
            log.warning("malformed edge frame dropped", extra={"error": str(exc)})
            return
        started = time.perf_counter()
        self._update(item)
        self.metrics.inc("callister_edge_view_seconds_total", time.perf_counter() - started)

    def _zone(self, key: str) -> _Zone:
        zone = self.zones.get(key)
        if zone is None:
            s = self.settings
            zone = self.zones[key] = _Zone(ViewEngine(s.aoi_radius, tick_hz=s.tick_hz))
        return zone

    def _seat(self, zone: _Zone, key: str, sid: str) -> _Seat:
        seat = self.seats.get(sid)
        if seat is not None and seat.zone == key:
            return seat
        self.drop(sid)  # another zone's view (first in this one: a RESYNC)
        seat = self.seats[sid] = zone.seats[sid] = _Seat(key, zone.engine.add_client())
        return seat

    def _update(self, item: EdgeFrame) -> None:
        zone = self._zone(item.key)
        zone.last = time.monotonic()
        if item.epoch != zone.epoch:  # the worker forgot what it sent: so do we
            zone.epoch = item.epoch
            zone.entries.clear()
        changed = []
        for ent_id, entry in item.entries:
            old = zone.entries.get(ent_id)
            zone.entries[ent_id] = entry
            if old is not None and old != entry:
                changed.append(ent_id)
        if changed:  # a mark changed: those who know the ship are told again
            for sid, seat in list(zone.seats.items()):
                known = [i for i in changed if i in seat.introduced]
                if known:
                    self._introduce(sid, seat, zone, known)
        frame = item.frame
        ids = frame.ids
        due: list[tuple[str, _Seat]] = []
        ships = []
        for sid, ship in item.due:
            if not self.live(sid):  # gone meanwhile (its CLOSE crossed the frame)
                self.drop(sid)
                continue
            due.append((sid, self._seat(zone, item.key, sid)))
            ships.append(ship)
        if not len(ids) or not due:
            zone.engine.update_frame(frame, [], np.zeros(0), np.zeros(0))
            return
        wanted = np.array(ships, dtype=np.uint64)
        rows = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
        found = ids[rows] == wanted  # between systems, or destroyed: no view this tick
        due = [d for d, ok in zip(due, found.tolist(), strict=True) if ok]
        rows = rows[found]
        slots = np.array([seat.slot for _, seat in due], dtype=np.int64)
        x = np.asarray(frame.x, dtype=np.float64)[rows]
        y = np.asarray(frame.y, dtype=np.float64)[rows]
        batch = zone.engine.update_frame(frame, slots, x, y)
        data = memoryview(batch.data)
        starts, ends = batch.starts.tolist(), batch.ends.tolist()
        fresh_starts, fresh_ends = batch.fresh_starts.tolist(), batch.fresh_ends.tolist()
        built = 0
        for i, (sid, seat) in enumerate(due):
            if fresh_ends[i] > fresh_starts[i]:
                fresh = batch.fresh_ids[fresh_starts[i] : fresh_ends[i]].tolist()
                new_ids = [e for e in fresh if e not in seat.introduced]
                if new_ids:
                    self._introduce(sid, seat, zone, new_ids)
            built += 1
            if not self.write(sid, bytes(data[starts[i] : ends[i]]), True):
                zone.engine.resync(seat.slot)  # backed up: its next update is a RESYNC
        self.metrics.inc("callister_edge_updates_total", built)

    def _introduce(self, sid: str, seat: _Seat, zone: _Zone, ids: list[int]) -> None:
        entries = []
        for ent_id in ids:
            entry = zone.entries.get(ent_id)
            if entry:  # (projectiles and missiles need no introduction)
                seat.introduced.add(ent_id)
                entries.append(entry)
        if entries:
            self.write(sid, b'{"t":"ents","ents":[' + b",".join(entries) + b"]}", False)

    def resync(self, sid: str) -> None:
        """The client asked for its whole view: its next update is a RESYNC."""
        seat = self.seats.get(sid)
        zone = self.zones.get(seat.zone) if seat is not None else None
        if seat is not None and zone is not None:
            zone.engine.resync(seat.slot)

    def drop(self, sid: str) -> None:
        """The session's view is no longer built here (or in that zone)."""
        seat = self.seats.pop(sid, None)
        if seat is None:
            return
        zone = self.zones.get(seat.zone)
        if zone is None:
            return
        zone.seats.pop(sid, None)
        zone.engine.remove_client(seat.slot)
        # (the zone's entries stay until `sweep`: its worker remembers sending them)

    def sweep(self) -> None:
        """Forget zones nobody here watches that sent no frame for twice FORGET_S (their
        workers forgot what they sent after FORGET_S: a new epoch if frames come again)."""
        now = time.monotonic()
        for key in [
            k for k, z in self.zones.items() if not z.seats and now - z.last > 2 * FORGET_S
        ]:
            del self.zones[key]

    @property
    def sessions(self) -> int:
        return len(self.seats)
