// Binary snapshots (docs/protocol.md, "Snapshots"; src/callister/protocol/snapshot.py).
// Pure functions: decode a frame, apply it to the view it is based on.

export const MSG_SNAPSHOT = 1;
export const PROTOCOL_VERSION = 1;
export const FLAG_FULL = 1;
export const HEADER_SIZE = 20;
export const RECORD_SIZE = 24;

// record `kind`
export const KIND_SHIP = 1;
export const KIND_PROJECTILE = 2;
export const KIND_MISSILE = 3;
export const KIND_WRECK = 4;
// record `flags` bits
export const F_DOCKED = 1;
export const F_THRUSTING = 2;
export const F_JUMPING = 4;
export const F_CRIMINAL = 8;
export const F_SHIELD_HIT = 16; // hit this tick
export const F_MINING = 32;
export const F_NO_FUEL = 64;
export const F_FIRING = 128; // fired this tick

const POS_SCALE = 16;
const VEL_SCALE = 16;
const TURN = 2 * Math.PI;

/**
 * Decode one snapshot frame (ArrayBuffer). Returns
 * {tick, seq, baseSeq, full, changed: [record…], removed: [id…]} or throws Error when malformed.
 * A record is {id, x, y, vx, vy, angle, kind, flags} in metres, m/s and radians; ids are
 * Numbers (the protocol keeps them below 2^53).
 */
export function decodeSnapshot(buffer) {
  if (buffer.byteLength < HEADER_SIZE) throw new Error("snapshot shorter than its header");
  const dv = new DataView(buffer);
  const type = dv.getUint8(0);
  const version = dv.getUint8(1);
  if (type !== MSG_SNAPSHOT || version !== PROTOCOL_VERSION) {
    throw new Error(`not a v${PROTOCOL_VERSION} snapshot (type ${type}, version ${version})`);
  }
  const nChanged = dv.getUint16(2, true);
  const nRemoved = dv.getUint16(4, true);
  const flags = dv.getUint16(6, true);
  const tick = dv.getUint32(8, true);
  const seq = dv.getUint32(12, true);
  const baseSeq = dv.getUint32(16, true);
  const want = HEADER_SIZE + nChanged * RECORD_SIZE + nRemoved * 8;
  if (buffer.byteLength !== want) {
    throw new Error(`snapshot is ${buffer.byteLength} bytes, header says ${want}`);
  }
  const changed = new Array(nChanged);
  let off = HEADER_SIZE;
  for (let i = 0; i < nChanged; i++, off += RECORD_SIZE) {
    changed[i] = {
      id: Number(dv.getBigUint64(off, true)),
      x: dv.getInt32(off + 8, true) / POS_SCALE,
      y: dv.getInt32(off + 12, true) / POS_SCALE,
      vx: dv.getInt16(off + 16, true) / VEL_SCALE,
      vy: dv.getInt16(off + 18, true) / VEL_SCALE,
      angle: (dv.getUint16(off + 20, true) / 65536) * TURN,
      kind: dv.getUint8(off + 22),
      flags: dv.getUint8(off + 23),
    };
  }
  const removed = new Array(nRemoved);
  for (let i = 0; i < nRemoved; i++, off += 8) removed[i] = Number(dv.getBigUint64(off, true));
  return { tick, seq, baseSeq, full: (flags & FLAG_FULL) !== 0 || baseSeq === 0, changed, removed };
}

/** The view (Map id -> record) after `snap`, given the view at snap.baseSeq. Does not mutate. */
export function applySnapshot(baseView, snap) {
  const view = snap.full ? new Map() : new Map(baseView);
  if (!snap.full) for (const id of snap.removed) view.delete(id);
  for (const rec of snap.changed) view.set(rec.id, rec);
  return view;
}

/** True when two records carry the same quantised state (so nothing moved between them). */
export function sameRecord(a, b) {
  return a.x === b.x && a.y === b.y && a.vx === b.vx && a.vy === b.vy &&
    a.angle === b.angle && a.flags === b.flags && a.kind === b.kind;
}
