// Ship silhouettes as data: one outline per hull key, in units of the hull's collision radius,
// nose along +x, drawn by render.js. Nothing about a hull's look lives in the drawing code, so
// a server can send its own (a world with its own hulls, issue 18) without a client change:
// `welcome.content.hulls[key]` may carry
//   radius       metres (the collision radius: the drawing's scale)
//   silhouette   [[x, y], …] 3-64 points, |x|, |y| <= 2, in radii; nose along +x
//   engines      [[x, y], …] where the exhaust flames start (default: the tail's middle)
// and what it sends wins over the built-in outlines below. A hull known to neither gets an
// outline derived from its size (a dart for small hulls, a block for big ones), varied by its
// key so two unknown hulls still look different.

import { hash32 } from "./util.js";

/** Mirror a half outline (nose to tail along y <= 0) into a closed one. */
function mirror(half) {
  const back = half.slice().reverse().filter(([, y]) => y !== 0).map(([x, y]) => [x, -y]);
  return [...half, ...back];
}

const BUILT_IN = {
  // a stubby all-rounder: rounded nose, short swept wings, one engine
  shuttle: {
    radius: 12,
    silhouette: mirror([[1, 0], [0.72, -0.2], [0.25, -0.34], [-0.15, -0.4], [-0.55, -0.78], [-0.82, -0.78],
      [-0.7, -0.32], [-0.78, -0.18], [-0.7, 0]]),
    engines: [[-0.74, 0]],
  },
  // a long boxy freighter: blunt cab, a wide cargo body, twin engines
  hauler: {
    radius: 24,
    silhouette: mirror([[1, -0.1], [0.9, -0.3], [0.62, -0.36], [0.5, -0.52], [-0.72, -0.52], [-0.8, -0.62],
      [-1, -0.62], [-1, -0.18], [-0.92, -0.1], [-0.92, 0]]),
    engines: [[-1, -0.4], [-1, 0.4]],
  },
  // a needle with forward-raked wings: fast, narrow, mean
  interceptor: {
    radius: 10,
    silhouette: mirror([[1.3, 0], [0.5, -0.1], [0.05, -0.18], [0.35, -0.78], [0.1, -0.82], [-0.5, -0.3],
      [-0.8, -0.36], [-0.68, -0.1], [-0.75, 0]]),
    engines: [[-0.72, 0]],
  },
};

const MAX_POINTS = 64;
const MAX_COORD = 2;

function validPoints(v, min) {
  if (!Array.isArray(v) || v.length < min || v.length > MAX_POINTS) return null;
  const out = [];
  for (const p of v) {
    if (!Array.isArray(p) || p.length !== 2) return null;
    const x = Number(p[0]);
    const y = Number(p[1]);
    if (!Number.isFinite(x) || !Number.isFinite(y) || Math.abs(x) > MAX_COORD || Math.abs(y) > MAX_COORD) return null;
    out.push([x, y]);
  }
  return out;
}

/** An outline for a hull nobody described: from its size, varied by its key. */
export function derivedShape(key, radius) {
  const h = hash32(...Array.from(String(key ?? ""), (c) => c.charCodeAt(0)));
  const span = 0.45 + ((h & 0xff) / 255) * 0.35;
  const sweep = ((h >>> 8) & 0xff) / 255;
  if (radius >= 18) {
    // a block with a cab: big hulls read as freighters
    return {
      silhouette: mirror([[1, -0.15], [0.75, -span * 0.7], [-0.9, -span], [-1, -span * 0.5], [-0.95, 0]]),
      engines: [[-0.98, -span * 0.45], [-0.98, span * 0.45]],
    };
  }
  return {
    silhouette: mirror([[1, 0], [0.1, -0.22], [-0.35 - sweep * 0.3, -span - 0.25], [-0.75, -0.3], [-0.6, 0]]),
    engines: [[-0.62, 0]],
  };
}

/**
 * The look of hull `key`: {radius, silhouette, engines}. `served` is `welcome.content.hulls`
 * (or nothing); `fallbackRadius` is used when neither it nor the built-ins know the size.
 */
export function hullShape(key, served, fallbackRadius = 12) {
  const s = served && typeof served === "object" ? served[key] : null;
  const base = BUILT_IN[key];
  const r = Number(s?.radius);
  const radius = Number.isFinite(r) && r > 0 ? r : base?.radius ?? fallbackRadius;
  const silhouette = validPoints(s?.silhouette, 3) ?? base?.silhouette ?? null;
  if (!silhouette) return { radius, ...derivedShape(key, radius), source: "derived" };
  const engines = validPoints(s?.engines, 1) ?? (s?.silhouette ? null : base?.engines) ?? [[Math.min(...silhouette.map((p) => p[0])), 0]];
  return { radius, silhouette, engines, source: validPoints(s?.silhouette, 3) ? "served" : "built-in" };
}

/** The built-in hull keys (tests and the docs list them). */
export const BUILT_IN_HULLS = Object.keys(BUILT_IN);
