// Short-lived visual effects from the server's `fx` messages, drawn on the flight canvas:
// laser beams (a glowing line that fades), launches of shells and missiles (a muzzle flash:
// the rounds themselves are snapshot entities), hit sparks (shield hits: a blue ring; hull
// hits: orange sparks), explosions (a flash, an expanding shock ring, fire and debris).
//
// `fx` describes what happened at the server's present; the view shows the world about 100 ms
// in the past (state.js), so each effect is held back by the render delay to line up with the
// ships it belongs to. The list is bounded: a huge battle cannot grow it without limit.

import { glowDisc } from "./paint.js";
import { rng } from "./util.js";

const MAX_EFFECTS = 400;
const BEAM_MS = 220;
const SHOT_MS = 160;
const HIT_MS = 420;
const BOOM_MS = 1600;
const MAX_DELAY_MS = 250;

function point(v) {
  if (!Array.isArray(v) || v.length < 2) return null;
  const x = Number(v[0]);
  const y = Number(v[1]);
  return Number.isFinite(x) && Number.isFinite(y) ? [x, y] : null;
}

export class Effects {
  constructor() {
    this.items = [];
    this.counts = { beam: 0, shot: 0, hit: 0, boom: 0 }; // received, for tests
    this.ownHitAt = -Infinity; // when our ship was last hit (the HUD warns, the view flashes)
    this.ownHullHitAt = -Infinity;
    this._seed = 1;
  }

  clear() {
    this.items = [];
  }

  /** Take one `fx` message; delayMs lines the effects up with the interpolated view. */
  add(msg, nowMs, delayMs, ownShip) {
    const list = Array.isArray(msg?.fx) ? msg.fx : [];
    const start = nowMs + Math.max(0, Math.min(MAX_DELAY_MS, delayMs || 0));
    for (const f of list) {
      if (!f || typeof f !== "object") continue;
      const own = Number(f.ship) === ownShip && ownShip > 0;
      let item = null;
      if (f.k === "beam") {
        const a = point(f.from);
        const b = point(f.to);
        if (a && b) item = { k: "beam", a, b, hit: !!f.hit, own, start, end: start + BEAM_MS };
      } else if (f.k === "shot") {
        const a = point(f.from);
        const b = point(f.to) ?? a;
        if (a) item = { k: "shot", a, b, own, start, end: start + SHOT_MS };
      } else if (f.k === "hit") {
        const at = point(f.at);
        if (at) item = { k: "hit", at, shield: !!f.shield, own, start, end: start + HIT_MS, seed: this._seed++ };
        if (at && own) {
          this.ownHitAt = start;
          if (!f.shield) this.ownHullHitAt = start;
        }
      } else if (f.k === "boom") {
        const at = point(f.at);
        if (at) {
          item = { k: "boom", at, own, start, end: start + BOOM_MS, seed: this._seed++ };
          item.parts = this._debris(item.seed);
        }
      }
      if (item) {
        this.counts[item.k] += 1;
        this.items.push(item);
      }
    }
    if (this.items.length > MAX_EFFECTS) this.items.splice(0, this.items.length - MAX_EFFECTS);
  }

  _debris(seed) {
    const rnd = rng(seed * 2654435761);
    const parts = [];
    for (let i = 0; i < 28; i++) {
      const a = rnd() * Math.PI * 2;
      parts.push({
        a, v: 0.35 + rnd() * 0.9, size: 1 + rnd() * 2.4, hot: rnd() < 0.55, spin: rnd() * 6,
      });
    }
    return parts;
  }

  /** Draw every live effect; r is the Renderer (world -> screen: r.sx, r.sy, r.zoom). */
  draw(r, nowMs) {
    if (!this.items.length && nowMs - this.ownHullHitAt > 450) return;
    const ctx = r.ctx;
    ctx.save();
    let live = 0;
    for (const it of this.items) {
      if (nowMs >= it.end) continue;
      this.items[live++] = it;
      if (nowMs < it.start) continue;
      const f = (nowMs - it.start) / (it.end - it.start); // 0 -> 1 over the effect's life
      if (it.k === "beam") this._beam(r, ctx, it, f);
      else if (it.k === "shot") this._shot(r, ctx, it, f);
      else if (it.k === "hit") this._hit(r, ctx, it, f, nowMs);
      else this._boom(r, ctx, it, f, nowMs);
    }
    this.items.length = live;
    ctx.restore();
    // our hull took damage: the screen's edge flashes red
    const since = nowMs - this.ownHullHitAt;
    if (since >= 0 && since < 450) {
      const a = 0.45 * (1 - since / 450);
      const g = ctx.createRadialGradient(r.w / 2, r.h / 2, Math.min(r.w, r.h) * 0.35, r.w / 2, r.h / 2, Math.max(r.w, r.h) * 0.75);
      g.addColorStop(0, "rgba(255, 30, 50, 0)");
      g.addColorStop(1, `rgba(255, 30, 50, ${a})`);
      ctx.fillStyle = g;
      ctx.fillRect(0, 0, r.w, r.h);
    }
  }

  _beam(r, ctx, it, f) {
    const ax = r.sx(it.a[0]);
    const ay = r.sy(it.a[1]);
    const bx = r.sx(it.b[0]);
    const by = r.sy(it.b[1]);
    const alpha = 1 - f * f;
    const core = it.own ? "220, 250, 255" : "255, 230, 225";
    const glow = it.own ? "92, 208, 255" : "255, 80, 90";
    ctx.globalCompositeOperation = "lighter";
    ctx.lineCap = "round";
    for (const [w, c, a] of [[7, glow, 0.22], [3.2, glow, 0.6], [1.4, core, 0.95]]) {
      ctx.beginPath();
      ctx.moveTo(ax, ay);
      ctx.lineTo(bx, by);
      ctx.strokeStyle = `rgba(${c}, ${a * alpha})`;
      ctx.lineWidth = w * (1 - f * 0.5);
      if (!it.hit) ctx.setLineDash([10, 6]);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    if (it.hit) {
      // a bright point where the beam bites
      glowDisc(ctx, bx, by, 9, [[0, `rgba(255, 255, 255, ${0.9 * alpha})`], [1, `rgba(${glow}, 0)`]]);
    }
    ctx.globalCompositeOperation = "source-over";
  }

  /** A launch: a muzzle flash at the shooter, pointing where it aimed. */
  _shot(r, ctx, it, f) {
    const ax = r.sx(it.a[0]);
    const ay = r.sy(it.a[1]);
    if (!r.onScreen(ax, ay, 40)) return;
    const ang = Math.atan2(r.sy(it.b[1]) - ay, r.sx(it.b[0]) - ax);
    const a = 1 - f;
    ctx.globalCompositeOperation = "lighter";
    ctx.save();
    ctx.translate(ax, ay);
    ctx.rotate(ang);
    const g = ctx.createRadialGradient(6, 0, 0, 6, 0, 14);
    g.addColorStop(0, `rgba(255, 250, 220, ${a})`);
    g.addColorStop(1, "rgba(255, 160, 60, 0)");
    ctx.fillStyle = g;
    ctx.beginPath();
    ctx.ellipse(8, 0, 14, 6, 0, 0, Math.PI * 2);
    ctx.fill();
    ctx.restore();
    ctx.globalCompositeOperation = "source-over";
  }

  _hit(r, ctx, it, f) {
    const px = r.sx(it.at[0]);
    const py = r.sy(it.at[1]);
    if (!r.onScreen(px, py, 60)) return;
    ctx.globalCompositeOperation = "lighter";
    if (it.shield) {
      // the shield lights up: a blue ring that grows and fades, with a soft fill
      const rad = Math.max(14, 22 * r.zoom * 1.2) * (0.8 + f * 0.9);
      const a = 1 - f;
      glowDisc(ctx, px, py, rad, [
        [0, `rgba(90, 170, 255, ${0.08 * a})`],
        [0.85, `rgba(110, 190, 255, ${0.4 * a})`],
        [1, "rgba(110, 190, 255, 0)"],
      ], rad * 0.4);
      ctx.beginPath();
      ctx.arc(px, py, rad, 0, Math.PI * 2);
      ctx.strokeStyle = `rgba(150, 210, 255, ${0.9 * a})`;
      ctx.lineWidth = 2;
      ctx.stroke();
    } else {
      // hull: orange sparks flying out and a hot flash
      const rnd = rng(it.seed);
      const a = 1 - f;
      glowDisc(ctx, px, py, 12 * (1 - f * 0.5), [[0, `rgba(255, 240, 200, ${a})`], [1, "rgba(255, 120, 30, 0)"]]);
      ctx.lineCap = "round";
      for (let i = 0; i < 10; i++) {
        const ang = rnd() * Math.PI * 2;
        const speed = 14 + rnd() * 26;
        const d0 = speed * f;
        const d1 = d0 + 4 + rnd() * 5;
        ctx.beginPath();
        ctx.moveTo(px + Math.cos(ang) * d0, py + Math.sin(ang) * d0);
        ctx.lineTo(px + Math.cos(ang) * d1, py + Math.sin(ang) * d1);
        ctx.strokeStyle = `rgba(255, ${150 + Math.floor(rnd() * 80)}, 60, ${a})`;
        ctx.lineWidth = 1.6;
        ctx.stroke();
      }
    }
    ctx.globalCompositeOperation = "source-over";
  }

  _boom(r, ctx, it, f, nowMs) {
    const px = r.sx(it.at[0]);
    const py = r.sy(it.at[1]);
    // size: ~90 m of fire, never smaller than a readable blast on screen
    const R = Math.max(90 * r.zoom, 36);
    if (!r.onScreen(px, py, R * 3)) return;
    const ease = 1 - (1 - f) ** 3;
    ctx.globalCompositeOperation = "lighter";
    // 1. the flash (first 12%)
    if (f < 0.12) {
      const a = 1 - f / 0.12;
      glowDisc(ctx, px, py, R * 1.6, [
        [0, `rgba(255, 255, 255, ${a})`],
        [0.3, `rgba(255, 230, 170, ${0.7 * a})`],
        [1, "rgba(255, 160, 60, 0)"],
      ]);
    }
    // 2. the fireball: swells, then cools from yellow to dull red
    if (f < 0.7) {
      const g2 = f / 0.7;
      const rad = R * (0.35 + 0.75 * Math.sqrt(g2));
      const a = 1 - g2;
      glowDisc(ctx, px, py, rad, [
        [0, `rgba(255, ${Math.round(240 - 120 * g2)}, ${Math.round(150 - 130 * g2)}, ${0.95 * a})`],
        [0.55, `rgba(255, ${Math.round(130 - 70 * g2)}, 30, ${0.6 * a})`],
        [1, "rgba(120, 20, 10, 0)"],
      ]);
    }
    // 3. two shock rings running outwards
    for (const [delay, scale, col] of [[0, 2.6, "255, 200, 120"], [0.08, 1.9, "255, 120, 60"]]) {
      const g3 = (f - delay) / (1 - delay);
      if (g3 <= 0) continue;
      const e3 = 1 - (1 - g3) ** 3;
      ctx.beginPath();
      ctx.arc(px, py, R * (0.3 + scale * e3), 0, Math.PI * 2);
      ctx.strokeStyle = `rgba(${col}, ${0.85 * (1 - g3)})`;
      ctx.lineWidth = 1 + 4 * (1 - g3);
      ctx.stroke();
    }
    // 4. debris and embers
    for (const p of it.parts) {
      const d = R * (0.2 + 2.2 * p.v * ease);
      const x = px + Math.cos(p.a) * d;
      const y = py + Math.sin(p.a) * d;
      const a = Math.max(0, 1 - f * (p.hot ? 1.25 : 1));
      if (a <= 0) continue;
      if (p.hot) {
        ctx.fillStyle = `rgba(255, ${Math.round(200 - 120 * f)}, 80, ${a})`;
        ctx.beginPath();
        ctx.arc(x, y, p.size * (1 - f * 0.5), 0, Math.PI * 2);
        ctx.fill();
      } else {
        ctx.save();
        ctx.globalCompositeOperation = "source-over";
        ctx.translate(x, y);
        ctx.rotate(p.spin * f * 4 + p.a);
        ctx.fillStyle = `rgba(150, 140, 135, ${a * 0.9})`;
        ctx.fillRect(-p.size * 1.3, -p.size * 0.6, p.size * 2.6, p.size * 1.2);
        ctx.restore();
      }
    }
    ctx.globalCompositeOperation = "source-over";
    // 5. smoke, lingering after the fire
    if (f > 0.25) {
      const g4 = (f - 0.25) / 0.75;
      const rad = R * (1 + 1.3 * g4);
      glowDisc(ctx, px, py, rad, [[0, `rgba(70, 60, 60, ${0.28 * (1 - g4)})`], [1, "rgba(40, 40, 45, 0)"]], rad * 0.2);
    }
    void nowMs;
  }
}
