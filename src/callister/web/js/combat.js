// Weapons, targets and the checks an honest client makes before it asks the server for a shot.
//
// The trigger fires every weapon that can hit (the default), or the one slot the player picked
// (keys 1-4; the same key or 0 goes back to every weapon). "Can hit" is what the server checks
// and the client can see: ammunition, a target for missiles, range, the weapon's arc off the
// nose (`welcome.content.weapons[key].arc`), and a clear line of fire. A slot that cannot hit
// is skipped, not sent: a refused shot is evidence against the player (docs/moderation.md).
//
// The server refuses a shot fired before the weapon has cooled down (COOLDOWN, recorded as
// evidence), so the client keeps each slot's state and sends `fire` only when the slot is
// ready: never more than one message per slot per cooldown.
//
// Readiness comes from the server, not from the wall clock. The server's cooldown runs in
// ticks, and ticks can lag wall time when the server is loaded (it catches up at most a few
// ticks, then drops the backlog), so "cooldown left + arrival time" can be too early. Instead:
//   ready ── fire ──▶ awaiting ── a status shows the slot cooling ──▶ cooling
//   cooling ── a later status shows cooldown 0 ──▶ ready
// Messages arrive in order (one TCP stream), so a status saying 0 after one that showed our
// shot was sent at a tick at or past the end of that cooldown: a shot sent after reading it
// reaches the server later still. That costs on average half the status interval (status
// comes every 4 ticks while cooling) compared with guessing, and never trips the check.
// Fallbacks for lost statuses: an awaited shot no status ever shows (refused without an error
// reaching us, or statuses stopped) frees the slot after the weapon's full cooldown as learnt
// from statuses plus the round trip; a cooling slot whose "0" never comes frees itself a
// while after its expected end. A readiness that came from a fallback makes the next
// confirmation check for stale statuses (the tail of the previous cooldown).

import { KIND_SHIP, KIND_WRECK } from "./snapshot.js";
import { fmtDistance, num } from "./util.js";

const ZERO = 0.001; // s: a status cooldown at or below this is "ready"
const FALLBACK_MS = 600; // a cooling slot with no "ready" status frees itself this long after its end
const STALE_TOLERANCE_MS = 120; // after a fallback: a "new" cooldown must end this much later
const MIN_BACKOFF_MS = 500; // after a refused shot, before that slot tries again
const RANGE_MARGIN = 0.98; // shoot a little inside the range: the target moves while we talk
const ARC_MARGIN_DEG = 3; // and a little inside the arc: so does our nose
export const MINING_RANGE = 150; // m from the rock's surface (sim/rules.py)
export const MINING_MAX_SPEED = 30; // m/s
export const LOOT_RANGE = 200; // m from the wreck
export const LOOT_MAX_SPEED = 60; // m/s

class Slot {
  constructor(key) {
    this.key = key;
    this.phase = "ready"; // "ready" | "awaiting" | "cooling"
    this.firedAt = -Infinity; // performance.now() of the last shot sent
    this.bearing = null; // degrees off the nose of the last shot's target (learning an arc)
    this.estEnd = 0; // when the current cooldown should end (display; ms)
    this.prevEnd = 0; // estEnd of the cooldown before the last shot (stale check)
    this.fallbackAt = Infinity; // cooling: ready anyway at this time if no status says so
    this.notBefore = 0; // no shot before this (back-off after a refusal)
    this.loose = false; // the last readiness came from a fallback, not from the server
    this.shots = 0;
  }
}

/** Weapon slots as the newest status describes them, with each slot's readiness. */
export class Weapons {
  constructor() {
    this.slots = [];
    this.weapons = []; // status.weapons (entries may be null for empty slots)
    this.selected = -1; // slot index, or -1: every weapon (the default)
    this.learnt = new Map(); // weapon key -> longest cooldown seen in a status (s): ~ the full one
    this.content = {}; // welcome.content.weapons: key -> {name, kind, range, cooldown, ammo, arc}
    this.arcLearnt = new Map(); // weapon key -> an arc (deg) learnt from a refusal (no content arc)
    this.rttMs = 200;
    this.sent = 0;
    this.trace = null; // set to [] to record decisions (debugging): [ms, what, slot, …]
  }

  _log(...entry) {
    if (this.trace) {
      this.trace.push([Math.round(performance.now()), ...entry]);
      if (this.trace.length > 500) this.trace.shift();
    }
  }

  reset() {
    this.slots = [];
    this.weapons = [];
  }

  /** The weapons of `welcome.content` (their arcs, among others). */
  setContent(content) {
    const w = content && typeof content === "object" ? content.weapons : null;
    this.content = w && typeof w === "object" ? w : {};
  }

  /**
   * The half-angle (degrees) off the nose a slot may fire at: the status's or the content's
   * word, else what a refusal taught, else a turret (180).
   */
  arc(i) {
    const w = this.weapons[i];
    const key = w?.key;
    for (const v of [w?.arc, key ? this.content[key]?.arc : undefined]) {
      const n = Number(v);
      if (v !== undefined && v !== null && Number.isFinite(n) && n > 0) return Math.min(180, n);
    }
    return this.arcLearnt.get(key) ?? 180;
  }

  /** Fold in a `status` (arrived at nowMs). */
  update(status, nowMs) {
    const list = Array.isArray(status?.weapons) ? status.weapons : [];
    this.weapons = list;
    if (this.selected >= list.length) this.selected = -1;
    for (let i = 0; i < list.length; i++) {
      const w = list[i];
      const key = w && typeof w.key === "string" ? w.key : "";
      let slot = this.slots[i];
      if (!slot || slot.key !== key) slot = this.slots[i] = new Slot(key); // a new module
      if (!key) continue;
      const c = Math.max(0, Number(w.cooldown) || 0);
      if (c > (this.learnt.get(key) ?? 0)) this.learnt.set(key, c);
      const end = nowMs + c * 1000;
      if (slot.phase === "awaiting") {
        if (c <= ZERO) continue; // sent before our shot was applied
        if (slot.loose && end <= slot.prevEnd + STALE_TOLERANCE_MS) {
          this._log("stale", i, c);
          continue; // the tail of the cooldown before our shot
        }
        this._log("cooling", i, c);
        slot.phase = "cooling";
        slot.loose = false;
        slot.estEnd = end;
        slot.fallbackAt = end + FALLBACK_MS + this.rttMs;
      } else if (slot.phase === "cooling") {
        if (c <= ZERO) {
          this._log("ready", i);
          slot.phase = "ready";
          slot.loose = false;
        } else {
          slot.estEnd = end;
          slot.fallbackAt = Math.max(slot.fallbackAt, end + FALLBACK_MS + this.rttMs);
        }
      } else if (c > ZERO) {
        this._log("busy", i, c); // cooling without our shot (another window, a refit): honour it
        slot.phase = "cooling";
        slot.estEnd = end;
        slot.fallbackAt = end + FALLBACK_MS + this.rttMs;
      }
    }
    this.slots.length = list.length;
  }

  /** Full cooldown of a weapon in ms as far as statuses told (0 when not seen yet). */
  cooldownMs(key) {
    return (this.learnt.get(key) ?? 0) * 1000;
  }

  /** Move a slot along its fallbacks; returns it (or undefined). */
  _advance(i, nowMs) {
    const slot = this.slots[i];
    if (!slot || !slot.key) return slot;
    if (slot.phase === "awaiting") {
      const timeout = Math.max(this.cooldownMs(slot.key), 250) + this.rttMs + FALLBACK_MS;
      if (nowMs - slot.firedAt > timeout) {
        // no status ever showed the shot: it was not taken, or statuses are late; wait one
        // more full cooldown in case it is still on its way
        this._log("timeout", i);
        slot.phase = "cooling";
        slot.estEnd = nowMs + Math.max(this.cooldownMs(slot.key), 250);
        slot.fallbackAt = slot.estEnd;
        slot.loose = true;
      }
    }
    if (slot.phase === "cooling" && nowMs >= slot.fallbackAt) {
      this._log("fallback", i);
      slot.phase = "ready";
      slot.loose = true;
    }
    return slot;
  }

  ready(i, nowMs) {
    const slot = this._advance(i, nowMs);
    return !!slot && !!slot.key && slot.phase === "ready" && nowMs >= slot.notBefore;
  }

  /** Seconds until the slot is ready, for display (0: ready; Infinity: waiting for the server). */
  remaining(i, nowMs) {
    const slot = this._advance(i, nowMs);
    if (!slot || !slot.key) return Infinity;
    if (slot.phase === "awaiting") return Infinity;
    const until = Math.max(slot.phase === "cooling" ? slot.estEnd : 0, slot.notBefore);
    if (until > nowMs) return (until - nowMs) / 1000;
    return slot.phase === "ready" ? 0 : Infinity; // cooled down; the server's word is on its way
  }

  noteFired(i, nowMs, bearing = null) {
    const slot = this.slots[i];
    if (!slot) return;
    slot.prevEnd = slot.estEnd;
    slot.firedAt = nowMs;
    slot.bearing = bearing;
    slot.phase = "awaiting";
    slot.shots += 1;
    this.sent += 1;
    this._log("fire", i);
  }

  /**
   * The server refused a shot: the oldest awaiting slot waits out a back-off, then may try
   * again. "Outside the weapon's arc" teaches that slot's arc when the content did not say it.
   */
  noteRefused(code, nowMs, message = "") {
    let oldest = null;
    for (const slot of this.slots) {
      if (slot && slot.phase === "awaiting" && (!oldest || slot.firedAt < oldest.firedAt)) oldest = slot;
    }
    if (!oldest) return;
    this._log("refused", this.slots.indexOf(oldest), code);
    if (code === "OUT_OF_RANGE" && /\barc\b/i.test(message) && oldest.bearing !== null) {
      const had = this.arcLearnt.get(oldest.key) ?? 180;
      this.arcLearnt.set(oldest.key, Math.max(1, Math.min(had, oldest.bearing - ARC_MARGIN_DEG)));
    }
    const backoff = Math.max(this.cooldownMs(oldest.key), MIN_BACKOFF_MS);
    oldest.notBefore = nowMs + backoff;
    if (code === "COOLDOWN") {
      // the server is still cooling: wait for its "0" as after any shot
      oldest.phase = "cooling";
      oldest.estEnd = nowMs + backoff;
      oldest.fallbackAt = nowMs + backoff + this.rttMs + FALLBACK_MS;
    } else {
      oldest.phase = "ready"; // nothing started cooling
    }
    oldest.loose = true;
  }

  /** Slots the trigger fires now: the selected one, or every slot with a weapon. */
  selection() {
    if (this.selected === -1) return this.weapons.map((w, i) => (w && w.key ? i : -1)).filter((i) => i >= 0);
    return this.weapons[this.selected]?.key ? [this.selected] : [];
  }

  /** Pick one slot (or -1: every weapon); picking the picked slot again goes back to all. */
  select(i) {
    if (i >= 0 && i === this.selected) i = -1;
    if (i === -1 || (i >= 0 && i < this.weapons.length && this.weapons[i]?.key)) this.selected = i;
    return this.selected;
  }

  /** A plain summary for tests (window.callister.weapons()). */
  summary(nowMs) {
    return {
      selected: this.selected,
      sent: this.sent,
      slots: this.weapons.map((w, i) => ({
        key: w?.key ?? null, ready: this.ready(i, nowMs), phase: this.slots[i]?.phase ?? null,
        remaining: this.remaining(i, nowMs), shots: this.slots[i]?.shots ?? 0,
        cooldown: this.cooldownMs(w?.key) / 1000, arc: w?.key ? this.arc(i) : null,
        blocked: this.verdicts?.[i] ?? "",
      })),
    };
  }
}

// ---------------------------------------------------------------------------- aiming
/**
 * Where the locked target is for our weapons: null without a locked ship in view, else
 * {id, dist, soon (distance when a shot sent now arrives), bearing (degrees off our nose),
 * docked, blocked (what is in the line of fire, or "")}. `leadS`: half the round trip plus a
 * tick or two.
 */
export function aimAt(state, own, leadS) {
  const id = state.target;
  const track = id ? state.tracks.get(id) : null;
  if (!own || !track?.last || track.kind !== KIND_SHIP) return null;
  const t = track.last;
  const dx = t.x - own.x;
  const dy = t.y - own.y;
  const dist = Math.hypot(dx, dy);
  const soon = Math.hypot(dx + (t.vx - own.vx) * leadS, dy + (t.vy - own.vy) * leadS);
  let off = (Math.atan2(dy, dx) - own.angle) % (2 * Math.PI);
  if (off > Math.PI) off -= 2 * Math.PI;
  if (off < -Math.PI) off += 2 * Math.PI;
  return {
    id, dist, soon, bearing: Math.abs(off) * (180 / Math.PI), docked: (t.flags & 1) !== 0,
    blocked: lineBlocked(state, own.x, own.y, t.x, t.y) ?? "",
  };
}

/**
 * Why slot i cannot hit now (a short sentence), or "" when it can. `tgt` from aimAt (null:
 * no target, the shot goes straight ahead).
 */
export function slotBlock(weapons, i, tgt) {
  const w = weapons.weapons[i];
  if (!w || !w.key) return "empty slot";
  const name = w.name || w.key;
  if (w.ammo !== null && w.ammo !== undefined && Number(w.ammo) <= 0) return `${name}: no ammunition — rearm at a station`;
  const kind = w.kind || weapons.content[w.key]?.kind;
  if (kind === "missile" && !tgt) return `${name} needs a locked target ship (T or click it)`;
  if (!tgt) return "";
  if (tgt.docked) return "The target is docked: it cannot be attacked";
  const range = Number(w.range) || Number(weapons.content[w.key]?.range) || 0;
  if (range && (tgt.dist > range * RANGE_MARGIN || tgt.soon > range * RANGE_MARGIN)) {
    return `Target out of range (${name}: ${fmtDistance(range)})`;
  }
  const arc = weapons.arc(i);
  if (arc < 180 && tgt.bearing > arc - ARC_MARGIN_DEG) return `${name} fires within ±${Math.round(arc)}° of the nose — turn towards the target`;
  if (tgt.blocked) return `No line of fire: ${tgt.blocked} in the way`;
  return "";
}

// ---------------------------------------------------------------------------- geometry
/** Distance from point (px, py) to the segment (ax, ay)-(bx, by). */
export function segmentDistance(ax, ay, bx, by, px, py) {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2)) : 0;
  return Math.hypot(ax + dx * t - px, ay + dy * t - py);
}

/**
 * What blocks a shot from a to b (the server refuses it NO_LINE_OF_FIRE): a rock, a station or
 * the star. Returns a short description or null when the line is clear.
 */
export function lineBlocked(state, ax, ay, bx, by) {
  const sys = state.system;
  if (!sys) return null;
  const starR = num(sys.star, "radius", "r") ?? 0;
  if (starR && segmentDistance(ax, ay, bx, by, 0, 0) < starR) return "the star";
  for (const s of Array.isArray(sys.stations) ? sys.stations : []) {
    const r = num(s, "radius") ?? 0;
    if (!r) continue;
    const sx = num(s, "x") ?? 0;
    const sy = num(s, "y") ?? 0;
    // a ship inside the station's own disc (just undocked) is not blocked by it
    if (Math.hypot(ax - sx, ay - sy) <= r || Math.hypot(bx - sx, by - sy) <= r) continue;
    if (segmentDistance(ax, ay, bx, by, sx, sy) < r) return typeof s.name === "string" ? s.name : "a station";
  }
  const minX = Math.min(ax, bx);
  const maxX = Math.max(ax, bx);
  const minY = Math.min(ay, by);
  const maxY = Math.max(ay, by);
  for (const k of state.rocks()) {
    if (k.x + k.r < minX || k.x - k.r > maxX || k.y + k.r < minY || k.y - k.r > maxY) continue;
    if (segmentDistance(ax, ay, bx, by, k.x, k.y) < k.r) return "an asteroid";
  }
  return null;
}

/** Ships (not ours, not docked) sorted by distance from (x, y): [{id, dist}]. */
export function shipsByDistance(state, x, y, kind = KIND_SHIP) {
  const out = [];
  for (const [id, track] of state.tracks) {
    if (id === state.ship || track.kind !== kind || !track.last) continue;
    if (kind === KIND_SHIP && (track.last.flags & 1)) continue; // docked: cannot be hit
    out.push({ id, dist: Math.hypot(track.last.x - x, track.last.y - y) });
  }
  out.sort((a, b) => a.dist - b.dist || a.id - b.id);
  return out;
}

/** The next target for T (ships) or Shift+T (wrecks): nearest first, then onwards. */
export function nextTarget(state, x, y, kind = KIND_SHIP) {
  const list = shipsByDistance(state, x, y, kind);
  if (!list.length) return 0;
  const at = list.findIndex((e) => e.id === state.target);
  return list[(at + 1) % list.length].id;
}

export const isTargetable = (kind) => kind === KIND_SHIP || kind === KIND_WRECK;
