"""`callister bench footage`: footage size for a busy system, N ships fighting with the bench
battle AI (bench/battle.py).

Records the zone with a `ZoneRecorder` (a checkpoint every 10 s, the server's default), then
reports the bytes per minute of the saved footage (what a report stores), the split between
checkpoints and inputs, and whether the footage replays to the live state hash.
"""

from __future__ import annotations

import time

from callister.bench.battle import BattleAI, build_battle
from callister.moderation.footage import Footage, ZoneRecorder


def run_footage_bench(
    ships: int = 200, seconds: float = 60.0, checkpoint_s: float = 10.0
) -> dict[str, object]:
    """Fight for `seconds` of game time while recording; return a JSON-ready dict: ships,
    seconds, intents_per_s, entities_end, bytes, bytes_per_minute, checkpoint_bytes_per_minute,
    input_bytes_per_minute, segments, replay_exact and sim_s (the wall time it took).
    ValueError for fewer than 2 ships or non-positive times."""
    if ships < 2 or seconds <= 0 or checkpoint_s <= 0:
        raise ValueError("ships must be >= 2, seconds and checkpoint_s > 0")
    zone, _field, team = build_battle(ships, 1, 1)
    ai = BattleAI(zone, team)
    clock = [0.0]
    rec = ZoneRecorder(
        zone, "bench", window_s=300.0, checkpoint_s=checkpoint_s, clock=lambda: clock[0]
    )
    ticks = int(seconds * zone.tick_hz)
    intents = 0
    start = time.perf_counter()
    for _ in range(ticks):
        for intent in ai.decide(zone.tick):
            zone.submit(intent)
            intents += 1
        zone.step()
        clock[0] += 1.0 / zone.tick_hz
    elapsed = time.perf_counter() - start
    footage = rec.save()
    data = footage.encode()
    checkpoints = sum(len(c) for _, _, c, _ in footage.parts)
    inputs = sum(len(o) for _, _, _, o in footage.parts)
    live = zone.state_hash()
    exact = Footage.decode(data).hashes()[zone.tick] == live
    minutes = (footage.end_tick - footage.start_tick) / zone.tick_hz / 60.0
    return {
        "ships": ships,
        "seconds": seconds,
        "intents_per_s": round(intents / seconds, 1),
        "entities_end": zone.entity_count,
        "bytes": len(data),
        "bytes_per_minute": round(len(data) / minutes),
        "checkpoint_bytes_per_minute": round(checkpoints / minutes),
        "input_bytes_per_minute": round(inputs / minutes),
        "segments": len(footage.parts),
        "replay_exact": exact,
        "sim_s": round(elapsed, 2),
    }
