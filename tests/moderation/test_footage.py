"""Footage: checkpoints capture the full zone; replaying recorded calls reproduces it exactly."""

from __future__ import annotations

import zlib

import pytest
from tests.examples import FRONTIER_PACK

from callister.content import load_content
from callister.moderation.footage import (
    _COMPRESSOR,
    Footage,
    FootageError,
    Segment,
    ZoneRecorder,
    event_json,
)
from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Autopilot, Cruise
from callister.sim import (
    CruiseChanged,
    Destroyed,
    Fired,
    JumpOut,
    Mined,
    Refused,
    StationSpec,
    Zone,
    ZoneLayout,
)
from callister.sim.checkpoint import CheckpointError

from ._support import LAYOUT, Scenario


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_checkpoint_round_trip_is_exact_and_keeps_running_identically() -> None:
    s = Scenario()
    for _ in range(120):
        s.step()
    data = s.zone.checkpoint()
    copy = Zone.from_checkpoint(LAYOUT, data)
    assert copy.state_hash() == s.zone.state_hash()
    assert copy.checkpoint() == data
    # both continue identically under the same calls (the copy gets the recorded ones)
    rec = ZoneRecorder(s.zone, "t", checkpoint_s=1000)
    for _ in range(60):
        s.step()
    lines = rec.segments[-1].lines
    rec.detach()
    from callister.moderation.footage import apply_op

    replay = Zone.from_checkpoint(
        LAYOUT,
        lines and rec.segments[-1].checkpoint and zlib.decompress(rec.segments[-1].checkpoint),
    )
    for line in lines:
        apply_op(replay, line)
    assert replay.state_hash() == s.zone.state_hash()


def test_replay_reproduces_every_tick_with_combat_mining_deaths_and_jumps() -> None:
    s = Scenario(n=40)
    clock = Clock()
    rec = ZoneRecorder(s.zone, "w.0.0", window_s=300, checkpoint_s=2.0, clock=clock)
    live: dict[int, str] = {}
    kinds: set[type] = set()
    for _ in range(400):
        events = s.step()
        kinds.update(type(e) for e in events)
        live[s.zone.tick] = s.zone.state_hash()
        clock.t += 0.05
    assert {Destroyed, Fired, JumpOut, Mined, Refused} <= kinds, kinds
    footage = Footage.decode(rec.save().encode())
    assert len(footage.parts) >= 5
    replayed = footage.hashes()
    assert replayed, "nothing replayed"
    assert min(replayed) == footage.start_tick + 1
    assert max(replayed) == s.zone.tick
    for tick, h in replayed.items():
        assert h == live[tick], f"replay diverged at tick {tick}"


def test_rolling_window_drops_old_segments() -> None:
    s = Scenario(n=10)
    clock = Clock()
    rec = ZoneRecorder(s.zone, "k", window_s=5.0, checkpoint_s=1.0, clock=clock)
    for _ in range(400):  # 20 s
        s.step()
        clock.t += 0.05
    assert len(rec.segments) <= 7
    footage = rec.save(3.0)
    assert footage.end_tick == s.zone.tick
    assert s.zone.tick - footage.start_tick <= 4 * 20 + 1
    # a shorter save replays too, from its first checkpoint
    assert footage.hashes()[s.zone.tick] == s.zone.state_hash()


def test_frames_are_full_game_snapshots() -> None:
    from callister.protocol.snapshot import decode_snapshot

    s = Scenario(n=8)
    rec = ZoneRecorder(s.zone, "k", checkpoint_s=1.0)
    for _ in range(60):
        s.step()
    f = rec.save()
    data, _events = f.frames(f.start_tick + 1, f.start_tick + 10)
    pos, count = 0, 0
    while pos < len(data):
        n = int.from_bytes(data[pos : pos + 4], "little")
        snap = decode_snapshot(data[pos + 4 : pos + 4 + n])
        assert snap.full and len(snap.changed) > 0
        pos += 4 + n
        count += 1
    assert count == 10
    with pytest.raises(FootageError):
        f.frames(10, 5)
    with pytest.raises(FootageError):
        f.frames(0, 10**6)


@pytest.mark.parametrize(
    "bad", [b"", b"junk", b"CFTG" + b"\x01\x00\x00\x00" + b"\xff\xff\x00\x00", b"x" * 100]
)
def test_bad_footage_bytes_are_refused(bad: bytes) -> None:
    with pytest.raises(FootageError):
        Footage.decode(bad)


@pytest.mark.parametrize("bad", [b"", b"CZCK", b"CZCK\x01\x00\x00\x00\x05\x00\x00\x00{bad}"])
def test_bad_checkpoint_bytes_are_refused_and_change_nothing(bad: bytes) -> None:
    s = Scenario(n=3)
    before = s.zone.state_hash()
    with pytest.raises(CheckpointError):
        s.zone.restore(bad)
    assert s.zone.state_hash() == before


def test_replay_reproduces_the_autopilot_and_cruise_with_the_layouts_gates() -> None:
    layout = ZoneLayout(
        radius=30_000.0,
        star_radius=1_000.0,
        stations=(StationSpec(0, 12_000.0, 0.0, 150.0, 300.0),),
        links=((1, 0),),
        gates=((10_000.0, 3_000.0),),
    )
    zone = Zone(layout)
    clock = Clock()
    rec = ZoneRecorder(zone, "w.1.1", window_s=300, checkpoint_s=2.0, clock=clock)
    shuttle = load_content().hulls["shuttle"]
    zone.add_ship(1, 7, shuttle, x=-15_000.0, y=100.0)
    zone.add_ship(2, 8, shuttle, x=0.0, y=-20_000.0)
    zone.submit(Autopilot(7, 1, "link", to_x=1, to_y=0))
    zone.submit(Cruise(8, 2, True))
    live: dict[int, str] = {}
    kinds: set[type] = set()
    for _ in range(300):
        kinds.update(type(e) for e in zone.step())
        live[zone.tick] = zone.state_hash()
        clock.t += 0.05
    assert CruiseChanged in kinds
    footage = Footage.decode(rec.save().encode())
    replayed = footage.hashes()
    assert max(replayed) == zone.tick
    for tick, h in replayed.items():
        assert h == live[tick], f"replay diverged at tick {tick}"


def test_timeline_events_carry_their_fields() -> None:
    """The replay viewer's timeline (GET /api/mod/footage/{id}/events) shows each event's
    plain fields: ids above 2**31 as strings, floats rounded, nested values left out."""
    fired = Fired(2**40, 3, 0, "laser", 9, 1.234, 2.0, 3.0, 4.0, True, 0)
    assert event_json(7, fired) == {
        "tick": 7, "type": "Fired", "ship": str(2**40), "owner": 3, "slot": 0,
        "weapon": "laser", "target": 9, "x": 1.23, "y": 2.0, "tx": 3.0, "ty": 4.0,
        "hit": True, "shot": 0,
    }  # fmt: skip
    refused = Refused(3, 9, "fire", ErrorCode.COOLDOWN, "cooling down", True)
    assert event_json(8, refused) == {
        "tick": 8, "type": "Refused", "actor": 3, "ship": 9, "action": "fire",
        "code": "COOLDOWN", "reason": "cooling down", "evidence": True,
    }  # fmt: skip


def test_footage_of_a_modded_world_replays_with_its_pack() -> None:
    """A world's content pack travels with its footage: a corsair (a pack's hull) firing flak
    (a pack's weapon) replays to the same state hashes; a replay in a process that numbered
    the pack's keys otherwise maps the checkpoint's columns back to the right keys."""

    from callister.content import ContentPack
    from callister.moderation.footage import _renumber
    from callister.protocol.intents import Fire
    from callister.sim import HULL_KEYS

    pack = ContentPack.from_dir(FRONTIER_PACK)
    content = load_content(packs=[pack])
    zone = Zone(LAYOUT, content=content)
    zone.grant_ids(range(10_000, 11_000))  # shells need entity ids
    clock = Clock()
    rec = ZoneRecorder(zone, "frontier.0.0", window_s=300, checkpoint_s=1.0, clock=clock)
    zone.add_ship(1, 7, content.hulls["corsair"], x=-3000.0, y=-3000.0)
    zone.add_ship(2, 8, content.hulls["shuttle"], x=-2400.0, y=-3000.0)
    live: dict[int, str] = {}
    fired: list[str] = []
    for i in range(120):
        if i % 10 == 0:
            zone.submit(Fire(7, 1, 0, target=2))
        fired += [e.weapon for e in zone.step() if isinstance(e, Fired)]
        live[zone.tick] = zone.state_hash()
        clock.t += 0.05
    assert "flak" in fired
    footage = Footage.decode(rec.save().encode())
    assert footage.packs and footage.packs[0]["digest"] == pack.digest
    replayed = footage.hashes()
    assert max(replayed) == zone.tick
    for tick, h in replayed.items():
        assert h == live[tick], f"replay diverged at tick {tick}"
    # another process numbered the keys otherwise: the recorded list says which is which
    copy = Zone.from_checkpoint(LAYOUT, zone.checkpoint(), content=content)
    keys = list(HULL_KEYS)
    i, j = keys.index("corsair"), keys.index("hauler")
    keys[i], keys[j] = keys[j], keys[i]
    _renumber(copy, {"hulls": keys})
    assert copy.ship_state(1).hull == "hauler"  # what that process called index i


def test_a_segment_closed_beside_the_tick_reads_the_same_before_and_after_compression() -> None:
    segment = Segment(tick=0, at=0.0, checkpoint=b"", lines=[b'{"a":1}\n', b'{"b":2}\n'])
    calls = zlib.decompress(segment.frozen_ops())
    segment.end_tick = 5
    segment.close_beside()
    assert segment.ended  # no more calls: a save reads its end tick from now on
    assert zlib.decompress(segment.frozen_ops()) == calls  # pending or done, the same calls
    _COMPRESSOR.submit(lambda: None).result()  # the compression before it has finished
    assert segment.closed and not segment.lines
    assert zlib.decompress(segment.ops) == calls
