// Small shared helpers: DOM lookups, sector coordinates (64-bit, kept as strings/BigInt),
// number formatting, colours. No state lives here.

export const $ = (id) => document.getElementById(id);

/** Create an element with text content (never HTML) and optional class/attributes. */
export function el(tag, { text, cls, attrs } = {}, ...children) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) if (child) node.appendChild(child);
  return node;
}

// ------------------------------------------------------------------ sectors
// Sector coordinates span the signed 64-bit range, so they travel as decimal strings. Identity
// uses the canonical string; arithmetic uses BigInt, converted to Number only for small offsets.

/** Canonical string form of a sector coordinate given as string, number or BigInt. */
export function secStr(v) {
  return BigInt(v).toString();
}

/** "x,y" key for a sector pair. */
export function secKey(x, y) {
  return `${secStr(x)},${secStr(y)}`;
}

/** Offset of sector (x, y) from (cx, cy) as Numbers (BigInt subtraction first: exact). */
export function secDelta(x, y, cx, cy) {
  return [Number(BigInt(x) - BigInt(cx)), Number(BigInt(y) - BigInt(cy))];
}

export function secLabel(x, y) {
  return `${secStr(x)}, ${secStr(y)}`;
}

// ------------------------------------------------------------------ formatting
export function fmtDistance(m) {
  if (!Number.isFinite(m)) return "—";
  if (m < 1000) return `${Math.round(m)} m`;
  if (m < 100000) return `${(m / 1000).toFixed(1)} km`;
  return `${Math.round(m / 1000)} km`;
}

export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
export const lerp = (a, b, t) => a + (b - a) * t;

/** Interpolate angles (radians) along the shortest arc. */
export function lerpAngle(a, b, t) {
  let d = (b - a) % (2 * Math.PI);
  if (d > Math.PI) d -= 2 * Math.PI;
  if (d < -Math.PI) d += 2 * Math.PI;
  return a + d * t;
}

// ------------------------------------------------------------------ colours
const SPECTRAL = {
  O: "#9bb0ff", B: "#aabfff", A: "#cad7ff", F: "#f8f7ff", G: "#fff4ea", K: "#ffd2a1",
  M: "#ffb56c", L: "#ff8a50", T: "#d9577a", Y: "#b45b9a", D: "#e8f0ff", N: "#c9e8ff",
  W: "#9fc4ff", X: "#ffffff",
};

/**
 * The star's colour from the system's `star` object, whatever shape the generator gives it:
 * a CSS colour string, an [r, g, b] list, a 0xRRGGBB number, or a spectral class letter.
 */
export function starColour(star) {
  if (!star || typeof star !== "object") return "#fff4ea";
  for (const key of ["color", "colour", "rgb", "hex"]) {
    const c = star[key];
    const css = toCss(c);
    if (css) return css;
  }
  for (const key of ["class", "kind", "spectral", "type", "spectral_class"]) {
    const s = star[key];
    if (typeof s === "string" && s.length) {
      const letter = s.trim()[0].toUpperCase();
      if (SPECTRAL[letter]) return SPECTRAL[letter];
    }
  }
  return "#fff4ea";
}

export function toCss(c) {
  if (typeof c === "string") {
    const s = c.trim();
    if (/^#[0-9a-f]{3,8}$/i.test(s)) return s;
    if (/^[0-9a-f]{6}$/i.test(s)) return `#${s}`;
    if (/^(rgb|hsl)a?\([0-9.,%\s]+\)$/i.test(s)) return s;
    return null;
  }
  if (Array.isArray(c) && c.length >= 3 && c.every((v) => Number.isFinite(v))) {
    const scale = c.slice(0, 3).every((v) => v <= 1) ? 255 : 1;
    const [r, g, b] = c.slice(0, 3).map((v) => clamp(Math.round(v * scale), 0, 255));
    return `rgb(${r}, ${g}, ${b})`;
  }
  if (Number.isInteger(c) && c >= 0 && c <= 0xffffff) {
    return `#${c.toString(16).padStart(6, "0")}`;
  }
  return null;
}

/** Parse a CSS colour we produced (#rgb, #rrggbb, rgb()) into [r, g, b]. */
export function rgbOf(css) {
  let m = /^#([0-9a-f]{6})/i.exec(css);
  if (m) {
    const n = parseInt(m[1], 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  m = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(css);
  if (m) return [1, 2, 3].map((i) => parseInt(m[i] + m[i], 16));
  m = /rgba?\((\d+)[,\s]+(\d+)[,\s]+(\d+)/i.exec(css);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  return [255, 244, 234];
}

export function rgba([r, g, b], a) {
  return `rgba(${r}, ${g}, ${b}, ${a})`;
}

/** Deterministic 32-bit hash of integers (for starfield tiles and rock shapes). */
export function hash32(...ints) {
  let h = 0x811c9dc5;
  for (const v of ints) {
    h ^= v | 0;
    h = Math.imul(h, 0x01000193);
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Number of a planet/station/rock field, reading several possible key names. */
export function num(obj, ...keys) {
  for (const k of keys) {
    const v = obj?.[k];
    if (typeof v === "number" && Number.isFinite(v)) return v;
    if (typeof v === "string" && v !== "" && Number.isFinite(Number(v))) return Number(v);
  }
  return undefined;
}
