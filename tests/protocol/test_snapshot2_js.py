"""The JavaScript v2 decoder (web/js/snapshot2.js, run with node) and the Python reference
decoder agree on frames recorded from the real view engine over a crowd in a real Zone: every
decoded update, every client's final view, and every prediction. Both refuse the same bad
frames with BAD_FRAME."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.protocol.test_updates import BAD_FRAMES

from callister.bench.views import CrowdRun
from callister.protocol.controls import encode_controls
from callister.protocol.updates import ClientView, Reference, Update
from callister.server.views import ViewEngine

JS = Path(__file__).resolve().parents[2] / "src" / "callister" / "web" / "js" / "snapshot2.js"
TICK_HZ = 20

RUNNER = """
import { readFileSync } from "node:fs";
import { decodeUpdate, View2, encodeControls } from "./snapshot2.mjs";
const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const hex = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
const out = { clients: [], bad: {}, controls: [] };
for (const frames of input.clients) {
  const view = new View2();
  const updates = frames.map((f) => view.applyFrame(hex(f)));
  const ids = [...view.entities.keys()].sort((a, b) => a - b);
  const tick = view.tick + input.ahead;
  out.clients.push({
    updates,
    entities: ids.map((id) => view.entities.get(id)),
    predictions: ids.map((id) => view.predict(id, tick, input.tickHz)),
  });
}
for (const [name, f] of Object.entries(input.bad)) {
  try { decodeUpdate(hex(f)); out.bad[name] = "accepted"; } catch (e) { out.bad[name] = e.code; }
}
for (const [t, u, b] of input.controls) out.controls.push([...encodeControls(t, u, b)]);
process.stdout.write(JSON.stringify(out));
"""


def _ref(r: Reference, kind: int | None = None) -> dict[str, int]:
    return {
        "id": r.id, "kind": r.kind if kind is None else kind, "t0": r.t0, "x": r.x, "y": r.y,
        "vx": r.vx, "vy": r.vy, "ax": r.ax, "ay": r.ay, "angle": r.angle, "spin": r.spin,
        "flags": r.flags,
    }  # fmt: skip


def _update(u: Update) -> dict[str, Any]:
    return {
        "tick": u.tick, "seq": u.seq, "resync": u.resync, "shift": u.shift,
        "originX": u.origin_x, "originY": u.origin_y, "added": [_ref(r) for r in u.new],
        "updated": [_ref(r) for r in u.updated], "removed": list(u.removed),
    }  # fmt: skip


def _prediction(r: Reference, tick: int) -> dict[str, Any]:
    x, y = r.metres_at(tick)
    vx, vy = r.velocity_at(tick)
    return {
        "id": r.id, "kind": r.kind, "flags": r.flags, "x": x, "y": y,
        "vx": vx * TICK_HZ / 256, "vy": vy * TICK_HZ / 256,
        "angle": r.angle_at(tick) / 65536 * 2 * np.pi,
    }  # fmt: skip


def _record(clients: int, ticks: int) -> list[list[bytes]]:
    """Frames of `clients` players of a 60-player crowd, some resynced along the way."""
    run = CrowdRun(60, seed=4)
    engine = ViewEngine(600.0, threshold_m=0.5)
    slots = [engine.add_client() for _ in range(clients)]
    frames: list[list[bytes]] = [[] for _ in slots]
    for t in range(ticks):
        frame, rows = run.step()
        if t == ticks // 2:
            engine.resync(slots[0])
        batch = engine.update_frame(frame, slots, frame.x[rows[:clients]], frame.y[rows[:clients]])
        for i in range(clients):
            frames[i].append(bytes(batch.frame(i)))
    return frames


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node (installed on this machine)")
def test_js_and_python_decoders_agree(tmp_path: Path) -> None:
    frames = _record(clients=6, ticks=80)
    assert sum(len(f) for fs in frames for f in fs) > 6 * 80 * 26  # records, not only headers
    controls = [(0.0, 0.0, False), (1.0, -1.0, True), (0.3, 0.7, False), (0.9, -0.2, True)]
    ahead = 3
    (tmp_path / "snapshot2.mjs").write_text(JS.read_text())
    (tmp_path / "run.mjs").write_text(RUNNER)
    data = {
        "tickHz": TICK_HZ,
        "ahead": ahead,
        "clients": [[f.hex() for f in fs] for fs in frames],
        "bad": {name: f.hex() for name, f in BAD_FRAMES.items()},
        "controls": controls,
    }
    (tmp_path / "in.json").write_text(json.dumps(data))
    proc = subprocess.run(
        ["node", str(tmp_path / "run.mjs"), str(tmp_path / "in.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    js = json.loads(proc.stdout)
    for i, fs in enumerate(frames):
        view = ClientView()
        updates = [view.apply_frame(f) for f in fs]
        got = js["clients"][i]
        assert got["updates"] == [_update(u) for u in updates]
        ids = sorted(view.entities)
        assert got["entities"] == [_ref(view.entities[k]) for k in ids]
        tick = view.tick + ahead
        assert got["predictions"] == [_prediction(view.entities[k], tick) for k in ids]
    assert js["bad"] == dict.fromkeys(BAD_FRAMES, "BAD_FRAME")
    assert js["controls"] == [list(encode_controls(*c)) for c in controls]
