// The flight view: a full-window canvas, camera centred on the own ship. Draws (back to front)
// starfield parallax, grid, star, orbits and planets, asteroid rocks, stations, ships with name
// labels and thrust flames, off-screen markers and a scale bar. World y points up; screen y down.

import { F_DOCKED, F_JUMPING, F_THRUSTING, KIND_SHIP } from "./snapshot.js";
import {
  bodyRadius, fields, label, orbitRadius, planetColour, planetPosition, planets, starCss,
  starRadius, stations,
} from "./system.js";
import { clamp, fmtDistance, hash32, num, rgba, rgbOf } from "./util.js";

const HULL_RADIUS = { shuttle: 12, hauler: 24, interceptor: 10 };
const GRID_STEPS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000];
const STAR_TILE = 256;
const STAR_LAYERS = [
  { parallax: 0.004, count: 26, size: 1, alpha: 0.45 },
  { parallax: 0.012, count: 12, size: 1.4, alpha: 0.65 },
  { parallax: 0.03, count: 5, size: 2, alpha: 0.85 },
];
const FONT = 'system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif';

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
    this.frame = 0;
    this.stats = { fps: 0, frames: 0, since: performance.now() };
    this.resize();
    addEventListener("resize", () => this.resize());
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => this.resize()).observe(canvas);
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      this.zoomBy(Math.exp(-e.deltaY * 0.0015));
    }, { passive: false });
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
    this._background();
    this._starfield();
    if (state.system) {
      const t = rt ?? state.systemTick;
      this._grid();
      this._star();
      this._planets(t);
      this._rocks();
      this._stations(own);
      if (rt !== null) this._ships(rt, nowMs);
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
    const g = ctx.createRadialGradient(px, py, r * 0.5, px, py, glow);
    g.addColorStop(0, rgba(rgb, 0.55));
    g.addColorStop(0.25, rgba(rgb, 0.18));
    g.addColorStop(1, rgba(rgb, 0));
    ctx.fillStyle = g;
    ctx.beginPath();
    ctx.arc(px, py, glow, 0, Math.PI * 2);
    ctx.fill();
    const core = ctx.createRadialGradient(px, py, 0, px, py, r);
    core.addColorStop(0, "#ffffff");
    core.addColorStop(0.6, rgba(rgb, 1));
    core.addColorStop(1, rgba(rgb, 0.9));
    ctx.fillStyle = core;
    ctx.beginPath();
    ctx.arc(px, py, r, 0, Math.PI * 2);
    ctx.fill();
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
      const g = ctx.createRadialGradient(0, 0, 0, 0, 0, r * 1.8);
      g.addColorStop(0, "rgba(92, 208, 255, 0.25)");
      g.addColorStop(1, "rgba(92, 208, 255, 0)");
      ctx.fillStyle = g;
      ctx.beginPath();
      ctx.arc(0, 0, r * 1.8, 0, Math.PI * 2);
      ctx.fill();
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
      this._label(label(s, "station"), px, py - Math.max(r, 10) - 12, "#a8ddff", 13, true);
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

  // ------------------------------------------------------------------ ships
  _ships(rt, nowMs) {
    const { state } = this;
    const mine = state.ship;
    let ownPose = null;
    for (const [id, track] of state.tracks) {
      if (track.kind !== KIND_SHIP) continue;
      const pose = id === mine ? this.own : track.at(rt, state.tickHz);
      if (!pose) continue;
      if (id === mine) {
        ownPose = pose;
        continue; // drawn last, on top
      }
      this._ship(id, pose, false, nowMs);
    }
    if (ownPose) this._ship(mine, ownPose, true, nowMs);
  }

  _ship(id, pose, isOwn, nowMs) {
    const { ctx, state, zoom } = this;
    const px = this.sx(pose.x);
    const py = this.sy(pose.y);
    if (!this.onScreen(px, py, 200)) return;
    const hull = state.names.get(id)?.hull || "shuttle";
    const size = Math.max((HULL_RADIUS[hull] ?? 12) * zoom * 1.2, 11);
    const docked = (pose.flags & F_DOCKED) !== 0;
    const colour = isOwn ? "#5cd0ff" : "#ffb347";
    const rgb = rgbOf(colour);

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
      const phase = (nowMs / 400) % 1;
      for (let k = 0; k < 2; k++) {
        const f = (phase + k * 0.5) % 1;
        ctx.beginPath();
        ctx.arc(px, py, size * (1.2 + f * 2.5), 0, Math.PI * 2);
        ctx.strokeStyle = `rgba(255, 179, 71, ${0.7 * (1 - f)})`;
        ctx.lineWidth = 2;
        ctx.stroke();
      }
    }

    ctx.save();
    ctx.translate(px, py);
    ctx.rotate(-pose.angle);
    ctx.globalAlpha = docked ? 0.55 : 1;
    if ((pose.flags & F_THRUSTING) && !docked) {
      // two tongues of flame: a wide orange glow and a white-hot core, flickering
      const flick = 0.75 + 0.25 * Math.sin(nowMs / 35 + id) * Math.sin(nowMs / 53 + id * 3);
      const base = -size * 0.42;
      for (const [len, half, c0, c1] of [
        [size * (1.5 + 0.8 * flick), size * 0.4, "rgba(255, 150, 50, 0.75)", "rgba(255, 70, 20, 0)"],
        [size * (0.9 + 0.5 * flick), size * 0.2, "rgba(255, 255, 230, 0.95)", "rgba(255, 200, 90, 0)"],
      ]) {
        const g = ctx.createLinearGradient(base, 0, base - len, 0);
        g.addColorStop(0, c0);
        g.addColorStop(1, c1);
        ctx.fillStyle = g;
        ctx.beginPath();
        ctx.moveTo(base, -half);
        ctx.quadraticCurveTo(base - len * 0.55, -half * 0.9, base - len, 0);
        ctx.quadraticCurveTo(base - len * 0.55, half * 0.9, base, half);
        ctx.closePath();
        ctx.fill();
      }
    }
    ctx.shadowColor = colour;
    ctx.shadowBlur = isOwn ? 12 : 8;
    ctx.beginPath();
    ctx.moveTo(size, 0);
    ctx.lineTo(-size * 0.7, -size * 0.62);
    ctx.lineTo(-size * 0.4, 0);
    ctx.lineTo(-size * 0.7, size * 0.62);
    ctx.closePath();
    ctx.fillStyle = rgba(rgb.map((c) => c * 0.35), 1);
    ctx.fill();
    ctx.lineWidth = 1.6;
    ctx.strokeStyle = colour;
    ctx.stroke();
    ctx.restore();

    if (docked) return; // inside the station: its label is enough (the HUD says "docked")
    const name = state.nameOf(id) || (isOwn ? state.me?.name ?? "" : `#${id}`);
    this._label(name, px, py - size - 9, isOwn ? "#bfefff" : "#ffd9a6", 12, isOwn);
  }

  // ------------------------------------------------------------------ overlays in the view
  /** Screen rectangles of the HUD panels (cached briefly): markers keep out of them. */
  _panels(nowMs) {
    if (!this._panelCache || nowMs - this._panelCache.at > 500) {
      const rects = [];
      for (const node of document.querySelectorAll("#hud:not([hidden]) :is(.panel, .keys)")) {
        const r = node.getBoundingClientRect();
        if (r.width && r.height) rects.push({ x0: r.left - 6, y0: r.top - 6, x1: r.right + 6, y1: r.bottom + 6 });
      }
      this._panelCache = { at: nowMs, rects };
    }
    return this._panelCache.rects;
  }

  /** Arrows at the screen edge towards off-screen stations and the star, with distances. */
  _markers(nowMs) {
    const { ctx, w, h } = this;
    const own = this.own;
    if (!own) return;
    const sys = this.state.system;
    const targets = stations(sys).filter((s) => !s.destroyed).map((s) => ({
      x: num(s, "x") ?? 0, y: num(s, "y") ?? 0, name: label(s, "station"), colour: "#5cd0ff",
    }));
    targets.push({ x: 0, y: 0, name: label(sys?.star, sys?.name ?? "star"), colour: starCss(sys) });
    const m = 22;
    const cx = w / 2;
    const cy = h / 2;
    const panels = this.scaleRect ? [...this._panels(nowMs), this.scaleRect] : this._panels(nowMs);
    for (const t of targets) {
      const px = this.sx(t.x);
      const py = this.sy(t.y);
      if (px > 0 && px < w && py > 0 && py < h) continue;
      const dx = px - cx;
      const dy = py - cy;
      const k = Math.min((cx - m) / Math.abs(dx || 1e-9), (cy - m) / Math.abs(dy || 1e-9));
      const mx = cx + dx * k;
      let my = cy + dy * k;
      for (const r of panels) {
        if (mx > r.x0 && mx < r.x1 && my > r.y0 && my < r.y1) my = r.y0 < cy ? r.y1 + 8 : r.y0 - 8;
      }
      const a = Math.atan2(dy, dx);
      ctx.save();
      ctx.translate(mx, my);
      ctx.rotate(a);
      ctx.beginPath();
      ctx.moveTo(8, 0);
      ctx.lineTo(-5, -6);
      ctx.lineTo(-5, 6);
      ctx.closePath();
      ctx.fillStyle = t.colour;
      ctx.globalAlpha = 0.85;
      ctx.fill();
      ctx.restore();
      const dist = Math.hypot(t.x - own.x, t.y - own.y);
      const align = mx < w * 0.2 ? "left" : mx > w * 0.8 ? "right" : "center";
      let lx = align === "left" ? mx + 12 : align === "right" ? mx - 12 : mx;
      const ly = my < cy ? my + 22 : my - 12;
      const tag = `${t.name} · ${fmtDistance(dist)}`;
      // slide the label sideways out from under a HUD panel
      ctx.font = `11px ${FONT}`;
      const tw = ctx.measureText(tag).width + 4;
      for (const r of panels) {
        const x0 = align === "left" ? lx : align === "right" ? lx - tw : lx - tw / 2;
        const x1 = x0 + tw;
        if (ly < r.y0 || ly - 11 > r.y1 || x1 < r.x0 || x0 > r.x1) continue;
        lx += (r.x0 + r.x1) / 2 > (x0 + x1) / 2 ? r.x0 - x1 : r.x1 - x0;
      }
      this._place(tag, lx, ly, "rgba(190, 215, 250, 0.8)", 11, false, align, my < cy ? 1 : -1);
    }
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
    this._place(text, x, y, colour, size, bold, "center", -1);
  }

  /**
   * Draw a label with its baseline at y, moved (dir -1 up, +1 down) past labels already drawn
   * this frame, so names near a station or a crowd stay readable.
   */
  _place(text, x, y, colour, size, bold, align, dir) {
    if (!text) return;
    const { ctx } = this;
    ctx.font = `${bold ? "600 " : ""}${size}px ${FONT}`;
    const width = ctx.measureText(text).width + 4;
    const x0 = align === "left" ? x - 2 : align === "right" ? x - width + 2 : x - width / 2;
    const x1 = x0 + width;
    let top = y - size;
    for (let tries = 0; tries < 8; tries++) {
      const hit = this.placed.find((r) => x0 < r.x1 && x1 > r.x0 && top < r.y1 && top + size + 2 > r.y0);
      if (!hit) break;
      top = dir < 0 ? hit.y0 - size - 3 : hit.y1 + 1;
    }
    this.placed.push({ x0, x1, y0: top, y1: top + size + 2 });
    ctx.textAlign = align;
    this._text(text, x, top + size, colour, size, bold);
    ctx.textAlign = "center";
  }

  /** Server text is drawn with fillText: never parsed as markup. */
  _text(text, x, y, colour, size = 12, bold = false) {
    const { ctx } = this;
    ctx.font = `${bold ? "600 " : ""}${size}px ${FONT}`;
    ctx.lineWidth = 3;
    ctx.strokeStyle = "rgba(2, 4, 10, 0.85)";
    ctx.lineJoin = "round";
    ctx.strokeText(text, x, y);
    ctx.fillStyle = colour;
    ctx.fillText(text, x, y);
  }
}
