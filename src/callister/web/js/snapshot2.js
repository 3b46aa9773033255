// Protocol v2 (docs/protocol.md, "Protocol v2"; src/callister/protocol/updates.py and
// reckoning.py): decode update frames, keep the view they describe, predict every entity by
// dead reckoning with the same integer model the server uses, and encode binary controls.
// Pure functions and one small class; no I/O. Every integer stays below 2^53, so Numbers
// compute exactly what the server computes.

export const MSG_UPDATE = 2;
export const PROTOCOL_VERSION = 2;
export const FLAG_RESYNC = 1;
export const HEADER_SIZE = 26;
export const BODY_SIZE = 14;
export const MAX_SHIFT = 8;
export const MAX_ENTITY_ID = 2 ** 53 - 1;
export const RECORD_FLAGS = 0x6f; // docked, thrusting, jump charging, criminal, mining, no fuel

// units (reckoning.py)
export const FINE_PER_M = 1024; // positions and predictions in 1/1024 m
export const QUARTER_FINE = 256; // the origin's unit, 1/4 m
export const VEL_FINE = 4; // velocity unit 1/256 m per tick
export const ACC_FINE = 4; // acceleration unit 1/256 m per tick^2
export const SPIN_ANGLE = 32; // spin unit 1/2048 turn per tick, in 1/65536 turn

export const CONTROLS_TYPE = 2;

/** Fine-unit coordinate `ticks` after a reference at p0 with velocity v and acceleration a. */
export function predictPosition(p0, v, a, ticks) {
  return p0 + VEL_FINE * v * ticks + (ACC_FINE / 2) * a * ticks * (ticks + 1);
}

/** Heading (1/65536 turn) `ticks` after the reference, in [0, 65536). */
export function predictAngle(angle0, spin, ticks) {
  const a = (angle0 + SPIN_ANGLE * spin * ticks) % 65536;
  return a < 0 ? a + 65536 : a;
}

function fail(message) {
  const err = new Error(message);
  err.code = "BAD_FRAME";
  return err;
}

/**
 * Decode one update frame (ArrayBuffer or typed-array view). Returns {tick, seq, resync,
 * shift, originX, originY, added: [ref…], updated: [ref…], removed: [id…]}; a ref is
 * {id, kind, t0, x, y, vx, vy, ax, ay, angle, spin, flags} in the units above (x, y absolute,
 * fine units; `kind` 0 in `updated`). Throws an Error with code "BAD_FRAME" when malformed.
 */
export function decodeUpdate(data) {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(
    data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < HEADER_SIZE) throw fail("update frame shorter than its 26-byte header");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint8(0);
  if (type !== MSG_UPDATE) throw fail(`frame type ${type} is not a v2 update (2)`);
  const flags = dv.getUint8(1);
  const shift = dv.getUint8(2);
  if ((flags & ~FLAG_RESYNC) !== 0 || dv.getUint8(3) !== 0 || shift > MAX_SHIFT) {
    throw fail("update header has bits this version lacks");
  }
  const tick = dv.getUint32(4, true);
  const seq = dv.getUint32(8, true);
  const originX = dv.getInt32(12, true);
  const originY = dv.getInt32(16, true);
  const counts = [dv.getUint16(20, true), dv.getUint16(22, true), dv.getUint16(24, true)];
  const step = QUARTER_FINE * 2 ** shift;
  let pos = HEADER_SIZE;

  function nextId(prev) {
    let value = 0;
    for (let i = 0; i < 8; i++) {
      if (pos >= bytes.length) throw fail("update frame ends inside an id");
      const b = bytes[pos++];
      value += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) {
        const id = prev + value;
        if (value === 0 || id > MAX_ENTITY_ID) {
          throw fail("ids in a section must ascend and stay within 2^53 - 1");
        }
        return id;
      }
    }
    throw fail("an id varint is longer than 8 bytes");
  }

  function body(id, kind) {
    if (pos + BODY_SIZE > bytes.length) throw fail("update frame ends inside a record");
    const ref = {
      id,
      kind,
      t0: tick,
      x: originX * QUARTER_FINE + dv.getInt16(pos, true) * step,
      y: originY * QUARTER_FINE + dv.getInt16(pos + 2, true) * step,
      vx: dv.getInt16(pos + 4, true),
      vy: dv.getInt16(pos + 6, true),
      ax: dv.getInt8(pos + 8),
      ay: dv.getInt8(pos + 9),
      angle: dv.getUint16(pos + 10, true),
      spin: dv.getInt8(pos + 12),
      flags: dv.getUint8(pos + 13),
    };
    if ((ref.flags & ~RECORD_FLAGS) !== 0) throw fail(`record flags ${ref.flags} out of the set`);
    pos += BODY_SIZE;
    return ref;
  }

  const added = [];
  let prev = 0;
  for (let i = 0; i < counts[0]; i++) {
    prev = nextId(prev);
    if (pos >= bytes.length) throw fail("update frame ends inside a record");
    const kind = bytes[pos++];
    if (kind < 1 || kind > 4) throw fail(`entity kind ${kind} is not 1-4`);
    added.push(body(prev, kind));
  }
  const updated = [];
  prev = 0;
  for (let i = 0; i < counts[1]; i++) {
    prev = nextId(prev);
    updated.push(body(prev, 0));
  }
  const removed = [];
  prev = 0;
  for (let i = 0; i < counts[2]; i++) {
    prev = nextId(prev);
    removed.push(prev);
  }
  if (pos !== bytes.length) throw fail(`update frame has ${bytes.length - pos} bytes past its end`);
  return { tick, seq, resync: (flags & FLAG_RESYNC) !== 0, shift, originX, originY, added,
    updated, removed };
}

/**
 * What a v2 client knows: one reference per entity in view (Map id -> ref). `apply` throws a
 * BAD_FRAME Error, changing nothing, when an update does not fit (a sequence gap without
 * RESYNC, an update or removal of an entity not held, a new one already held): send
 * {"t":"resync"} then.
 */
export class View2 {
  constructor() {
    this.entities = new Map();
    this.seq = 0;
    this.tick = 0;
    this.originX = 0;
    this.originY = 0;
  }

  apply(update) {
    if (!update.resync && update.seq !== ((this.seq + 1) >>> 0)) {
      throw fail(`update ${update.seq} after ${this.seq} without RESYNC`);
    }
    const next = update.resync ? new Map() : new Map(this.entities);
    for (const ref of update.added) {
      if (next.has(ref.id)) throw fail(`entity ${ref.id} is already in view`);
      next.set(ref.id, ref);
    }
    for (const ref of update.updated) {
      const old = next.get(ref.id);
      if (old === undefined) throw fail(`update of ${ref.id}, not in view`);
      next.set(ref.id, { ...ref, kind: old.kind });
    }
    for (const id of update.removed) {
      if (!next.delete(id)) throw fail(`removal of ${id}, not in view`);
    }
    this.entities = next;
    this.seq = update.seq;
    this.tick = update.tick;
    this.originX = update.originX;
    this.originY = update.originY;
    return update;
  }

  applyFrame(data) {
    return this.apply(decodeUpdate(data));
  }

  /**
   * Where entity `id` is predicted at `tick` (may be fractional, for rendering between
   * ticks): {x, y} metres, {vx, vy} m/s (given the server's tick rate), angle in radians
   * (counter-clockwise from +x), kind and flags; null when it is not in view.
   */
  predict(id, tick, tickHz) {
    const r = this.entities.get(id);
    if (r === undefined) return null;
    const t = tick - r.t0;
    return {
      id,
      kind: r.kind,
      flags: r.flags,
      x: predictPosition(r.x, r.vx, r.ax, t) / FINE_PER_M,
      y: predictPosition(r.y, r.vy, r.ay, t) / FINE_PER_M,
      vx: ((r.vx + r.ax * t) * tickHz) / 256,
      vy: ((r.vy + r.ay * t) * tickHz) / 256,
      angle: (predictAngle(r.angle, r.spin, t) / 65536) * 2 * Math.PI,
    };
  }
}

/** The 4-byte binary controls frame: thrust 0..1, turn -1..1 (+ counter-clockwise), brake. */
export function encodeControls(thrust, turn, brake) {
  const t = Math.round(Math.min(1, Math.max(0, thrust)) * 255);
  const u = Math.round(Math.min(1, Math.max(-1, turn)) * 127);
  return new Uint8Array([CONTROLS_TYPE, brake ? 1 : 0, t, u & 0xff]);
}
