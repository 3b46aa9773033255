"""Protocol v2 views: the compiled engine against a slow reference, byte for byte, on random
scenarios (entities entering, leaving and being removed, clients joining, leaving and asking for
a resync, due at random ticks); what each client decodes is exactly what the engine believes it
holds, and its prediction of every entity is within the drift threshold of the truth."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from callister.protocol.reckoning import (
    FINE_PER_M,
    QUARTER_FINE,
    SPIN_ANGLE,
    angle_error,
    position_shift,
    predict_angle,
    predict_position,
)
from callister.protocol.updates import RECORD_FLAGS, Body, ClientView, decode_update, encode_update
from callister.server.view_kernels import LIMIT_M, MAX_RATE_TICKS
from callister.server.views import ViewEngine

TWO_PI = 2.0 * math.pi


def _clamp(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else (hi if v > hi else v)


@dataclass
class Quantised:
    ident: int
    x: int
    y: int
    vx: int
    vy: int
    ax: int
    ay: int
    angle: int
    spin: int
    flags: int
    kind: int


@dataclass
class Slot:
    held: dict[int, tuple[int, ...]] = field(default_factory=dict)
    seq: int = 0
    resync: bool = True


class Reference:
    """The view engine's promises written the slow, obvious way (dicts, Python ints)."""

    def __init__(self, radius: float, tick_hz: int, threshold_m: float, per_km: float,
                 angle_deg: float, refresh: int, margin: float) -> None:  # fmt: skip
        self.radius, self.leave = radius, radius * (1 + margin)
        self.shift = position_shift(self.leave)
        self.tick_hz, self.refresh = tick_hz, refresh
        self.thr_fine = threshold_m * FINE_PER_M
        self.slope = per_km * FINE_PER_M / 1000.0
        self.ang = round(angle_deg / 360.0 * 65536)
        self.slots: dict[int, Slot] = {}
        self.prev: dict[int, tuple[float, float, float]] = {}
        self.prev_tick = -(1 << 40)

    def quantise(self, tick: int, cols: dict[str, np.ndarray]) -> dict[int, Quantised]:
        per_tick = 1.0 / self.tick_hz
        span = tick - self.prev_tick
        out = {}
        for i, ident in enumerate(cols["ids"].tolist()):
            x, y = float(cols["x"][i]), float(cols["y"][i])
            vx, vy, angle = float(cols["vx"][i]), float(cols["vy"][i]), float(cols["angle"][i])
            ax = ay = spin = 0.0
            if ident in self.prev and 0 < span <= MAX_RATE_TICKS:
                pvx, pvy, pa = self.prev[ident]
                scale = per_tick * 256.0 / span
                ax, ay = (vx - pvx) * scale, (vy - pvy) * scale
                turn = (angle - pa) % TWO_PI
                if turn > math.pi:
                    turn -= TWO_PI
                spin = turn * (2048.0 / TWO_PI) / span
            out[ident] = Quantised(
                ident,
                round(_clamp(x, -LIMIT_M, LIMIT_M) * 1024.0),
                round(_clamp(y, -LIMIT_M, LIMIT_M) * 1024.0),
                int(_clamp(round(vx * per_tick * 256.0), -32767, 32767)),
                int(_clamp(round(vy * per_tick * 256.0), -32767, 32767)),
                int(_clamp(round(ax), -127, 127)),
                int(_clamp(round(ay), -127, 127)),
                round((angle % TWO_PI) * (65536.0 / TWO_PI)) & 0xFFFF,
                int(_clamp(round(spin), -127, 127)),
                int(cols["flags"][i]) & RECORD_FLAGS,
                int(cols["kind"][i]),
            )
        self.prev = {
            int(i): (float(a), float(b), float(c))
            for i, a, b, c in zip(cols["ids"], cols["vx"], cols["vy"], cols["angle"], strict=True)
        }
        self.prev_tick = tick
        return out

    def drifted(self, ref: tuple[int, ...], q: Quantised, tick: int, d2: float) -> bool:
        t0, x0, y0, vx, vy, ax, ay, angle, spin, flags = ref
        tau = (tick - t0) & 0xFFFFFFFF
        if tau >= self.refresh or flags != q.flags:
            return True
        ex = float(q.x - predict_position(x0, vx, ax, tau))
        ey = float(q.y - predict_position(y0, vy, ay, tau))
        thr = self.thr_fine + self.slope * math.sqrt(d2) if self.slope > 0 else self.thr_fine
        if ex * ex + ey * ey > thr * thr:
            return True
        return abs(angle_error(q.angle, predict_angle(angle, spin, tau))) > self.ang

    def body(
        self, q: Quantised, origin: tuple[int, int], tick: int, keep: dict[int, tuple[int, ...]]
    ) -> Body:
        """The record body of `q` relative to `origin` (fine units); what the client will hold
        of it goes into `keep`."""
        step = QUARTER_FINE << self.shift
        dx = (q.x - origin[0] + step // 2) // step
        dy = (q.y - origin[1] + step // 2) // step
        keep[q.ident] = (
            tick, origin[0] + dx * step, origin[1] + dy * step,
            q.vx, q.vy, q.ax, q.ay, q.angle, q.spin, q.flags,
        )  # fmt: skip
        return Body(dx, dy, q.vx, q.vy, q.ax, q.ay, q.angle, q.spin, q.flags)

    def update(self, tick: int, cols: dict[str, np.ndarray], due: list[int],
               cx: list[float], cy: list[float]) -> list[bytes]:  # fmt: skip
        quant = self.quantise(tick, cols)
        pos = {
            int(i): (float(a), float(b))
            for i, a, b in zip(cols["ids"], cols["x"], cols["y"], strict=True)
        }
        frames = []
        for slot, ccx, ccy in zip(due, cx, cy, strict=True):
            st = self.slots[slot]
            held = {} if st.resync else st.held
            ox = round(_clamp(ccx, -LIMIT_M, LIMIT_M) * 4.0)
            oy = round(_clamp(ccy, -LIMIT_M, LIMIT_M) * 4.0)
            new, updated, keep = [], [], {}
            origin = (ox * QUARTER_FINE, oy * QUARTER_FINE)
            for ident, (x, y) in pos.items():
                ddx, ddy = x - ccx, y - ccy
                d2 = ddx * ddx + ddy * ddy
                if d2 > self.leave * self.leave:
                    continue
                if ident in held:
                    keep[ident] = held[ident]
                    if self.drifted(held[ident], quant[ident], tick, d2):
                        updated.append((ident, self.body(quant[ident], origin, tick, keep)))
                elif d2 <= self.radius * self.radius:
                    new.append(
                        (ident, quant[ident].kind, self.body(quant[ident], origin, tick, keep))
                    )
            removed = sorted(set(held) - set(keep))
            st.seq += 1
            frame = encode_update(
                tick, st.seq, (ox, oy), sorted(new), sorted(updated), removed,
                resync=st.resync, shift=self.shift,
            )  # fmt: skip
            frames.append(frame)
            st.held, st.resync = keep, False
        return frames


def _scenario_columns(ents: dict[int, list[float]]) -> dict[str, np.ndarray]:
    ids = sorted(ents)
    rows = np.array([ents[i] for i in ids]) if ids else np.zeros((0, 8))
    return {
        "ids": np.array(ids, dtype=np.uint64),
        "x": rows[:, 0].astype(np.float32),
        "y": rows[:, 1].astype(np.float32),
        "vx": rows[:, 2].astype(np.float32),
        "vy": rows[:, 3].astype(np.float32),
        "angle": rows[:, 4].astype(np.float32),
        "flags": rows[:, 6].astype(np.uint8),
        "kind": rows[:, 7].astype(np.uint8),
    }


def _run_scenario(seed: int, *, per_km: float = 0.0, ticks: int = 70) -> None:
    rng = np.random.default_rng(seed)
    params = {
        "radius": float(rng.choice([300.0, 1500.0, 9000.0])),
        "tick_hz": int(rng.choice([10, 20, 30])),
        "threshold_m": float(rng.choice([0.25, 1.0, 3.0])),
        "threshold_per_km": per_km,
        "angle_threshold_deg": float(rng.choice([1.0, 3.0])),
        "refresh_ticks": int(rng.choice([5, 40])),
        "leave_margin": float(rng.choice([0.0, 0.1])),
    }
    engine = ViewEngine(**params)  # type: ignore[arg-type]
    ref = Reference(params["radius"], params["tick_hz"], params["threshold_m"], per_km,
                    params["angle_threshold_deg"], params["refresh_ticks"],
                    params["leave_margin"])  # fmt: skip
    spread = params["radius"] * 2.5
    # x, y, vx, vy, angle, (accel), flags, kind; accel held in col 5 as a heading thrust
    ents: dict[int, list[float]] = {}
    next_id = int(rng.integers(1, 1 << 40))

    def spawn() -> None:
        nonlocal next_id
        next_id += int(rng.integers(1, 300))
        ents[next_id] = [
            float(rng.uniform(-spread, spread)), float(rng.uniform(-spread, spread)),
            float(rng.normal(0, 60)), float(rng.normal(0, 60)),
            float(rng.uniform(-math.pi, math.pi)), float(rng.choice([0.0, 40.0])),
            float(rng.integers(0, 256)), float(rng.integers(1, 5)),
        ]  # fmt: skip

    for _ in range(int(rng.integers(20, 60))):
        spawn()
    clients: dict[int, ClientView] = {}

    def join() -> None:
        slot = engine.add_client()
        assert slot not in clients
        ref.slots[slot] = Slot()
        clients[slot] = ClientView()

    for _ in range(int(rng.integers(1, 8))):
        join()
    tick = int(rng.integers(0, 1 << 31))
    dt = 1.0 / params["tick_hz"]
    for _ in range(ticks):
        tick += int(rng.choice([1, 1, 1, 2, 7]))  # gaps: rates over 2 ticks, stale rates
        for e in ents.values():  # the simulation's order: turn, accelerate, move
            turn_rate = float(rng.choice([0.0, 0.0, 2.0, -3.5]))
            e[4] = (e[4] + turn_rate * dt + math.pi) % TWO_PI - math.pi
            if rng.random() < 0.1:
                e[5] = float(rng.choice([0.0, 60.0, 110.0]))
            e[2] += math.cos(e[4]) * e[5] * dt
            e[3] += math.sin(e[4]) * e[5] * dt
            e[0] += e[2] * dt
            e[1] += e[3] * dt
            if rng.random() < 0.05:
                e[6] = float(int(e[6]) ^ (1 << int(rng.integers(0, 8))))
        for ident in [i for i in ents if rng.random() < 0.03]:
            del ents[ident]
        for _ in range(int(rng.poisson(1.0))):
            spawn()
        if rng.random() < 0.1 and clients:
            slot = int(rng.choice(list(clients)))
            engine.remove_client(slot)
            del clients[slot], ref.slots[slot]
        if rng.random() < 0.15:
            join()
        if rng.random() < 0.1 and clients:
            slot = int(rng.choice(list(clients)))
            engine.resync(slot)
            ref.slots[slot].resync = True
        cols = _scenario_columns(ents)
        due = [s for s in clients if rng.random() < 0.7]
        rng.shuffle(due)
        centres = []
        for _ in due:
            if ents and rng.random() < 0.8:
                e = ents[int(rng.choice(list(ents)))]
                centres.append((e[0], e[1]))
            else:
                centres.append((float(rng.uniform(-spread, spread)), 0.0))
        cx = [float(np.float32(c[0])) for c in centres]
        cy = [float(np.float32(c[1])) for c in centres]
        batch = engine.update(tick, cols["ids"], cols["kind"], cols["x"], cols["y"], cols["vx"],
                              cols["vy"], cols["angle"], cols["flags"], due, cx, cy)  # fmt: skip
        expected = ref.update(tick, cols, due, cx, cy)
        truth = {
            int(i): (round(float(x) * 1024.0), round(float(y) * 1024.0))
            for i, x, y in zip(cols["ids"], cols["x"], cols["y"], strict=True)
        }
        for i, slot in enumerate(due):
            frame = bytes(batch.frame(i))
            assert frame == expected[i], (seed, tick, slot, decode_update(frame))
            update = clients[slot].apply_frame(frame)
            assert batch.fresh(i) == [r.id for r in update.new]
            held = engine.held(slot)
            view = clients[slot].entities
            assert set(held) == set(view)
            for ident, r in view.items():
                assert held[ident] == (r.t0, r.x, r.y, r.vx, r.vy, r.ax, r.ay, r.angle, r.spin,
                                       r.flags)  # fmt: skip
                # drift accounting is exact: what the client predicts now is within the
                # threshold (or, just sent, the record's quantisation) of the truth
                px, py = r.position_at(tick)
                tx, ty = truth[ident]
                d2 = ((tx / 1024 - cx[i]) ** 2 + (ty / 1024 - cy[i]) ** 2) ** 0.5
                thr = ref.thr_fine + ref.slope * (d2 + 1.0)
                limit = max(thr, (QUARTER_FINE << ref.shift) * 0.71)
                assert math.hypot(px - tx, py - ty) <= limit + 1e-9
        assert engine.pairs == sum(len(engine.held(s)) for s in clients)


@pytest.mark.parametrize("seed", range(12))
def test_engine_matches_the_reference_byte_for_byte(seed: int) -> None:
    _run_scenario(seed)


@pytest.mark.parametrize("seed", range(3))
def test_distance_scaled_threshold_matches_the_reference(seed: int) -> None:
    _run_scenario(100 + seed, per_km=2.0)


def _engine_with_crowd(n: int, max_view: int = 2048) -> tuple[ViewEngine, dict[str, np.ndarray]]:
    rng = np.random.default_rng(5)
    ids = np.arange(1, n + 1, dtype=np.uint64) * 7
    cols = {
        "ids": ids, "kind": np.ones(n, np.uint8), "x": rng.uniform(-500, 500, n),
        "y": rng.uniform(-500, 500, n), "vx": np.zeros(n), "vy": np.zeros(n),
        "angle": np.zeros(n), "flags": np.zeros(n, np.uint8),
    }  # fmt: skip
    return ViewEngine(1500.0, max_view=max_view), cols


def _update(engine: ViewEngine, tick: int, cols: dict[str, np.ndarray], slots: list[int]):  # type: ignore[no-untyped-def]
    return engine.update(tick, cols["ids"], cols["kind"], cols["x"], cols["y"], cols["vx"],
                         cols["vy"], cols["angle"], cols["flags"], slots, [0.0] * len(slots),
                         [0.0] * len(slots))  # fmt: skip


def test_a_view_is_capped_at_max_view() -> None:
    engine, cols = _engine_with_crowd(50, max_view=8)
    slot = engine.add_client()
    view = ClientView()
    for tick in range(1, 5):
        batch = _update(engine, tick, cols, [slot])
        view.apply_frame(bytes(batch.frame(0)))
        assert len(view.entities) == engine.view_size(slot) == 8


def test_memory_is_bounded_by_the_views_and_given_back() -> None:
    engine, cols = _engine_with_crowd(400)
    slots = [engine.add_client() for _ in range(300)]
    _update(engine, 1, cols, slots)
    assert engine.pairs == 300 * 400
    peak = engine.memory_bytes()
    # pair tables: two of them, each at most twice what the views need (plus the minimum)
    assert peak <= 4 * 300 * 400 * (8 + 11 * 4) + (8 << 20)
    for slot in slots[:-1]:
        engine.remove_client(slot)
    for tick in range(2, 5):
        _update(engine, tick, cols, [slots[-1]])
    assert engine.pairs == 400
    assert engine.memory_bytes() < peak / 10
    # a freed slot is reused and starts over with a RESYNC of its whole view
    again = engine.add_client()
    assert again in slots
    update = decode_update(bytes(_update(engine, 5, cols, [again]).frame(0)))
    assert update.resync and len(update.new) == 400 and update.seq == 1


def test_bad_calls_are_refused() -> None:
    engine, cols = _engine_with_crowd(10)
    slot = engine.add_client()
    with pytest.raises(ValueError, match="distinct active"):
        _update(engine, 1, cols, [slot, slot])
    with pytest.raises(ValueError, match="distinct active"):
        _update(engine, 1, cols, [slot + 1])
    with pytest.raises(ValueError, match="not an active client"):
        engine.resync(slot + 5)
    bad = dict(cols, ids=cols["ids"][::-1].copy())
    with pytest.raises(ValueError, match="ascending"):
        _update(engine, 1, bad, [slot])
    bad = dict(cols, x=np.full(10, np.nan))
    with pytest.raises(ValueError, match="finite"):
        _update(engine, 1, bad, [slot])
    bad = dict(cols, y=cols["y"][:3])
    with pytest.raises(ValueError, match="as long as ids"):
        _update(engine, 1, bad, [slot])
    with pytest.raises(ValueError, match="same length"):
        engine.update(
            1, cols["ids"], cols["kind"], cols["x"], cols["y"], cols["vx"], cols["vy"],
            cols["angle"], cols["flags"], [slot], [0.0, 1.0], [0.0],
        )  # fmt: skip
    for kwargs in ({"radius": 0.0}, {"radius": 100.0, "refresh_ticks": 0},
                   {"radius": 100.0, "max_view": 70000}, {"radius": float("nan")},
                   {"radius": 1e9}):  # fmt: skip
        with pytest.raises(ValueError):
            ViewEngine(**kwargs)  # type: ignore[arg-type]
    # a failed call changed nothing: the client still gets its first frame, a RESYNC
    assert decode_update(bytes(_update(engine, 2, cols, [slot]).frame(0))).resync


def test_the_spin_unit_matches_the_doc() -> None:
    assert SPIN_ANGLE * 2048 == 65536


def test_frames_stay_intact_when_the_buffers_shrink() -> None:
    # a burst of RESYNCs grows the frame buffer; the quiet tick after it shrinks the buffer,
    # and its frames must still be the bytes the engine wrote
    engine, cols = _engine_with_crowd(400)
    slots = [engine.add_client() for _ in range(300)]
    views = [ClientView() for _ in slots]
    for tick in (1, 2, 3):
        batch = _update(engine, tick, cols, slots)
        for i, view in enumerate(views):
            view.apply_frame(bytes(batch.frame(i)))
            assert len(view.entities) == 400
