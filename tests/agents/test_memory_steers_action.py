"""Memory steers action, in a real zone with the server's own agent runtime.

A player attacks an NPC miner, leaves, and comes back later within a few hundred metres without
firing: the miner remembers and flees or fights (by its personality), it does not go on mining.
The zone is a real `Zone` of a generated system, the NPC runs in `server.npcs.AgentRuntime`
(views built from the zone's columns, decisions, intents through the bus to the zone, the zone's
`Hit` events fed back); only the `World` around them is the benchmark's stand-in (`BenchHost`).
"""

from __future__ import annotations

import math

import pytest

from callister.agents import Action, Clone, Goal, Licence, Profile, Role, Skills
from callister.bench.agents import BenchHost
from callister.bench.systems import bench_systems
from callister.content import load_content
from callister.protocol.intents import Fire
from callister.server.bus import intents_subject, zone_key
from callister.server.npcs import AgentRuntime
from callister.server.ports import ZoneHandle
from callister.sim import Zone, ZoneLayout

PLAYER = 1000
MINER_SHIP = 1 << 40
PLAYER_SHIP = (1 << 40) + 100


def _miner(traits: tuple[str, ...], clone_id: int) -> Clone:
    return Clone.create(
        clone_id,
        Profile(name="Mira Okafor", traits=traits, skills=Skills(0.5, 0.5, 0.5, 0.8)),
        world="bench",
        role=Role.PILOT,
        goal=Goal.MINER,
        licence=Licence(),
        max_memories=200,
    )


def _world() -> tuple[BenchHost, AgentRuntime, ZoneHandle]:
    system = next(s for s in bench_systems(1, 40) if s.fields and s.stations)
    host = BenchHost(1, load_content())
    runtime = host.runtime()
    zone = Zone(ZoneLayout.from_system(system))
    zone.grant_ids(range(1 << 41, (1 << 41) + 100_000))
    key = zone_key("bench", system.x, system.y)
    handle = ZoneHandle(key=key, sector=(system.x, system.y), system=system, zone=zone)
    host.zones[key] = handle
    host.bus.subscribe(intents_subject(key), zone.submit)
    runtime.add_statics(handle)
    return host, runtime, handle


def _run(runtime: AgentRuntime, handle: ZoneHandle, t0: int, ticks: int, fire: bool) -> int:
    for tick in range(t0, t0 + ticks):
        runtime.tick(tick)
        if fire and handle.zone.has_ship(PLAYER_SHIP) and handle.zone.has_ship(MINER_SHIP):
            for slot in (0, 1):
                handle.zone.submit(
                    Fire(actor=PLAYER, ship=PLAYER_SHIP, slot=slot, target=MINER_SHIP)
                )
        runtime.after_step(handle, handle.zone.step())
    return t0 + ticks


def _place_player(handle: ZoneHandle, x: float, y: float, ship: int = PLAYER_SHIP) -> None:
    hull = load_content().hulls["shuttle"]
    handle.zone.add_ship(ship, PLAYER, hull, x=x, y=y, angle=math.pi)


@pytest.mark.parametrize(
    ("traits", "expected"),
    [
        (("nervous", "cautious"), {Action.FLEE}),
        (("brave", "aggressive"), {Action.DEFEND}),
    ],
)
def test_a_miner_attacked_by_a_player_flees_or_fights_when_they_come_back(
    traits: tuple[str, ...], expected: set[Action]
) -> None:
    _, runtime, handle = _world()
    field = handle.system.fields[0]
    mx, my = float(field.x + field.radius + 400), float(field.y)
    miner = _miner(traits, (1 << 61) + 7)
    runtime.spawn_npc(handle, miner, MINER_SHIP, "shuttle", mx, my)
    # the player attacks from 600 m until the miner has been hit several times
    _place_player(handle, mx + 600.0, my)
    tick = 1
    while miner.relationships.get(PLAYER) is None or miner.relationships.get(PLAYER).attacks < 4:
        tick = _run(runtime, handle, tick, 20, fire=True)
        assert tick < 2000, "the player's shots never reached the miner"
        assert handle.zone.has_ship(MINER_SHIP), "the miner died before the test could go on"
    tick = _run(runtime, handle, tick, 100, fire=False)  # it thinks (and reflects) once more
    assert miner.relationships.is_hostile(PLAYER), [m.text for m in miner.memory.recent(5)]
    # the player leaves; long after, the fight is forgotten by the senses, not by the miner
    handle.zone.remove_ship(PLAYER_SHIP)
    tick = _run(runtime, handle, tick, 3000, fire=False)
    assert handle.zone.has_ship(MINER_SHIP)
    # ... and comes back within 354 m of the miner, not firing (a new ship, the same player)
    state = handle.zone.ship_state(MINER_SHIP)
    _place_player(handle, state.x + 354.0, state.y, ship=PLAYER_SHIP + 1)
    seen: list[Action] = []
    for _ in range(6):
        tick = _run(runtime, handle, tick, 20, fire=False)
        decision = runtime.last.get(miner.id)
        assert decision is not None
        seen.append(decision.action)
    assert set(seen) <= expected, seen
    assert Action.MINE not in seen and Action.HOLD not in seen
