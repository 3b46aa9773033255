// What the client knows about the world, and the entity interpolation buffer.
//
// Snapshots carry the server tick. A TickClock maps local time to server ticks; the renderer
// draws every entity at `renderTick()`, about 100 ms in the past, interpolating between the two
// samples around that time (cubic Hermite with the sampled velocities) and extrapolating with the
// last velocity when an entity has not been updated (far entities update at a quarter rate).

import { F_DOCKED, F_JUMPING, KIND_SHIP, KIND_WRECK, sameRecord } from "./snapshot.js";
import { lerpAngle, num, secKey, secStr } from "./util.js";

const MAX_SAMPLES = 12;
const MAX_EXTRAPOLATE_S = 1.0; // beyond this, an un-updated entity waits where it was predicted
const CLOCK_RESET_TICKS = 40; // a sample this far from the estimate restarts the clock

/** Maps performance.now() to the server's (fractional) tick. */
export class TickClock {
  constructor(tickHz = 20, snapshotHz = 10) {
    this.configure(tickHz, snapshotHz);
    this.offset = null; // server tick minus local tick, from the least-delayed snapshots
    this.jitter = 0; // ticks: how late snapshots usually are against the best one
    this.delay = null; // ticks rendered in the past (smoothed)
    this.shown = null; // the displayed offset, slewing towards offset - delay
    this._lastNow = null;
    this._lastTick = null;
  }

  configure(tickHz, snapshotHz) {
    this.tickHz = tickHz > 0 ? tickHz : 20;
    this.snapshotHz = snapshotHz > 0 ? snapshotHz : 10;
  }

  localTicks(nowMs) {
    return (nowMs * this.tickHz) / 1000;
  }

  observe(tick, nowMs) {
    const sample = tick - this.localTicks(nowMs);
    if (this.offset === null || Math.abs(sample - this.offset) > CLOCK_RESET_TICKS) {
      this.offset = sample;
      this.jitter = 0;
      this.shown = null;
      return;
    }
    if (sample > this.offset) {
      this.offset = sample;
    } else {
      this.jitter = this.jitter * 0.9 + (this.offset - sample) * 0.1;
      // drift towards later samples so a server running slow is followed within seconds
      this.offset -= 0.03;
    }
  }

  /** The server tick now (fractional), or null before the first snapshot. */
  serverTick(nowMs) {
    return this.offset === null ? null : this.localTicks(nowMs) + this.offset;
  }

  /**
   * The tick to draw: about 100 ms in the past plus the observed jitter. The displayed clock
   * slews (runs at most 8% fast or slow) towards its target instead of jumping when the
   * estimate moves, so motion stays smooth; it snaps only when far off.
   */
  renderTick(nowMs) {
    if (this.offset === null) return null;
    if (nowMs === this._lastNow) return this._lastTick;
    const period = this.tickHz / this.snapshotHz;
    const want = Math.max(this.tickHz * 0.1, period) + Math.min(this.tickHz * 0.25, 2 * this.jitter);
    this.delay = this.delay === null ? want : this.delay + (want - this.delay) * 0.02;
    const target = this.offset - this.delay;
    if (this.shown === null || this._lastNow === null || Math.abs(target - this.shown) > 5) {
      this.shown = target;
    } else {
      const maxStep = Math.max(0, this.localTicks(nowMs - this._lastNow)) * 0.08;
      this.shown += Math.max(-maxStep, Math.min(maxStep, target - this.shown));
    }
    this._lastNow = nowMs;
    this._lastTick = this.localTicks(nowMs) + this.shown;
    return this._lastTick;
  }

  reset() {
    this.offset = null;
    this.jitter = 0;
    this.shown = null;
    this._lastNow = null;
  }
}

/** One entity's recent samples (server records stamped with the tick they were first seen). */
export class Track {
  constructor(id) {
    this.id = id;
    this.kind = KIND_SHIP;
    this.samples = [];
    this.last = null; // the newest record
  }

  push(tick, rec) {
    this.kind = rec.kind;
    this.last = rec;
    const samples = this.samples;
    if (samples.length && samples[samples.length - 1].t >= tick) samples.pop();
    samples.push({ t: tick, x: rec.x, y: rec.y, vx: rec.vx, vy: rec.vy, angle: rec.angle, flags: rec.flags });
    if (samples.length > MAX_SAMPLES) samples.shift();
  }

  /** Position, velocity, angle and flags at (fractional) tick `t`. */
  at(t, tickHz) {
    const s = this.samples;
    if (!s.length) return null;
    let i = s.length - 1;
    while (i > 0 && s[i].t > t) i--;
    const a = s[i];
    if (t <= a.t || i === s.length - 1) {
      // before the first sample: hold it; after the newest: extrapolate with its velocity
      const dt = Math.min(Math.max(0, t - a.t) / tickHz, MAX_EXTRAPOLATE_S);
      const still = (a.flags & F_DOCKED) !== 0;
      return {
        x: still ? a.x : a.x + a.vx * dt, y: still ? a.y : a.y + a.vy * dt,
        vx: a.vx, vy: a.vy, angle: a.angle, flags: a.flags, extrapolated: dt > 0,
      };
    }
    const b = s[i + 1];
    const span = (b.t - a.t) / tickHz; // seconds
    const f = (t - a.t) / (b.t - a.t);
    let x;
    let y;
    const jumpDist = Math.hypot(b.x - a.x, b.y - a.y);
    const plausible = jumpDist <= (Math.hypot(a.vx, a.vy) + Math.hypot(b.vx, b.vy)) * span + 50;
    if (plausible) {
      // cubic Hermite: positions and velocities at both ends (smooth curves through turns)
      const f2 = f * f;
      const f3 = f2 * f;
      const h00 = 2 * f3 - 3 * f2 + 1;
      const h10 = f3 - 2 * f2 + f;
      const h01 = -2 * f3 + 3 * f2;
      const h11 = f3 - f2;
      x = h00 * a.x + h10 * span * a.vx + h01 * b.x + h11 * span * b.vx;
      y = h00 * a.y + h10 * span * a.vy + h01 * b.y + h11 * span * b.vy;
    } else {
      // a teleport (collision push-out, undock placement): no curve through it
      x = a.x + (b.x - a.x) * f;
      y = a.y + (b.y - a.y) * f;
    }
    return {
      x, y, vx: a.vx + (b.vx - a.vx) * f, vy: a.vy + (b.vy - a.vy) * f,
      angle: lerpAngle(a.angle, b.angle, f), flags: f < 0.5 ? a.flags : b.flags, extrapolated: false,
    };
  }
}

/** The whole client-side picture: who we are, where, and what we see. */
export class GameState {
  constructor() {
    this.clock = new TickClock();
    this.me = null; // the welcome message
    this.system = null; // the system dict (StarSystem.to_dict())
    this.sector = null; // [x, y] decimal strings
    this.systemTick = 0; // tick given with the system message
    this.names = new Map(); // entity id -> {name, hull}
    this.tracks = new Map(); // entity id -> Track
    this.lastTick = 0;
    this.docked = false;
    this.dockedAt = null;
    this.jump = null; // {to: [x, y], startMs, durationMs}
    this.visited = new Set(); // sector keys of discovered systems
    this.arrivals = 0;
    this.listeners = new Set();
    // issue 3: combat, death, economy
    this.status = null; // the newest `status` message (vitals, weapons, cargo, credits, target)
    this.statusAt = 0; // performance.now() when it arrived
    this.credits = null; // newest of status / market / receipt
    this.target = 0; // the locked entity id (0: none)
    this.targetLostMs = 0; // when the locked entity left the view (auto-clear after a while)
    this.market = null; // the newest `market` message (the station screen)
    this.cargo = {}; // item -> qty in our hold (market and receipts)
    this.marketAt = 0;
    this.distress = []; // [{from, x, y, sector, atMs, untilMs}] calls for help in view
    this.dead = null; // {by, atMs, respawned: bool} between `destroyed` and the next ship
    this.respawns = 0;
    this._rocks = null; // [{x, y, r, field, index}] of the current system, in global order
  }

  get ship() {
    return this.me ? Number(this.me.ship) : 0;
  }

  get tickHz() {
    return this.clock.tickHz;
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  _changed(what) {
    for (const fn of this.listeners) fn(what);
  }

  // ------------------------------------------------------------- protocol messages
  welcome(msg) {
    this.me = msg;
    // the server's word on our ship: a reconnect after a respawn brings the new id
    if (this.dead && this.dead.respawned) this.dead = null;
    this.clock.configure(Number(msg.tick_hz) || 20, Number(msg.snapshot_hz) || 10);
    this._changed("welcome");
  }

  enterSystem(msg) {
    const sys = msg.system || {};
    this.system = sys;
    this.sector = [secStr(sys.x ?? 0), secStr(sys.y ?? 0)];
    this.systemTick = Number(msg.tick) || 0;
    this.tracks.clear();
    this.jump = null;
    this._rocks = null;
    this.market = null;
    const here = secKey(this.sector[0], this.sector[1]);
    this.distress = this.distress.filter((d) => d.sector === here);
    this.visited.add(secKey(this.sector[0], this.sector[1]));
    this.arrivals += 1;
    this._changed("system");
  }

  addNames(msg) {
    for (const e of msg.ents || []) {
      this.names.set(Number(e.id), {
        name: String(e.name ?? ""), hull: String(e.hull ?? ""), kind: String(e.kind ?? "ship"),
        mod: e.mod === true, // a moderator's ship (issue 6): drawn with a "MOD" tag
        gm: e.gm === true, // a game master's ship (issue 18): drawn with a "GM" tag
        invisible: e.invisible === true, // ...that only its own pilot sees
      });
    }
    if (this.names.size > 5000) {
      // keep the map bounded in a long session: forget names of entities we no longer see
      for (const id of this.names.keys()) if (!this.tracks.has(id)) this.names.delete(id);
    }
  }

  applySnapshot(snap, view, nowMs) {
    this.clock.observe(snap.tick, nowMs);
    this.lastTick = snap.tick;
    const tracks = this.tracks;
    for (const [id, rec] of view) {
      let track = tracks.get(id);
      if (!track) {
        track = new Track(id);
        tracks.set(id, track);
      }
      // an unchanged record is an entity not updated this time (or not moving): keep the tick
      // it was first seen at, so extrapolation starts from the right moment
      if (!track.last || !sameRecord(track.last, rec)) track.push(snap.tick, rec);
    }
    for (const id of tracks.keys()) if (!view.has(id)) tracks.delete(id);
    if (this.target) {
      if (tracks.has(this.target)) this.targetLostMs = 0;
      else if (!this.targetLostMs) this.targetLostMs = nowMs;
    }
    const own = view.get(this.ship);
    if (own) {
      const docked = (own.flags & F_DOCKED) !== 0;
      if (docked !== this.docked) {
        this.docked = docked;
        if (!docked) this.dockedAt = null;
        this._changed("docked");
      }
      if (this.jump) {
        // the charge can end without an arrival (docking cancels it): follow the JUMPING flag
        const charging = (own.flags & F_JUMPING) !== 0;
        if (charging) this.jump.seen = true;
        else if (this.jump.seen || nowMs - this.jump.startMs > this.jump.durationMs + 1000) {
          this.jump = null;
          this._changed("jump");
        }
      }
    }
  }

  event(msg, nowMs) {
    if (Number(msg.ship) !== this.ship) return;
    switch (msg.kind) {
      case "docked":
        this.docked = true;
        this.dockedAt = msg.station ?? null;
        this._changed("docked");
        break;
      case "undocked":
        this.docked = false;
        this.dockedAt = null;
        this._changed("docked");
        break;
      case "jump_charging":
        this.jump = {
          to: (msg.to || []).map(secStr), startMs: nowMs,
          durationMs: ((Number(msg.ticks) || 40) / this.tickHz) * 1000,
        };
        this._changed("jump");
        break;
      case "arrived":
        this.jump = null;
        this._changed("jump");
        break;
      default:
        break;
    }
  }

  /** A `status` message: vitals, weapons, cargo, credits, the locked target. */
  setStatus(msg, nowMs) {
    this.status = msg;
    this.statusAt = nowMs;
    if (msg.cargo && typeof msg.cargo === "object") this.cargo = msg.cargo;
    if (Number.isFinite(Number(msg.credits)) && msg.credits !== null) this.credits = Number(msg.credits);
  }

  setMarket(msg, nowMs) {
    this.market = msg;
    this.marketAt = nowMs;
    if (Number.isFinite(Number(msg.credits)) && msg.credits !== null) this.credits = Number(msg.credits);
  }

  /** Lock (or with 0 clear) the target; returns whether it changed. */
  setTarget(id) {
    id = Number(id) || 0;
    if (id === this.target) return false;
    this.target = id;
    this.targetLostMs = 0;
    this._changed("target");
    return true;
  }

  /** `destroyed`: our ship is gone; its id is retired. */
  destroyed(by, nowMs) {
    this.dead = { by: by ?? null, atMs: nowMs, respawned: false, ship: this.ship };
    this.docked = false;
    this.dockedAt = null;
    this.jump = null;
    this.target = 0;
    this._changed("dead");
  }

  /** `respawned`: follow the new ship id (the client acts for this ship from now on). */
  respawned(ship, nowMs) {
    // a starter hull: its key comes with the new ship's `ents` (hullKey() falls back to it)
    if (this.me) this.me = { ...this.me, ship: Number(ship), hull: null };
    this.respawns += 1;
    if (this.dead) {
      this.dead.respawned = true;
      this.dead.respawnedMs = nowMs;
    }
    this.status = null;
    this._changed("respawned");
  }

  addDistress(msg, nowMs) {
    const at = Array.isArray(msg.at) ? msg.at : [];
    const x = Number(at[0]);
    const y = Number(at[1]);
    if (!Number.isFinite(x) || !Number.isFinite(y) || !this.sector) return null;
    const call = {
      from: String(msg.from ?? "someone"), x, y, atMs: nowMs, untilMs: nowMs + 90000,
      sector: secKey(this.sector[0], this.sector[1]),
    };
    this.distress = this.distress.filter((d) => d.from !== call.from && d.untilMs > nowMs);
    this.distress.push(call);
    if (this.distress.length > 12) this.distress.shift();
    return call;
  }

  // ------------------------------------------------------------- queries
  /** Every rock of the system, numbered in order over all fields (the `mine` message's index). */
  rocks() {
    if (this._rocks) return this._rocks;
    const out = [];
    const fl = Array.isArray(this.system?.fields) ? this.system.fields : [];
    fl.forEach((f, fi) => {
      for (const k of Array.isArray(f?.rocks) ? f.rocks : []) {
        out.push({ x: num(k, "x") ?? 0, y: num(k, "y") ?? 0, r: num(k, "r", "radius") ?? 20,
          field: fi, ore: typeof f.ore === "string" ? f.ore : "", index: out.length });
      }
    });
    this._rocks = out;
    return out;
  }

  /** The rock whose surface is nearest to (x, y): {rock, gap} (gap in m from the surface). */
  nearestRock(x, y) {
    let best = null;
    for (const k of this.rocks()) {
      const gap = Math.hypot(k.x - x, k.y - y) - k.r;
      if (!best || gap < best.gap) best = { rock: k, gap };
    }
    return best;
  }

  /** Our hull's content key: the login's (kept current by purchases), else the name list's. */
  hullKey() {
    return this.me?.hull || this.names.get(this.ship)?.hull || null;
  }

  kindOf(id) {
    return this.tracks.get(id)?.kind ?? (this.names.get(id)?.kind === "wreck" ? KIND_WRECK : 0);
  }

  /** The own ship's newest server record, or null. */
  ownRecord() {
    return this.tracks.get(this.ship)?.last ?? null;
  }

  nameOf(id) {
    return this.names.get(id)?.name ?? "";
  }

  stations() {
    return Array.isArray(this.system?.stations) ? this.system.stations : [];
  }

  /** Nearest station to (x, y): {station, dist} or null. */
  nearestStation(x, y) {
    let best = null;
    for (const s of this.stations()) {
      const d = Math.hypot((num(s, "x") ?? 0) - x, (num(s, "y") ?? 0) - y);
      if (!best || d < best.dist) best = { station: s, dist: d };
    }
    return best;
  }

  /** A plain summary for tests and debugging (window.callister.snapshot()). */
  summary(net) {
    const own = this.ownRecord();
    const entities = {};
    for (const [id, t] of this.tracks) {
      if (!t.last) continue;
      entities[id] = { x: t.last.x, y: t.last.y, vx: t.last.vx, vy: t.last.vy, kind: t.kind,
        flags: t.last.flags, name: this.nameOf(id) };
    }
    return {
      ship: this.ship,
      name: this.me?.name ?? null,
      pos: own ? { x: own.x, y: own.y } : null,
      speed: own ? Math.hypot(own.vx, own.vy) : 0,
      entities,
      visible: Math.max(0, this.tracks.size - (own ? 1 : 0)),
      target: this.target || null,
      credits: this.credits,
      dead: !!this.dead && !this.dead.respawned,
      respawns: this.respawns,
      system: this.system ? { name: this.system.name, x: this.sector[0], y: this.sector[1],
        links: (this.system.links || []).map((l) => l.map(secStr)) } : null,
      docked: this.docked,
      jumping: !!this.jump,
      tick: this.lastTick,
      arrivals: this.arrivals,
      status: net?.status ?? "offline",
      rtt: net?.rtt ?? null,
      snapshots: net?.stats.snapshots ?? 0,
    };
  }
}
