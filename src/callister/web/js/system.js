// Reading a star system dict (StarSystem.to_dict(), docs/protocol.md) for drawing: planets on
// their orbits as a function of the tick, stations, asteroid rocks. Tolerant of missing fields so
// a newer generator that adds or renames detail does not break the view.

import { num, starColour } from "./util.js";

const TAU = 2 * Math.PI;

export const planets = (sys) => (Array.isArray(sys?.planets) ? sys.planets : []);
export const stations = (sys) => (Array.isArray(sys?.stations) ? sys.stations : []);
export const fields = (sys) => (Array.isArray(sys?.fields) ? sys.fields : []);

export function orbitRadius(p) {
  return num(p, "orbit", "orbit_radius", "distance", "a", "r_orbit") ?? 0;
}

export function bodyRadius(p, fallback = 0) {
  return num(p, "radius", "r", "size") ?? fallback;
}

/** Planet position at (fractional) tick t: angle 2π·(phase/1e6 + t/period) on its orbit. */
export function planetPosition(p, t) {
  const orbit = orbitRadius(p);
  const period = num(p, "period", "period_ticks") ?? 0;
  const phase = num(p, "phase") ?? 0;
  // t/period loses precision for huge ticks; split the tick into whole turns first
  const turns = period > 0 ? (t % period) / period : 0;
  const angle = TAU * (phase / 1e6 + turns);
  return [orbit * Math.cos(angle), orbit * Math.sin(angle)];
}

export function starRadius(sys) {
  return num(sys?.star, "radius", "r") ?? 600;
}

export function starCss(sys) {
  return starColour(sys?.star);
}

/** Radius (m) that contains everything in the system. */
export function extent(sys) {
  let r = num(sys, "radius") ?? 0;
  for (const p of planets(sys)) r = Math.max(r, orbitRadius(p) + bodyRadius(p));
  for (const s of stations(sys)) r = Math.max(r, Math.hypot(num(s, "x") ?? 0, num(s, "y") ?? 0));
  for (const f of fields(sys)) {
    for (const k of f.rocks || []) r = Math.max(r, Math.hypot(num(k, "x") ?? 0, num(k, "y") ?? 0));
  }
  return r || 10000;
}

const PLANET_COLOURS = {
  rocky: "#b59a7a", barren: "#9a8f86", desert: "#d8b476", ocean: "#4f8fd8", terran: "#5fae6a",
  garden: "#5fae6a", ice: "#bfe3f2", frozen: "#bfe3f2", gas: "#d7a46a", gas_giant: "#d7a46a",
  giant: "#d7a46a", lava: "#e0603a", volcanic: "#e0603a", toxic: "#a8c04a", jungle: "#3f9a55",
};

export function planetColour(p, i) {
  for (const key of ["color", "colour"]) {
    if (typeof p?.[key] === "string" && /^#[0-9a-f]{3,8}$/i.test(p[key])) return p[key];
  }
  const kind = String(p?.kind ?? p?.type ?? p?.class ?? "").toLowerCase().replace(/[\s-]+/g, "_");
  if (PLANET_COLOURS[kind]) return PLANET_COLOURS[kind];
  for (const [k, c] of Object.entries(PLANET_COLOURS)) if (kind.includes(k)) return c;
  return ["#9fb4c8", "#c8a27a", "#7fa7d8", "#b9c87a", "#d89a8a"][i % 5];
}

export const label = (obj, fallback) =>
  typeof obj?.name === "string" && obj.name ? obj.name : fallback;
