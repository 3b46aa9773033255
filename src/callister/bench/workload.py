"""The simulation benchmark's workload records, shared by `bench/sim.py` (our zone) and
`bench/esper_peer.py` (the same workload in esper), so neither imports the other's module."""

from __future__ import annotations

from dataclasses import dataclass

from callister.content import Hull


@dataclass(frozen=True, slots=True)
class ShipSpec:
    """One ship of the workload, as both implementations create it."""

    id: int
    owner: int
    hull: Hull
    x: float
    y: float
    vx: float
    vy: float
    angle: float


Control = tuple[int, float, float, bool]
"""(ship id, thrust, turn, brake): one Input of the workload."""
