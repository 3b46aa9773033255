// The flight view: a full-window canvas, camera centred on the own ship. Draws (back to front)
// starfield parallax, grid, star, orbits and planets, asteroid rocks, stations, ships with name
// labels and thrust flames, wrecks, projectiles and missiles, weapon effects (fx.js), the locked
// target's brackets and bars, mining beams, distress calls, off-screen markers and a scale bar.
// World y points up; screen y down.

import {
  F_CRIMINAL, F_DOCKED, F_FIRING, F_JUMPING, F_MINING, F_NO_FUEL, F_SHIELD_HIT, F_THRUSTING,
  KIND_MISSILE, KIND_PROJECTILE, KIND_SHIP, KIND_WRECK,
} from "./snapshot.js";
import {
  bodyRadius, fields, label, orbitRadius, planetColour, planetPosition, planets, starCss,
  starRadius, stations,
} from "./system.js";
import { MINING_RANGE } from "./combat.js";
import { hullShape } from "./hulls.js";
import { glowDisc, haloText, labelFont, outlinedPolygon, pulseRings } from "./paint.js";
import { clamp, fmtDistance, hash32, num, rgba, rgbOf } from "./util.js";

const GRID_STEPS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000];
const STAR_TILE = 256;
const STAR_LAYERS = [
  { parallax: 0.004, count: 26, size: 1, alpha: 0.45 },
  { parallax: 0.012, count: 12, size: 1.4, alpha: 0.65 },
  { parallax: 0.03, count: 5, size: 2, alpha: 0.85 },
];
/**
 * The point of [lo, hi] nearest to v outside every blocked interval ([a, b] pairs); v itself
 * when it is free, or when nothing is.
 */
export function freeAlong(v, lo, hi, blocked) {
  const spans = blocked.filter(([a, b]) => b >= lo && a <= hi).sort((p, q) => p[0] - q[0]);
  const merged = [];
  for (const [a, b] of spans) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  const inside = merged.find(([a, b]) => v > a && v < b);
  if (!inside) return v;
  const options = [inside[0], inside[1]].filter((c) => c >= lo && c <= hi);
  if (!options.length) return v;
  return options.reduce((best, c) => (Math.abs(c - v) < Math.abs(best - v) ? c : best));
}

const CRIMINAL = "#ff3b4e";
const TRAIL_POINTS = 18;

export class Renderer {
  constructor(canvas, state) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.state = state;
    this.zoom = 0.5; // CSS pixels per metre
    this.w = 0;
    this.h = 0;
    this.dpr = 1;
    this.cam = { x: 0, y: 0 };
    this.rockShapes = new Map();
    this.effects = null; // fx.js Effects (main.js sets it)
    this.weapons = null; // combat.js Weapons: the selected weapon's range ring
    this.poses = new Map(); // id -> {px, py, size, kind} drawn this frame (clicks pick from it)
    this.flashes = new Map(); // id -> {shield: ms, fire: ms} from the per-tick flag bits
    this.trails = new Map(); // missile id -> [[x, y]…] recent positions
    this.frame = 0;
    this.modTags = new Set();
    this.gmTags = new Set();
    this.stats = { fps: 0, frames: 0, since: performance.now() };
    this.links = []; // [{name, dx, dy}]: the jump links' directions across the galaxy (main.js)
    this.markers = []; // edge markers drawn in the last frame: [{kind, name, x, y}]
    this.stationLabels = []; // set by each frame (draw)
    this.edgeQueue = [];
    this.resize();
    addEventListener("resize", () => this.resize());
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => this.resize()).observe(canvas);
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      this.zoomBy(Math.exp(-e.deltaY * 0.0015));
    }, { passive: false });
    this._pinch(canvas);
  }

  /** Two fingers on the view zoom it, as the wheel does. */
  _pinch(canvas) {
    const fingers = new Map();
    let span = 0;
    const spread = () => {
      const [a, b] = [...fingers.values()];
      return Math.hypot(a[0] - b[0], a[1] - b[1]);
    };
    canvas.addEventListener("pointerdown", (e) => {
      if (e.pointerType !== "touch") return;
      fingers.set(e.pointerId, [e.clientX, e.clientY]);
      span = fingers.size === 2 ? spread() : 0;
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!fingers.has(e.pointerId)) return;
      fingers.set(e.pointerId, [e.clientX, e.clientY]);
      if (fingers.size !== 2 || !span) return;
      const now = spread();
      if (now > 0) this.zoomBy(now / span);
      span = now;
    });
    const up = (e) => {
      fingers.delete(e.pointerId);
      span = 0;
    };
    canvas.addEventListener("pointerup", up);
    canvas.addEventListener("pointercancel", up);
  }

  resize() {
    const dpr = Math.min(window.devicePixelRatio || 1, 3);
    const w = Math.max(1, this.canvas.clientWidth || innerWidth);
    const h = Math.max(1, this.canvas.clientHeight || innerHeight);
    if (w === this.w && h === this.h && dpr === this.dpr) return;
    this.w = w;
    this.h = h;
    this.dpr = dpr;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
  }

  zoomBy(f) {
    this.zoom = clamp(this.zoom * f, 0.005, 4);
  }

  /** World (m) to screen (CSS px). */
  sx(x) { return this.w / 2 + (x - this.cam.x) * this.zoom; }
  sy(y) { return this.h / 2 - (y - this.cam.y) * this.zoom; }

  onScreen(px, py, margin) {
    return px > -margin && py > -margin && px < this.w + margin && py < this.h + margin;
  }

  draw(nowMs) {
    this.resize();
    const { ctx, state } = this;
    this.frame += 1;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const rt = state.clock.renderTick(nowMs);
    let own = null;
    if (rt !== null) {
      const track = state.tracks.get(state.ship);
      own = track ? track.at(rt, state.tickHz) : null;
      if (own) {
        this.cam.x = own.x;
        this.cam.y = own.y;
      }
    }
    this.renderTick = rt;
    this.own = own;
    this.placed = []; // label rectangles drawn this frame (ship and station labels avoid them)
    this.stationLabels = []; // the stations' names drawn in the view this frame: [{name, x0, y0, x1, y1}]
    this.poses.clear();
    this.modTags = new Set(); // ships drawn with the "MOD" tag this frame (tests read it)
    this.gmTags = new Set(); // ships drawn with the "GM" tag this frame (tests read it)
    this.edgeQueue = []; // off-screen target and SOS markers, drawn by _markers
    this.hullsDrawn = new Map(); // ship id -> {hull, source, points} drawn this frame (tests read it)
    this._background();
    this._starfield();
    if (state.system) {
      const t = rt ?? state.systemTick;
      this._grid();
      this._star();
      this._planets(t);
      this._rocks();
      this._stations(own);
      this._distress(nowMs);
      if (rt !== null) this._entities(rt, nowMs);
      this.effects?.draw(this, nowMs);
      if (rt !== null) this._targetMark(nowMs);
      this._scaleBar();
      this._markers(nowMs);
    }
    this._fps(nowMs);
  }

  _fps(nowMs) {
    const s = this.stats;
    s.frames += 1;
    if (nowMs - s.since >= 1000) {
      s.fps = (s.frames * 1000) / (nowMs - s.since);
      s.frames = 0;
      s.since = nowMs;
    }
  }

  // ------------------------------------------------------------------ background
  _background() {
    const { ctx, w, h } = this;
    ctx.fillStyle = "#03050b";
    ctx.fillRect(0, 0, w, h);
    const g = ctx.createRadialGradient(w * 0.5, h * 0.45, 0, w * 0.5, h * 0.5, Math.max(w, h) * 0.75);
    g.addColorStop(0, "rgba(22, 32, 64, 0.55)");
    g.addColorStop(1, "rgba(3, 5, 11, 0)");
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, w, h);
  }

  _starfield() {
    const { ctx, w, h } = this;
    STAR_LAYERS.forEach((layer, li) => {
      // parallax in pixels per metre: the far layers barely move, the near ones drift by
      const ox = this.cam.x * layer.parallax * 60;
      const oy = -this.cam.y * layer.parallax * 60;
      const tx0 = Math.floor(ox / STAR_TILE);
      const ty0 = Math.floor(oy / STAR_TILE);
      const tx1 = Math.floor((ox + w) / STAR_TILE);
      const ty1 = Math.floor((oy + h) / STAR_TILE);
      for (let tx = tx0; tx <= tx1; tx++) {
        for (let ty = ty0; ty <= ty1; ty++) {
          let seed = hash32(li, tx, ty);
          for (let i = 0; i < layer.count; i++) {
            seed = hash32(seed, i);
            const px = tx * STAR_TILE + (seed & 0xff) - ox;
            const py = ty * STAR_TILE + ((seed >>> 8) & 0xff) - oy;
            const tint = (seed >>> 16) & 3;
            const a = layer.alpha * (0.5 + ((seed >>> 20) & 0xff) / 510);
            ctx.fillStyle = tint === 0 ? `rgba(255, 214, 170, ${a})`
              : tint === 1 ? `rgba(170, 200, 255, ${a})` : `rgba(235, 240, 255, ${a})`;
            const s = layer.size * (((seed >>> 28) & 3) === 0 ? 1.6 : 1);
            ctx.fillRect(px, py, s, s);
          }
        }
      }
    });
  }

  _grid() {
    const { ctx, w, h, zoom } = this;
    const step = GRID_STEPS.find((s) => s * zoom >= 90) ?? GRID_STEPS[GRID_STEPS.length - 1];
    this.gridStep = step;
    const x0 = Math.floor((this.cam.x - w / 2 / zoom) / step) * step;
    const x1 = this.cam.x + w / 2 / zoom;
    const y0 = Math.floor((this.cam.y - h / 2 / zoom) / step) * step;
    const y1 = this.cam.y + h / 2 / zoom;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let x = x0; x <= x1; x += step) {
      const px = Math.round(this.sx(x)) + 0.5;
      ctx.moveTo(px, 0);
      ctx.lineTo(px, h);
    }
    for (let y = y0; y <= y1; y += step) {
      const py = Math.round(this.sy(y)) + 0.5;
      ctx.moveTo(0, py);
      ctx.lineTo(w, py);
    }
    ctx.strokeStyle = "rgba(90, 140, 230, 0.065)";
    ctx.stroke();
  }

  // ------------------------------------------------------------------ static bodies
  _star() {
    const { ctx, state } = this;
    const sys = state.system;
    const px = this.sx(0);
    const py = this.sy(0);
    const r = Math.max(starRadius(sys) * this.zoom, 3);
    const glow = r * 5 + 40;
    if (!this.onScreen(px, py, glow)) return;
    const rgb = rgbOf(starCss(sys));
    glowDisc(ctx, px, py, glow, [[0, rgba(rgb, 0.55)], [0.25, rgba(rgb, 0.18)], [1, rgba(rgb, 0)]], r * 0.5);
    glowDisc(ctx, px, py, r, [[0, "#ffffff"], [0.6, rgba(rgb, 1)], [1, rgba(rgb, 0.9)]]);
  }

  _planets(t) {
    const { ctx, zoom } = this;
    const cx = this.sx(0);
    const cy = this.sy(0);
    const diag = Math.hypot(this.w, this.h);
    planets(this.state.system).forEach((p, i) => {
      const orbit = orbitRadius(p) * zoom;
      // orbit circle, only when some of it crosses the screen
      const dc = Math.hypot(cx - this.w / 2, cy - this.h / 2);
      if (orbit > 2 && dc - orbit < diag / 2 && dc + orbit > 0) {
        ctx.beginPath();
        ctx.arc(cx, cy, orbit, 0, Math.PI * 2);
        ctx.strokeStyle = "rgba(140, 170, 230, 0.12)";
        ctx.lineWidth = 1;
        ctx.stroke();
      }
      const [x, y] = planetPosition(p, t);
      const px = this.sx(x);
      const py = this.sy(y);
      const r = Math.max(bodyRadius(p, 300) * zoom, 3);
      if (!this.onScreen(px, py, r + 80)) return;
      const col = planetColour(p, i);
      const rgb = rgbOf(col);
      // lit from the star: shade away from the origin
      const ang = Math.atan2(py - cy, px - cx);
      const g = ctx.createRadialGradient(
        px - Math.cos(ang) * r * 0.5, py - Math.sin(ang) * r * 0.5, r * 0.1, px, py, r,
      );
      g.addColorStop(0, rgba(rgb.map((c) => Math.min(255, c + 50)), 1));
      g.addColorStop(0.7, rgba(rgb, 1));
      g.addColorStop(1, rgba(rgb.map((c) => c * 0.3), 1));
      ctx.fillStyle = g;
      ctx.beginPath();
      ctx.arc(px, py, r, 0, Math.PI * 2);
      ctx.fill();
      this._label(label(p, ""), px, py + r + 14, "rgba(200, 215, 240, 0.7)", 11);
    });
  }

  _rockShape(key, n) {
    let shape = this.rockShapes.get(key);
    if (!shape) {
      shape = [];
      let seed = hash32(n, 7919);
      const k = 7 + (seed % 4);
      for (let i = 0; i < k; i++) {
        seed = hash32(seed, i);
        const a = (i / k) * Math.PI * 2;
        const rr = 0.72 + (seed & 0xff) / 900;
        shape.push([Math.cos(a) * rr, Math.sin(a) * rr]);
      }
      this.rockShapes.set(key, shape);
    }
    return shape;
  }

  _rocks() {
    const { ctx, zoom } = this;
    const fl = fields(this.state.system);
    let n = 0;
    ctx.lineWidth = 1;
    for (let fi = 0; fi < fl.length; fi++) {
      const rocks = fl[fi].rocks || [];
      for (let ri = 0; ri < rocks.length; ri++, n++) {
        const rock = rocks[ri];
        const px = this.sx(num(rock, "x") ?? 0);
        const py = this.sy(num(rock, "y") ?? 0);
        const r = Math.max((num(rock, "r", "radius") ?? 20) * zoom, 1.5);
        if (!this.onScreen(px, py, r + 2)) continue;
        if (r < 2.5) {
          ctx.fillStyle = "rgba(150, 140, 130, 0.75)";
          ctx.fillRect(px - r / 2, py - r / 2, r, r);
          continue;
        }
        const shape = this._rockShape(`${fi}:${ri}`, n);
        ctx.beginPath();
        shape.forEach(([ux, uy], i) => {
          if (i === 0) ctx.moveTo(px + ux * r, py + uy * r);
          else ctx.lineTo(px + ux * r, py + uy * r);
        });
        ctx.closePath();
        ctx.fillStyle = "#4a4540";
        ctx.fill();
        ctx.strokeStyle = "#847a6e";
        ctx.stroke();
      }
    }
  }

  _stations(own) {
    const { ctx, zoom } = this;
    const spin = (performance.now() / 1000) * 0.15;
    for (const s of stations(this.state.system)) {
      const x = num(s, "x") ?? 0;
      const y = num(s, "y") ?? 0;
      const px = this.sx(x);
      const py = this.sy(y);
      const r = Math.max((num(s, "radius") ?? 80) * zoom, 7);
      const dockR = (num(s, "dock_radius") ?? 0) * zoom;
      if (!this.onScreen(px, py, Math.max(r, dockR) + 120)) continue;
      const dist = own ? Math.hypot(own.x - x, own.y - y) : Infinity;
      const dockM = num(s, "dock_radius") ?? 0;
      if (s.destroyed) {
        this._wreck(px, py, r);
        this._label(`${label(s, "station")} (destroyed)`, px, py - r - 12, "rgba(200, 140, 130, 0.8)", 12);
        continue;
      }
      if (dockR > 4 && dist < dockM * 4) {
        // the docking ring: where F (dock) works, brighter when inside it
        const inside = dist <= dockM;
        ctx.save();
        ctx.setLineDash([6, 6]);
        ctx.lineDashOffset = -spin * 40;
        ctx.beginPath();
        ctx.arc(px, py, dockR, 0, Math.PI * 2);
        ctx.strokeStyle = inside ? "rgba(88, 224, 143, 0.75)" : "rgba(92, 208, 255, 0.35)";
        ctx.lineWidth = inside ? 1.6 : 1;
        ctx.stroke();
        ctx.restore();
      }
      // the structure: a ring with spokes and a hub
      ctx.save();
      ctx.translate(px, py);
      ctx.rotate(spin);
      glowDisc(ctx, 0, 0, r * 1.8, [[0, "rgba(92, 208, 255, 0.25)"], [1, "rgba(92, 208, 255, 0)"]]);
      ctx.lineWidth = Math.max(1.5, r * 0.12);
      ctx.strokeStyle = "#9fb8d8";
      ctx.beginPath();
      ctx.arc(0, 0, r, 0, Math.PI * 2);
      ctx.stroke();
      ctx.lineWidth = Math.max(1, r * 0.06);
      ctx.beginPath();
      for (let i = 0; i < 4; i++) {
        const a = (i * Math.PI) / 2;
        ctx.moveTo(Math.cos(a) * r * 0.3, Math.sin(a) * r * 0.3);
        ctx.lineTo(Math.cos(a) * r, Math.sin(a) * r);
      }
      ctx.stroke();
      ctx.fillStyle = "#d8e6ff";
      ctx.fillRect(-r * 0.3, -r * 0.3, r * 0.6, r * 0.6);
      for (let i = 0; i < 8; i++) {
        const a = (i * Math.PI) / 4 + Math.PI / 8;
        const blink = (Math.floor(performance.now() / 600) + i) % 4 === 0;
        ctx.fillStyle = blink ? "#ffdf7a" : "#5cd0ff";
        ctx.fillRect(Math.cos(a) * r - 1.5, Math.sin(a) * r - 1.5, 3, 3);
      }
      ctx.restore();
      const at = this._label(label(s, "station"), px, py - Math.max(r, 10) - 12, "#a8ddff", 13, true);
      // the HUD's toasts and log lines go see-through over these (hud.js, unveil)
      if (at) this.stationLabels.push({ name: label(s, "station"), ...at });
      const sub = [s.faction, Array.isArray(s.services) ? s.services.join(" · ") : ""]
        .filter((v) => typeof v === "string" && v).join(" — ");
      if (sub && r > 20) this._label(sub, px, py - Math.max(r, 10) - 28, "rgba(160, 185, 220, 0.6)", 10);
    }
  }

  _wreck(px, py, r) {
    const { ctx } = this;
    ctx.strokeStyle = "rgba(150, 120, 110, 0.7)";
    ctx.lineWidth = Math.max(1, r * 0.08);
    ctx.beginPath();
    for (let i = 0; i < 5; i++) {
      const a = i * 1.3;
      ctx.moveTo(px + Math.cos(a) * r * 0.3, py + Math.sin(a) * r * 0.3);
      ctx.lineTo(px + Math.cos(a + 0.4) * r, py + Math.sin(a + 0.4) * r);
    }
    ctx.stroke();
  }

  // ------------------------------------------------------------------ entities
  _entities(rt, nowMs) {
    const { state } = this;
    const mine = state.ship;
    let ownPose = null;
    const ships = [];
    const shots = [];
    for (const [id, track] of state.tracks) {
      const pose = id === mine ? this.own : track.at(rt, state.tickHz);
      if (!pose) continue;
      this._flags(id, track, nowMs);
      if (track.kind === KIND_WRECK) this._wreckEntity(id, pose, nowMs);
      else if (track.kind === KIND_PROJECTILE || track.kind === KIND_MISSILE) shots.push([id, track.kind, pose]);
      else if (id === mine) ownPose = pose; // drawn last, on top
      else ships.push([id, pose]);
    }
    this._miningBeams(ships, ownPose, nowMs);
    this._rangeRing(ownPose);
    for (const [id, pose] of ships) this._ship(id, pose, false, nowMs);
    for (const [id, kind, pose] of shots) {
      if (kind === KIND_MISSILE) this._missile(id, pose, nowMs);
      else this._projectile(id, pose);
    }
    if (this.trails.size) {
      for (const id of this.trails.keys()) if (!state.tracks.has(id)) this.trails.delete(id);
    }
    if (ownPose) this._ship(mine, ownPose, true, nowMs);
  }

  /** The per-tick bits (shield hit, fired) light a flash that outlasts the tick. */
  _flags(id, track, nowMs) {
    const rec = track.last;
    if (!rec || !(rec.flags & (F_SHIELD_HIT | F_FIRING))) return;
    let f = this.flashes.get(id);
    if (!f) this.flashes.set(id, (f = { rec: null, shield: 0, fire: 0 }));
    if (f.rec === rec) return; // this sample was seen already
    f.rec = rec;
    if (rec.flags & F_SHIELD_HIT) f.shield = nowMs;
    if (rec.flags & F_FIRING) f.fire = nowMs;
    if (this.flashes.size > 500) this.flashes.clear();
  }

  _rangeRing(pose) {
    const w = this.weapons;
    if (!pose || !w || (pose.flags & F_DOCKED)) return;
    const slots = w.selection();
    if (!slots.length) return;
    const range = Math.max(...slots.map((i) => Number(w.weapons[i]?.range) || 0));
    const rr = range * this.zoom;
    if (rr < 20 || rr > Math.hypot(this.w, this.h) * 1.5) return;
    const { ctx } = this;
    ctx.save();
    ctx.beginPath();
    ctx.arc(this.sx(pose.x), this.sy(pose.y), rr, 0, Math.PI * 2);
    ctx.setLineDash([2, 7]);
    ctx.strokeStyle = "rgba(255, 120, 110, 0.28)";
    ctx.lineWidth = 1;
    ctx.stroke();
    ctx.restore();
  }

  /** Mining lasers: ours to the rock the status names; others' (MINING bit) to the nearest rock. */
  _miningBeams(ships, ownPose, nowMs) {
    const { ctx, state } = this;
    this.miningDrawn = 0; // beams drawn this frame (tests read it)
    const rocks = state.rocks();
    if (!rocks.length) return;
    const beams = [];
    const mining = state.status?.mining;
    if (ownPose && mining !== null && mining !== undefined && rocks[Number(mining)]) {
      beams.push([ownPose, rocks[Number(mining)], true]);
    }
    for (const [, pose] of ships) {
      if (!(pose.flags & F_MINING)) continue;
      const near = state.nearestRock(pose.x, pose.y);
      if (near && near.gap <= MINING_RANGE + 50) beams.push([pose, near.rock, false]);
    }
    this.miningDrawn = beams.length;
    if (!beams.length) return;
    ctx.save();
    ctx.globalCompositeOperation = "lighter";
    ctx.lineCap = "round";
    const wob = 0.7 + 0.3 * Math.sin(nowMs / 70);
    for (const [pose, rock, own] of beams) {
      const ax = this.sx(pose.x);
      const ay = this.sy(pose.y);
      // aim at the rock's near surface
      const d = Math.hypot(rock.x - pose.x, rock.y - pose.y) || 1;
      const tx = rock.x - ((rock.x - pose.x) / d) * rock.r * 0.8;
      const ty = rock.y - ((rock.y - pose.y) / d) * rock.r * 0.8;
      const bx = this.sx(tx);
      const by = this.sy(ty);
      const col = own ? "110, 255, 170" : "190, 255, 160";
      // a wide glow, a bright beam and a white-hot core, flickering
      for (const [w, a] of [[14, 0.1], [7, 0.22], [3.2, 0.6], [1.4, 1]]) {
        ctx.beginPath();
        ctx.moveTo(ax, ay);
        ctx.lineTo(bx, by);
        ctx.strokeStyle = a === 1 ? `rgba(235, 255, 240, ${0.9 * wob})` : `rgba(${col}, ${a * wob})`;
        ctx.lineWidth = w * (0.85 + 0.15 * wob);
        ctx.stroke();
      }
      // the cut: a hot glow where the beam bites, with sparks
      glowDisc(ctx, bx, by, 16, [
        [0, `rgba(240, 255, 220, ${0.95 * wob})`],
        [0.4, `rgba(${col}, ${0.45 * wob})`],
        [1, `rgba(${col}, 0)`],
      ]);
      ctx.fillStyle = `rgba(230, 255, 200, ${0.85 * wob})`;
      for (let i = 0; i < 6; i++) {
        const a = nowMs / 90 + i * 1.7;
        const r = 4 + 7 * (((nowMs / 160) + i / 6) % 1);
        ctx.fillRect(bx + Math.cos(a) * r - 1, by + Math.sin(a * 1.3) * r - 1, 2, 2);
      }
      // ore flowing up the beam to the hold
      const len = Math.hypot(ax - bx, ay - by);
      const n = Math.max(2, Math.min(8, Math.floor(len / 14)));
      for (let i = 0; i < n; i++) {
        const f = ((nowMs / 700) + i / n) % 1;
        const px = bx + (ax - bx) * f;
        const py = by + (ay - by) * f;
        ctx.fillStyle = `rgba(200, 255, 210, ${0.9 * (1 - f * 0.6)})`;
        ctx.fillRect(px - 1.5, py - 1.5, 3, 3);
      }
    }
    ctx.restore();
  }

  _projectile(id, pose) {
    const { ctx, zoom } = this;
    const px = this.sx(pose.x);
    const py = this.sy(pose.y);
    if (!this.onScreen(px, py, 60)) return;
    const speed = Math.hypot(pose.vx, pose.vy) || 1;
    const len = clamp(speed * zoom * 0.06, 7, 42);
    const ux = pose.vx / speed;
    const uy = -pose.vy / speed;
    ctx.save();
    ctx.globalCompositeOperation = "lighter";
    ctx.lineCap = "round";
    const g = ctx.createLinearGradient(px, py, px - ux * len, py - uy * len);
    g.addColorStop(0, "rgba(255, 245, 200, 1)");
    g.addColorStop(1, "rgba(255, 150, 40, 0)");
    ctx.strokeStyle = g;
    ctx.lineWidth = 2.6;
    ctx.beginPath();
    ctx.moveTo(px, py);
    ctx.lineTo(px - ux * len, py - uy * len);
    ctx.stroke();
    ctx.fillStyle = "rgba(255, 220, 140, 0.35)";
    ctx.beginPath();
    ctx.arc(px, py, 4, 0, Math.PI * 2);
    ctx.fill();
    ctx.restore();
    this.poses.set(id, { px, py, size: 4, kind: KIND_PROJECTILE });
  }

  _missile(id, pose, nowMs) {
    const { ctx } = this;
    // smoke trail: recent world positions
    let trail = this.trails.get(id);
    if (!trail) this.trails.set(id, (trail = []));
    const lastPt = trail[trail.length - 1];
    if (!lastPt || Math.hypot(lastPt[0] - pose.x, lastPt[1] - pose.y) * this.zoom > 3) {
      trail.push([pose.x, pose.y]);
      if (trail.length > TRAIL_POINTS) trail.shift();
    }
    const px = this.sx(pose.x);
    const py = this.sy(pose.y);
    if (trail.length > 1) {
      ctx.save();
      ctx.lineCap = "round";
      for (let i = 1; i < trail.length; i++) {
        const a = (i / trail.length) * 0.45;
        ctx.beginPath();
        ctx.moveTo(this.sx(trail[i - 1][0]), this.sy(trail[i - 1][1]));
        ctx.lineTo(this.sx(trail[i][0]), this.sy(trail[i][1]));
        ctx.strokeStyle = `rgba(200, 200, 210, ${a})`;
        ctx.lineWidth = 1 + (i / trail.length) * 2.5;
        ctx.stroke();
      }
      ctx.restore();
    }
    if (!this.onScreen(px, py, 40)) return;
    const speed = Math.hypot(pose.vx, pose.vy);
    const ang = speed > 1 ? Math.atan2(pose.vy, pose.vx) : pose.angle;
    const s = 7;
    ctx.save();
    ctx.translate(px, py);
    ctx.rotate(-ang);
    const flick = 0.7 + 0.3 * Math.sin(nowMs / 30 + id);
    ctx.globalCompositeOperation = "lighter";
    const g = ctx.createLinearGradient(-s * 0.6, 0, -s * (1.8 + flick), 0);
    g.addColorStop(0, "rgba(255, 240, 200, 0.95)");
    g.addColorStop(1, "rgba(255, 90, 30, 0)");
    ctx.fillStyle = g;
    ctx.beginPath();
    ctx.moveTo(-s * 0.6, -2);
    ctx.lineTo(-s * (1.8 + flick), 0);
    ctx.lineTo(-s * 0.6, 2);
    ctx.fill();
    ctx.globalCompositeOperation = "source-over";
    outlinedPolygon(ctx, [[s, 0], [-s * 0.6, -2.6], [-s * 0.6, 2.6]], "#f2f4f8", "#ff5a4e", 1.2);
    ctx.restore();
    this.poses.set(id, { px, py, size: s, kind: KIND_MISSILE });
  }

  /** A wreck: tumbling fragments with dying embers, named ("Wreck of …"). */
  _wreckEntity(id, pose, nowMs) {
    const { ctx, zoom, state } = this;
    const px = this.sx(pose.x);
    const py = this.sy(pose.y);
    if (!this.onScreen(px, py, 120)) return;
    const size = Math.max(18 * zoom * 1.2, 12);
    let seed = hash32(id, 4242);
    const spin = (nowMs / 1000) * (0.15 + (seed & 7) / 40);
    ctx.save();
    ctx.translate(px, py);
    // a dull halo so a wreck reads as "something here" even at a far zoom
    glowDisc(ctx, 0, 0, size * 1.8, [[0, "rgba(200, 130, 80, 0.18)"], [1, "rgba(200, 130, 80, 0)"]]);
    for (let i = 0; i < 5; i++) {
      seed = hash32(seed, i);
      const a = (i / 5) * Math.PI * 2 + spin * (i % 2 ? 1 : -1) * 0.3;
      const d = size * (0.25 + ((seed & 0xff) / 255) * 0.55);
      const fs = size * (0.28 + (((seed >>> 8) & 0xff) / 255) * 0.3);
      ctx.save();
      ctx.translate(Math.cos(a) * d, Math.sin(a) * d);
      ctx.rotate(spin * (1 + i * 0.4) + i);
      outlinedPolygon(ctx, [[fs, 0], [-fs * 0.5, -fs * 0.55], [-fs * 0.8, fs * 0.1], [-fs * 0.2, fs * 0.6]],
        "#3b3633", "#a0826c", 1.2);
      ctx.restore();
    }
    // embers
    for (let i = 0; i < 3; i++) {
      const a = hash32(id, i) / 4294967296 * Math.PI * 2;
      const glow = 0.4 + 0.6 * Math.abs(Math.sin(nowMs / (300 + i * 170) + i));
      ctx.fillStyle = `rgba(255, ${140 + i * 30}, 60, ${glow})`;
      ctx.fillRect(Math.cos(a) * size * 0.45 - 1, Math.sin(a) * size * 0.45 - 1, 2.2, 2.2);
    }
    ctx.restore();
    const name = state.nameOf(id) || "Wreck";
    this._label(name, px, py - size - 8, "#d9b89c", 11);
    this.poses.set(id, { px, py, size, kind: KIND_WRECK });
  }

  _ship(id, pose, isOwn, nowMs) {
    const { ctx, state, zoom } = this;
    const px = this.sx(pose.x);
    const py = this.sy(pose.y);
    if (!this.onScreen(px, py, 200)) return;
    const hullKey = (isOwn ? state.hullKey() : null) || state.names.get(id)?.hull || "shuttle";
    const shape = hullShape(hullKey, state.me?.content?.hulls);
    // never smaller than a readable mark; a big hull stays bigger than a small one when zoomed out
    const size = Math.max(shape.radius * zoom * 1.2, 7 + shape.radius * 0.35);
    this.hullsDrawn.set(id, { hull: hullKey, source: shape.source, points: shape.silhouette.length, size });
    const docked = (pose.flags & F_DOCKED) !== 0;
    const criminal = (pose.flags & F_CRIMINAL) !== 0;
    const colour = isOwn ? "#5cd0ff" : "#ffb347";
    const rgb = rgbOf(colour);
    this.poses.set(id, { px, py, size, kind: KIND_SHIP });

    if (isOwn && !docked) {
      // velocity vector: where the ship will be in 2 s
      const vx = pose.vx * zoom * 2;
      const vy = -pose.vy * zoom * 2;
      if (Math.hypot(vx, vy) > size) {
        ctx.beginPath();
        ctx.moveTo(px, py);
        ctx.lineTo(px + vx, py + vy);
        ctx.strokeStyle = "rgba(92, 208, 255, 0.35)";
        ctx.lineWidth = 1;
        ctx.setLineDash([3, 4]);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
    if (pose.flags & F_JUMPING) {
      pulseRings(ctx, px, py, nowMs,
        { count: 2, periodMs: 400, r0: size * 1.2, grow: size * 2.5, rgb: "255, 179, 71", alpha: 0.7 });
    }

    ctx.save();
    ctx.translate(px, py);
    ctx.rotate(-pose.angle);
    ctx.globalAlpha = docked ? 0.55 : 1;
    if ((pose.flags & F_THRUSTING) && !docked && !(pose.flags & F_NO_FUEL)) {
      // two tongues of flame per engine: a wide orange glow and a white-hot core, flickering
      const flick = 0.75 + 0.25 * Math.sin(nowMs / 35 + id) * Math.sin(nowMs / 53 + id * 3);
      const scale = 1 / Math.sqrt(shape.engines.length);
      for (const [ex, ey] of shape.engines) {
        const base = ex * size;
        const y0 = ey * size;
        for (const [len, half, c0, c1] of [
          [size * (1.5 + 0.8 * flick) * scale, size * 0.4 * scale, "rgba(255, 150, 50, 0.75)", "rgba(255, 70, 20, 0)"],
          [size * (0.9 + 0.5 * flick) * scale, size * 0.2 * scale, "rgba(255, 255, 230, 0.95)", "rgba(255, 200, 90, 0)"],
        ]) {
          const g = ctx.createLinearGradient(base, y0, base - len, y0);
          g.addColorStop(0, c0);
          g.addColorStop(1, c1);
          ctx.fillStyle = g;
          ctx.beginPath();
          ctx.moveTo(base, y0 - half);
          ctx.quadraticCurveTo(base - len * 0.55, y0 - half * 0.9, base - len, y0);
          ctx.quadraticCurveTo(base - len * 0.55, y0 + half * 0.9, base, y0 + half);
          ctx.closePath();
          ctx.fill();
        }
      }
    }
    ctx.shadowColor = colour;
    ctx.shadowBlur = isOwn ? 12 : 8;
    ctx.beginPath();
    shape.silhouette.forEach(([ux, uy], i) => {
      // the outline's y is the ship's left (+y world, counter-clockwise); the canvas y points down
      if (i === 0) ctx.moveTo(ux * size, -uy * size);
      else ctx.lineTo(ux * size, -uy * size);
    });
    ctx.closePath();
    ctx.fillStyle = rgba(rgb.map((c) => c * 0.35), 1);
    ctx.fill();
    if (criminal) {
      // criminals are outlined red for everyone: a wide red stroke under the hull colour
      ctx.shadowColor = CRIMINAL;
      ctx.shadowBlur = 14;
      ctx.lineWidth = 4.5;
      ctx.strokeStyle = CRIMINAL;
      ctx.stroke();
      ctx.shadowBlur = 0;
    }
    ctx.lineWidth = 1.6;
    ctx.strokeStyle = criminal ? "#ffd0d4" : colour;
    ctx.stroke();
    const fl = this.flashes.get(id);
    if (fl && nowMs - fl.fire < 140 && !docked) {
      // muzzle flash at the nose
      const a = 1 - (nowMs - fl.fire) / 140;
      glowDisc(ctx, size * 1.1, 0, size * 0.7, [[0, `rgba(255, 250, 220, ${a})`], [1, "rgba(255, 180, 80, 0)"]]);
    }
    ctx.restore();
    if (fl && nowMs - fl.shield < 300) {
      const a = 1 - (nowMs - fl.shield) / 300;
      ctx.beginPath();
      ctx.arc(px, py, size * 1.5, 0, Math.PI * 2);
      ctx.strokeStyle = `rgba(120, 190, 255, ${0.8 * a})`;
      ctx.lineWidth = 2;
      ctx.stroke();
    }
    if (criminal && !docked) {
      ctx.save();
      ctx.beginPath();
      ctx.arc(px, py, size * 1.75, 0, Math.PI * 2);
      ctx.setLineDash([4, 4]);
      ctx.lineDashOffset = -nowMs / 60;
      ctx.strokeStyle = "rgba(255, 59, 78, 0.75)";
      ctx.lineWidth = 1.4;
      ctx.stroke();
      ctx.restore();
    }

    if (docked) return; // inside the station: its label is enough (the HUD says "docked")
    const name = state.nameOf(id) || (isOwn ? state.me?.name ?? "" : `#${id}`);
    const entry = state.names.get(id);
    const mod = entry?.mod === true; // a moderator's ship
    const gm = entry?.gm === true; // a game master's ship (invisible: only its pilot sees it)
    const tag = gm ? (entry?.invisible ? " · GM (invisible)" : " · GM") : mod ? " · MOD" : "";
    const labelCol = mod || gm ? "#9dffb0" : criminal ? "#ff8f9a" : isOwn ? "#bfefff" : "#ffd9a6";
    const text = `${name}${tag}${criminal ? " · CRIMINAL" : ""}`;
    this._label(text, px, py - size - 9, labelCol, 12, isOwn || criminal || mod || gm);
    if (mod) this.modTags.add(id);
    if (gm) this.gmTags.add(id);
  }

  // ------------------------------------------------------------------ target, distress
  /** The locked target: animated corner brackets, its hull and shield bars, name and range. */
  _targetMark(nowMs) {
    const { ctx, state } = this;
    const id = state.target;
    if (!id) return;
    const p = this.poses.get(id);
    const track = state.tracks.get(id);
    const own = this.own;
    if (!track) return;
    const last = track.last;
    const criminal = last && (last.flags & F_CRIMINAL);
    const col = criminal ? CRIMINAL : track.kind === KIND_WRECK ? "#e0b48c" : "#ffcf4a";
    const st = state.status?.target;
    const info = st && Number(st.id) === id ? st : null;
    const dist = own && last ? Math.hypot(last.x - own.x, last.y - own.y) : Number(info?.dist);
    if (!p) {
      // off screen: an arrow at the edge towards it
      if (!own || !last) return;
      this._edgeArrow(last.x, last.y, col, `${state.nameOf(id) || "target"} · ${fmtDistance(dist)}`, nowMs, "target");
      return;
    }
    const r = Math.max(p.size * 1.6, 16) + 2 * Math.sin(nowMs / 180);
    const k = r * 0.45;
    ctx.save();
    ctx.strokeStyle = col;
    ctx.lineWidth = 2;
    ctx.shadowColor = col;
    ctx.shadowBlur = 6;
    ctx.beginPath();
    for (const [sx, sy] of [[-1, -1], [1, -1], [1, 1], [-1, 1]]) {
      const cx = p.px + sx * r;
      const cy = p.py + sy * r;
      ctx.moveTo(cx, cy - sy * k);
      ctx.lineTo(cx, cy);
      ctx.lineTo(cx - sx * k, cy);
    }
    ctx.stroke();
    ctx.restore();
    // a faint line from us to it
    if (own && this.poses.get(state.ship)) {
      const o = this.poses.get(state.ship);
      ctx.save();
      ctx.beginPath();
      ctx.moveTo(o.px, o.py);
      ctx.lineTo(p.px, p.py);
      ctx.setLineDash([2, 6]);
      ctx.strokeStyle = rgba(rgbOf(col), 0.3);
      ctx.lineWidth = 1;
      ctx.stroke();
      ctx.restore();
    }
    // bars under the brackets: shield (blue) over hull (green -> red)
    let y = p.py + r + 8;
    const bw = Math.max(56, r * 2.2);
    const x0 = p.px - bw / 2;
    if (info && track.kind === KIND_SHIP) {
      const bars = [[Number(info.shield), "#59b7ff"], [Number(info.hull), null]];
      for (const [frac, c] of bars) {
        const f = clamp(Number.isFinite(frac) ? frac : 0, 0, 1);
        ctx.fillStyle = "rgba(0, 0, 0, 0.6)";
        ctx.fillRect(x0 - 1, y - 1, bw + 2, 6);
        ctx.fillStyle = c ?? (f > 0.5 ? "#58e08f" : f > 0.25 ? "#ffcf4a" : "#ff5c6c");
        ctx.fillRect(x0, y, bw * f, 4);
        y += 7;
      }
    }
    ctx.textAlign = "center"; // the name is above the ship already; the range goes below
    this._text(fmtDistance(dist), p.px, y + 11, col, 11, true);
  }

  /** Queue an edge marker towards world point (x, y); _markers draws the queue last. */
  _edgeArrow(x, y, colour, caption, nowMs, kind = "target") {
    void nowMs;
    this.edgeQueue.push({ kind, x, y, colour, caption, strong: true });
  }

  /** Distress calls in this system: a pulsing red beacon, or an edge arrow when off screen. */
  _distress(nowMs) {
    const { ctx, state } = this;
    if (!state.distress.length || !this.own) return;
    for (const d of state.distress) {
      if (d.untilMs < nowMs) continue;
      const px = this.sx(d.x);
      const py = this.sy(d.y);
      const caption = `SOS ${d.from} · ${fmtDistance(Math.hypot(d.x - this.own.x, d.y - this.own.y))}`;
      if (px < 0 || py < 0 || px > this.w || py > this.h) {
        this._edgeArrow(d.x, d.y, "#ff6b7a", caption, nowMs, "sos");
        continue;
      }
      pulseRings(ctx, px, py, nowMs, { count: 3, periodMs: 1400, r0: 8, grow: 46, rgb: "255, 80, 100", alpha: 0.8 });
      this._label(caption, px, py - 60, "#ff9aa5", 12, true);
    }
  }

  /** The targetable entity (ship or wreck, not ours) under screen point (mx, my), or 0. */
  pick(mx, my) {
    let best = 0;
    let bestD = Infinity;
    for (const [id, p] of this.poses) {
      if (id === this.state.ship || (p.kind !== KIND_SHIP && p.kind !== KIND_WRECK)) continue;
      const d = Math.hypot(p.px - mx, p.py - my);
      if (d <= Math.max(p.size * 1.4, 18) && d < bestD) {
        best = id;
        bestD = d;
      }
    }
    return best;
  }

  // ------------------------------------------------------------------ overlays in the view
  /**
   * Screen rectangles of what the HUD shows over the view (panels, the stick, the touch
   * buttons; cached briefly): markers and the scale bar keep out of them.
   */
  /** The HUD's rectangles over the view now (see _panels) but the objective's marker: that
   * marker avoids them (missions.js). */
  panelRects() {
    return this._panels(performance.now()).filter((r) => !r.marker);
  }

  _panels(nowMs) {
    if (!this._panelCache || nowMs - this._panelCache.at > 500) {
      const rects = [];
      // (and the objective's marker, so that no label is drawn over its distance)
      const sel = "#hud:not([hidden]) :is(.panel, .keys, .log, .warnings, .toasts li, .stick, .tb, .hud-menu, .obj-marker:not([hidden]))";
      for (const node of document.querySelectorAll(sel)) {
        const r = node.getBoundingClientRect();
        if (r.width && r.height) {
          rects.push({ x0: r.left - 6, y0: r.top - 6, x1: r.right + 6, y1: r.bottom + 6, marker: node.id === "obj-marker" });
        }
      }
      this._panelCache = { at: nowMs, rects };
    }
    return this._panelCache.rects;
  }

  /**
   * Markers on the screen's edge for what is out of view: the locked target and distress calls
   * (queued while drawing them), stations, the star, the nearest other ships, and the
   * directions of the jump links. Each sits where the line from the ship towards it meets the
   * edge, moved along the edge out from under the HUD, with its name and distance; every one
   * drawn is listed in `this.markers` ({kind, name, x, y, label: its rectangle}) for tests.
   */
  _markers(nowMs) {
    const own = this.own;
    const queue = this.edgeQueue;
    this.edgeQueue = [];
    this.markers = [];
    if (!own) return;
    const { w, h, state } = this;
    const sys = state.system;
    const list = queue; // the target and SOS calls first: they matter most
    // then what main.js adds: party members, the autopilot's destination (issue 16)
    for (const mk of this.extraMarkers?.(own) ?? []) list.push(mk);
    for (const s of stations(sys)) {
      if (s.destroyed) continue;
      const x = num(s, "x") ?? 0;
      const y = num(s, "y") ?? 0;
      list.push({ kind: "station", x, y, colour: "#5cd0ff",
        caption: `${label(s, "station")} · ${fmtDistance(Math.hypot(x - own.x, y - own.y))}` });
    }
    list.push({ kind: "star", x: 0, y: 0, colour: starCss(sys),
      caption: `${label(sys?.star, sys?.name ?? "star")} · ${fmtDistance(Math.hypot(own.x, own.y))}` });
    // other ships out of view, nearest first (the target has its own marker)
    const ships = [];
    for (const [id, track] of state.tracks) {
      if (id === state.ship || id === state.target || track.kind !== KIND_SHIP || !track.last) continue;
      const t = track.last;
      if (t.flags & F_DOCKED) continue;
      const px = this.sx(t.x);
      const py = this.sy(t.y);
      if (px > 0 && px < w && py > 0 && py < h) continue;
      ships.push({ id, t, d: Math.hypot(t.x - own.x, t.y - own.y) });
    }
    ships.sort((a, b) => a.d - b.d);
    ships.slice(0, 5).forEach(({ id, t, d }, i) => {
      const criminal = (t.flags & F_CRIMINAL) !== 0;
      list.push({ kind: "ship", x: t.x, y: t.y, small: true, colour: criminal ? CRIMINAL : "#ffb347",
        caption: i < 2 ? `${state.nameOf(id) || "ship"} · ${fmtDistance(d)}` : "" });
    });
    // jump links: the direction of each linked system across the galaxy (main.js fills `links`)
    const far = 1e9 / Math.max(this.zoom, 1e-6);
    for (const l of this.links) {
      const n = Math.hypot(l.dx, l.dy) || 1;
      list.push({ kind: "link", x: own.x + (l.dx / n) * far, y: own.y + (l.dy / n) * far, hollow: true,
        colour: "rgba(255, 190, 110, 0.8)", caption: w < 700 ? "" : `⇢ ${l.name}` });
    }
    const panels = this.scaleRect ? [...this._panels(nowMs), this.scaleRect] : this._panels(nowMs);
    for (const mk of list) this._edgeMarker(mk, panels, nowMs);
  }

  /** Draw one edge marker if its point is off screen (see _markers). */
  _edgeMarker(mk, panels, nowMs) {
    const { ctx, w, h } = this;
    const px = this.sx(mk.x);
    const py = this.sy(mk.y);
    if (px > 0 && px < w && py > 0 && py < h) return;
    const m = mk.strong ? 30 : 22;
    const cx = w / 2;
    const cy = h / 2;
    const dx = px - cx;
    const dy = py - cy;
    const k = Math.min((cx - m) / Math.abs(dx || 1e-9), (cy - m) / Math.abs(dy || 1e-9));
    let mx = cx + dx * k;
    let my = cy + dy * k;
    // slide along the edge out from under the HUD: up or down on the sides, sideways on the
    // top and bottom, to the nearest stretch of edge no panel covers
    // (an edge the HUD covers end to end, like a phone's top bar: round the corner onto the side)
    const acrossX = (x) => panels.filter((r) => x >= r.x0 && x <= r.x1).map((r) => [r.y0 - 8, r.y1 + 8]);
    const acrossY = (y) => panels.filter((r) => y >= r.y0 && y <= r.y1).map((r) => [r.x0 - 8, r.x1 + 8]);
    const free = (v, spans) => !spans.some(([lo, hi]) => v > lo && v < hi);
    if (Math.abs(mx - m) < 1 || Math.abs(mx - (w - m)) < 1) {
      my = freeAlong(my, m, h - m, acrossX(mx));
      if (!free(my, acrossX(mx))) {
        my = my < cy ? m : h - m;
        mx = freeAlong(mx, m, w - m, acrossY(my));
      }
    } else {
      mx = freeAlong(mx, m, w - m, acrossY(my));
      if (!free(mx, acrossY(my))) {
        mx = mx < cx ? m : w - m;
        my = freeAlong(my, m, h - m, acrossX(mx));
      }
    }
    const a = Math.atan2(dy, dx);
    const s = mk.strong ? 1.35 : mk.small ? 0.75 : 1;
    ctx.save();
    ctx.translate(mx, my);
    ctx.rotate(a);
    ctx.beginPath();
    ctx.moveTo(8 * s, 0);
    ctx.lineTo(-5 * s, -6 * s);
    ctx.lineTo(-2 * s, 0);
    ctx.lineTo(-5 * s, 6 * s);
    ctx.closePath();
    if (mk.hollow) {
      ctx.strokeStyle = mk.colour;
      ctx.lineWidth = 1.4;
      ctx.stroke();
    } else {
      ctx.fillStyle = mk.colour;
      ctx.globalAlpha = mk.strong ? 0.8 + 0.2 * Math.sin(nowMs / 200) : 0.85;
      ctx.fill();
    }
    ctx.restore();
    const rec = { kind: mk.kind, name: mk.caption, x: Math.round(mx), y: Math.round(my), label: null };
    this.markers.push(rec);
    if (!mk.caption) return;
    // the label: beside the arrow, towards the middle of the screen; if a HUD panel is in the
    // way, beside that panel instead (right or left of it, then above or below it)
    const size = mk.strong ? 11.5 : 11;
    ctx.font = labelFont(size, mk.strong);
    const tw = ctx.measureText(mk.caption).width + 4;
    const ly0 = my < cy ? my + 22 : my - 12;
    const lx0 = mx < w * 0.2 ? mx + 10 : mx > w * 0.8 ? mx - 10 - tw : mx - tw / 2;
    // labels may come closer to a panel than arrows do (2 px instead of 6)
    // and clear of the labels already drawn: _place would slide it past them, onto a panel
    // (a jump link's name went under the phone's Jump button)
    const boxes = panels.map((r) => ({ x0: r.x0 + 4, y0: r.y0 + 4, x1: r.x1 - 4, y1: r.y1 - 4 }))
      .concat(this.placed);
    const hits = (x0, y) => boxes.filter((r) => x0 < r.x1 && x0 + tw > r.x0 && y - size < r.y1 && y + 2 > r.y0);
    const fits = (x0, y) => x0 >= 2 && x0 + tw <= w - 2 && y - size >= 2 && y + 2 <= h - 2 && !hits(x0, y).length;
    // beside the arrow, or slid just past the panel in the way (not so far it reads as another's)
    const close = ([x0]) => Math.max(x0 - mx, mx - (x0 + tw), 0) < 48;
    const near = [[lx0, ly0]];
    for (const r of hits(lx0, ly0)) near.push(...[[r.x1 + 2, ly0], [r.x0 - 2 - tw, ly0]].filter(close));
    // no room beside the arrow: its distance alone there, else the full caption further in,
    // else the arrow alone (a label under a panel helps nobody)
    const short = mk.caption.includes(" · ") ? mk.caption.slice(mk.caption.lastIndexOf(" · ") + 3) : "";
    const sw = short ? ctx.measureText(short).width + 4 : 0;
    const step = my < cy ? 1 : -1;
    const shortAt = short ? [[mx - sw / 2, ly0], [mx + 10, my + 4], [mx - 10 - sw, my + 4],
      ...[1, 2, 3].map((k) => [mx - sw / 2, ly0 + step * 18 * k])] : [];
    const far = [];
    for (let k = 1; k <= 10; k++) {
      const y = ly0 + step * 18 * k;
      far.push([lx0, y], [mx + 10, y], [mx - 10 - tw, y]);
    }
    const sfits = ([x0, y]) => x0 >= 2 && x0 + sw <= w - 2 && y - size >= 2 && y + 2 <= h - 2
      && !boxes.some((r) => x0 < r.x1 && x0 + sw > r.x0 && y - size < r.y1 && y + 2 > r.y0);
    let caption = mk.caption;
    let pick = near.find(([x0, y]) => fits(x0, y));
    if (!pick && short) {
      pick = shortAt.find(sfits);
      if (pick) caption = short;
    }
    pick ??= far.find(([x0, y]) => fits(x0, y));
    if (!pick) return;
    const colour = mk.strong ? mk.colour : mk.kind === "link" ? "rgba(255, 205, 150, 0.75)" : "rgba(190, 215, 250, 0.8)";
    rec.label = this._place(caption, pick[0] + 2, pick[1], colour, size, !!mk.strong, "left", my < cy ? 1 : -1);
  }

  _scaleBar() {
    const { ctx, zoom } = this;
    const step = this.gridStep || GRID_STEPS.find((s) => s * zoom >= 90) || 1000;
    const len = step * zoom;
    const x = 16;
    let y = this.h - 44;
    for (const r of this._panels(performance.now())) {
      if (r.x0 < x + len + 60 && r.y1 > y - 16 && r.y0 < y) y = r.y0 - 8; // keep above panels
    }
    ctx.strokeStyle = "rgba(190, 210, 240, 0.7)";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(x, y - 4);
    ctx.lineTo(x, y);
    ctx.lineTo(x + len, y);
    ctx.lineTo(x + len, y - 4);
    ctx.stroke();
    ctx.textAlign = "left";
    this._text(`${fmtDistance(step)} · grid`, x + 4, y - 8, "rgba(190, 210, 240, 0.7)", 11);
    ctx.textAlign = "center";
    this.scaleRect = { x0: x - 6, y0: y - 22, x1: x + Math.max(len, 80) + 6, y1: y + 6 };
  }

  _label(text, x, y, colour, size = 12, bold = false) {
    return this._place(text, x, y, colour, size, bold, "center", -1);
  }

  /**
   * Draw a label with its baseline at y, moved (dir -1 up, +1 down) past labels already drawn
   * this frame, so names near a station or a crowd stay readable.
   */
  _place(text, x, y, colour, size, bold, align, dir) {
    if (!text) return;
    const { ctx } = this;
    ctx.font = labelFont(size, bold);
    const width = ctx.measureText(text).width + 4;
    const x0 = align === "left" ? x - 2 : align === "right" ? x - width + 2 : x - width / 2;
    const x1 = x0 + width;
    let top = y - size;
    for (let tries = 0; tries < 8; tries++) {
      const hit = this.placed.find((r) => x0 < r.x1 && x1 > r.x0 && top < r.y1 && top + size + 2 > r.y0);
      if (!hit) break;
      top = dir < 0 ? hit.y0 - size - 3 : hit.y1 + 1;
    }
    const rect = { x0, x1, y0: top, y1: top + size + 2 };
    this.placed.push(rect);
    ctx.textAlign = align;
    this._text(text, x, top + size, colour, size, bold);
    ctx.textAlign = "center";
    return rect;
  }

  /** Server text is drawn with fillText: never parsed as markup. */
  _text(text, x, y, colour, size = 12, bold = false) {
    this.ctx.font = labelFont(size, bold);
    haloText(this.ctx, text, x, y, colour, "rgba(2, 4, 10, 0.85)");
  }
}
