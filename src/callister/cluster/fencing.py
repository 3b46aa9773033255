"""Fenced writes: zone state in the database that a worker without the zone's lease cannot touch.

The tables and the rule live in the store's migration 8 (`cluster`): per zone, the highest
fencing token seen (`cluster_fences`), and triggers on every table of zone state
(`cluster_ships`, `cluster_checkpoints`) that refuse a row whose token is below its zone's.
The refusal is the database's, not this module's: a writer that skipped the checks would
still be refused. The SQL is the store's `ClusterRepository` (store/cluster.py); this module
adds what the cluster knows and the store does not: ship states (`ShipState`, in the codec's
text).

The protocol, for a worker that acquired a zone's lease with token T (leases.py):

1. `cluster.claim(zone, T, owner)` before reading anything: it raises the zone's fence to T (a
   conditional upsert: ``... WHERE cluster_fences.token <= T``), waiting for any write of the
   previous owner that is in flight (row lock). From its commit on, every write with a lower
   token (or the same token from another owner) is refused (`store.Fenced`); everything
   committed before it is visible.
2. `load_zone(cluster, zone)`: the last checkpoint and the ships resident there.
3. Each checkpoint: `checkpoint(cluster, zone, T, owner, tick=..., ships=...)`, one transaction
   that first re-checks the fence (`Fenced` if a newer owner claimed it), then writes.

`cluster` is a `ClusterRepository`, on a connection of the worker's own
(`Database.connect_separate()`). Calls are synchronous: run them off the event loop (the
worker's fence thread, or ``asyncio.to_thread``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from callister.cluster.codec import decode_ship, encode_ship
from callister.sim.events import ShipState
from callister.store import Character
from callister.store.cluster import ClusterRepository, Extra


@dataclass(frozen=True, slots=True)
class ZoneCheckpoint:
    zone: str
    tick: int
    payload: str
    token: int
    """The token of the worker that wrote the checkpoint."""
    ships: list[ShipState]
    """Ships resident in the zone (arrived), as last checkpointed."""
    incoming: list[tuple[int, int]]
    """(ship id, seq) of ships in transit to the zone: they arrive through the hand-off
    stream (outbox.py), not from here."""


def add_ship(
    cluster: ClusterRepository, zone: str, token: int, owner: str, state: ShipState
) -> None:
    """A ship enters the cluster (a new character) in `zone`. `ShipExists` if it is known."""
    cluster.add_ship(zone, token, owner, state.id, encode_ship(state))


def checkpoint(
    cluster: ClusterRepository,
    zone: str,
    token: int,
    owner: str,
    *,
    tick: int,
    ships: Sequence[ShipState] = (),
    payload: str = "{}",
    characters: Sequence[Character] = (),
    extra: Extra | None = None,
) -> int:
    """Write the zone's tick, payload, ships' states and the players' `characters` in one
    fenced transaction (`ClusterRepository.checkpoint`); the number of ship rows written.
    `Fenced` if the zone has a newer owner."""
    return cluster.checkpoint(
        zone,
        token,
        owner,
        tick=tick,
        ships=[(s.id, encode_ship(s)) for s in ships],
        payload=payload,
        characters=characters,
        extra=extra,
    )


def load_zone(cluster: ClusterRepository, zone: str) -> ZoneCheckpoint:
    """The zone's last checkpoint (tick 0 and payload '{}' if none) and its ships."""
    record = cluster.load_zone(zone)
    ships = [decode_ship(state) for state in record.ships]
    return ZoneCheckpoint(zone, record.tick, record.payload, record.token, ships, record.incoming)
