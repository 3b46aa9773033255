"""Footage size for a busy system: N ships fighting with the bench battle AI (bench/battle.py).

`python -m callister.moderation.bench [ships] [seconds]` records the zone with a `ZoneRecorder`
(checkpoint every 10 s, like the server's default), then prints the bytes per minute of the
saved footage (what a report stores), the split between checkpoints and inputs, and checks that
the footage replays to the live state hash.
"""

from __future__ import annotations

import json
import sys
import time

from callister.bench.battle import BattleAI, build_battle
from callister.moderation.footage import Footage, ZoneRecorder


def measure(
    ships: int = 200, seconds: float = 60.0, checkpoint_s: float = 10.0
) -> dict[str, object]:
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


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:3]]
    result = measure(int(args[0]) if args else 200, args[1] if len(args) > 1 else 60.0)
    print(json.dumps(result, indent=2))
