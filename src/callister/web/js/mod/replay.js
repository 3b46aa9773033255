// The replay viewer: footage frames from the server (GET /api/mod/footage/{id}/frames, the
// game's own binary snapshot records) drawn by the game client's Renderer and GameState, so a
// moderator sees exactly what players see. Play, pause, scrub, speed, follow an entity.

import { Renderer } from "../render.js";
import { GameState } from "../state.js";
import { applySnapshot, decodeSnapshot } from "../snapshot.js";

const CHUNK_TICKS = 1200; // ticks per frames request (the server allows 2400 frames)
const EVERY = 2; // every 2nd tick: 10 frames/s, like the game's snapshots
const HISTORY = 40; // ticks of frames replayed into a fresh state after a jump backwards

export class ReplayViewer {
  constructor(canvas, authFetch) {
    this.canvas = canvas;
    this.fetch = authFetch;
    this.meta = null;
    this.frames = []; // [{tick, snap}] ascending
    this.tick = 0; // playback position (float ticks)
    this.playing = false;
    this.speed = 1;
    this.follow = 0;
    this.listeners = new Set();
    this._newState();
    this.renderer = new Renderer(canvas, this.state);
    this.renderer.zoom = 0.15;
    this._last = performance.now();
    const loop = (now) => {
      this._frame(now);
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  _newState() {
    const state = new GameState();
    // the replay drives the clock: the renderer draws exactly the playback tick
    state.clock.renderTick = () => (this.frames.length ? this.tick : null);
    this.state = state;
    this.pushed = -1; // index of the last frame pushed into the state
    if (this.renderer) this.renderer.state = state;
    if (this.meta) this._configure();
  }

  _configure() {
    const m = this.meta;
    this.state.welcome({ ship: this.follow, tick_hz: m.tick_hz, snapshot_hz: m.tick_hz / EVERY });
    if (m.system) this.state.enterSystem({ system: m.system, tick: m.start_tick });
    const ents = Object.entries(m.names || {}).map(([id, name]) => ({ id, name, kind: "ship", hull: "" }));
    this.state.addNames({ ents });
  }

  onChange(fn) { this.listeners.add(fn); }
  _changed() { for (const fn of this.listeners) fn(this); }

  async open(footageId) {
    this.playing = false;
    this.meta = await this.fetch(`/api/mod/footage/${footageId}`).then((r) => r.json());
    this.frames = [];
    for (let from = this.meta.start_tick + 1; from <= this.meta.end_tick; from += CHUNK_TICKS) {
      const to = Math.min(this.meta.end_tick, from + CHUNK_TICKS - 1);
      const resp = await this.fetch(`/api/mod/footage/${footageId}/frames?from=${from}&to=${to}&every=${EVERY}`);
      const buf = await resp.arrayBuffer();
      const dv = new DataView(buf);
      let pos = 0;
      let view = new Map();
      while (pos + 4 <= buf.byteLength) {
        const n = dv.getUint32(pos, true);
        const snap = decodeSnapshot(buf.slice(pos + 4, pos + 4 + n));
        view = applySnapshot(view, snap);
        this.frames.push({ tick: snap.tick, snap, view });
        pos += 4 + n;
      }
    }
    this.tick = this.frames.length ? this.frames[0].tick : 0;
    this._newState();
    this._changed();
    return this.meta;
  }

  get start() { return this.frames.length ? this.frames[0].tick : 0; }
  get end() { return this.frames.length ? this.frames[this.frames.length - 1].tick : 0; }

  /** Ships seen anywhere in the footage: [{id, name}] (names from the footage). */
  entities() {
    const names = this.meta?.names || {};
    const ids = new Set();
    for (const f of this.frames) for (const r of f.snap.changed) if (r.kind === 1) ids.add(r.id);
    return [...ids].sort((a, b) => a - b)
      .map((id) => ({ id, name: names[String(id)] || `ship ${id}` }));
  }

  play() { this.playing = true; this._changed(); }
  pause() { this.playing = false; this._changed(); }
  setSpeed(s) { this.speed = Number(s) || 1; this._changed(); }

  seek(tick) {
    const t = Math.max(this.start, Math.min(this.end, Number(tick)));
    if (t < this.tick) this._newState(); // backwards: rebuild the picture from a bit earlier
    this.tick = t;
    this._changed();
  }

  setFollow(id) {
    this.follow = Number(id) || 0;
    if (this.state.me) this.state.me = { ...this.state.me, ship: this.follow };
    this._changed();
  }

  _frame(now) {
    const dt = Math.min(0.25, (now - this._last) / 1000);
    this._last = now;
    if (!this.meta || !this.frames.length) return;
    if (this.playing) {
      this.tick += dt * this.meta.tick_hz * this.speed;
      if (this.tick >= this.end) {
        this.tick = this.end;
        this.playing = false;
        this._changed();
      }
    }
    // push every frame up to the playback tick (plus one ahead, for interpolation)
    const frames = this.frames;
    if (this.pushed < 0) {
      let i = 0;
      while (i + 1 < frames.length && frames[i + 1].tick < this.tick - HISTORY) i++;
      this.pushed = i - 1;
    }
    while (this.pushed + 1 < frames.length && frames[this.pushed + 1].tick <= this.tick + EVERY) {
      this.pushed += 1;
      const f = frames[this.pushed];
      this.state.applySnapshot(f.snap, f.view, now);
    }
    this.renderer.draw(now);
    if (this.playing) this._changed();
  }
}
