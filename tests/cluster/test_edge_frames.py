"""The `F` item (cluster/edge.py) that carries a zone's frame to a gateway building views: it
round-trips, and anything malformed is refused with a ValueError by the parser and dropped
(logged, counted) by the gateway's `EdgeViews`, never a crash. `EdgeViews` builds real v2
updates from it that a client (protocol/updates.py `ClientView`) applies."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from callister.cluster.edge import FORGET_S, pack_edge_frame, parse_edge_frame
from callister.cluster.edge_views import EdgeViews
from callister.protocol.updates import ClientView, decode_update
from callister.server.metrics import Metrics
from callister.server.settings import load_settings
from callister.sim import ZoneFrame
from callister.sim.framepack import pack_frame

SID = "a" * 32


def frame(tick: int, xs: list[float]) -> ZoneFrame:
    n = len(xs)
    return ZoneFrame(
        tick=tick,
        ids=np.arange(1, n + 1, dtype=np.uint64),
        owner=np.zeros(n, np.int64),
        kind=np.ones(n, np.uint8),  # ships
        hull=np.zeros(n, np.uint8),
        x=np.array(xs, np.float32),
        y=np.zeros(n, np.float32),
        vx=np.zeros(n, np.float32),
        vy=np.zeros(n, np.float32),
        angle=np.zeros(n, np.float32),
        flags=np.zeros(n, np.uint8),
    )


def item(tick: int, xs: list[float], entries: list[tuple[int, bytes]], epoch: int = 7) -> bytes:
    return pack_edge_frame("infinity.1.2", epoch, [(SID, 1)], entries, pack_frame(frame(tick, xs)))


def test_an_f_item_round_trips() -> None:
    data = item(5, [0.0, 10.0], [(2, b'{"id":2}')])
    got = parse_edge_frame(data)
    assert (got.key, got.epoch, got.due) == ("infinity.1.2", 7, [(SID, 1)])
    assert got.entries == [(2, b'{"id":2}')]
    assert got.frame.tick == 5 and got.frame.ids.tolist() == [1, 2]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d[:-1],  # the frame one byte short
        lambda d: d + b"\x00",  # one byte too many
        lambda d: d[:10],  # the header cut
        lambda d: b"",
        lambda d: struct.pack("<HIIII", 3, 1, 1000, 0, 0) + b"abc",  # more sessions than bytes
        lambda d: d[:20] + b"\xff" * 4 + d[24:],  # an absurd entry count
    ],
)
def test_a_malformed_f_item_is_refused(mangle: object) -> None:
    data = item(5, [0.0, 10.0], [(2, b'{"id":2}')])
    with pytest.raises(ValueError):
        parse_edge_frame(mangle(data))  # type: ignore[operator]


def test_edge_views_build_updates_a_client_applies_and_drop_bad_items() -> None:
    settings = load_settings(env={})
    metrics = Metrics()
    sent: list[tuple[str, bytes, bool]] = []
    backed_up = {"on": False}

    def write(sid: str, data: bytes, binary: bool) -> bool:
        if binary and backed_up["on"]:
            return False
        sent.append((sid, data, binary))
        return True

    views = EdgeViews(settings, metrics, write, lambda sid: sid == SID)
    views.on_frame(b"\x00garbage")  # logged and dropped
    assert metrics.counters["callister_bad_batches_total"] == 1 and not views.seats
    view = ClientView()
    views.on_frame(item(1, [0.0, 100.0], [(2, b'{"id":2,"name":"other"}')]))
    ents = [json.loads(d) for _, d, b in sent if not b]
    assert ents == [{"t": "ents", "ents": [{"id": 2, "name": "other"}]}]
    updates = [decode_update(d) for _, d, b in sent if b]
    assert updates[0].resync  # a fresh slot
    for u in updates:
        view.apply(u)
    assert set(view.entities) == {1, 2}
    # the other ship moves: the next update carries it and fits the view
    for tick in range(2, 6):
        views.on_frame(item(tick, [0.0, 100.0 + 50 * tick], []))
    for _, d, binary in sent[2:]:
        if binary:
            view.apply(decode_update(d))
    assert view.entities[2].metres_at(view.tick)[0] > 300
    # a backed-up client: the update is not written; its next is a RESYNC
    backed_up["on"] = True
    views.on_frame(item(6, [0.0, 500.0], []))
    backed_up["on"] = False
    n = len(sent)
    views.on_frame(item(7, [0.0, 550.0], []))
    nxt = decode_update(sent[n][1])
    assert nxt.resync
    # a changed entry is introduced again to the client who knows the ship
    n = len(sent)
    views.on_frame(item(8, [0.0, 560.0], [(2, b'{"id":2,"name":"other","mod":true}')]))
    again = [json.loads(d) for _, d, b in sent[n:] if not b]
    assert again == [{"t": "ents", "ents": [{"id": 2, "name": "other", "mod": True}]}]
    assert metrics.counters["callister_edge_updates_total"] >= 8


def test_edge_views_forget_a_zone_nobody_watches_only_after_its_worker_did() -> None:
    views = EdgeViews(load_settings(env={}), Metrics(), lambda *_: True, lambda sid: True)
    views.on_frame(item(1, [0.0, 100.0], [(2, b'{"id":2}')]))
    views.drop(SID)  # left: the zone's entries stay (its worker counts on them)
    views.sweep()
    assert views.zones["infinity.1.2"].entries == {2: b'{"id":2}'}
    views.zones["infinity.1.2"].last -= 2 * FORGET_S + 1  # no frame for twice FORGET_S
    views.sweep()
    assert not views.zones
