// The two map overlays: the system map (M) — the whole system scaled to fit — and the galaxy map
// (J) — discovered systems plus the current neighbourhood, jump links as lines, linked systems
// clickable to jump — with the jump panel listing the current system's links.

import { api } from "./api.js";
import { glowDisc, haloText, labelFont, pulseRings } from "./paint.js";
import { F_CRIMINAL, F_DOCKED, KIND_SHIP, KIND_WRECK } from "./snapshot.js";
import {
  bodyRadius, extent, fields, label, orbitRadius, planetColour, planetPosition, planets, starCss,
  starRadius, stations,
} from "./system.js";
import { $, clamp, el, fmtDistance, num, rgba, rgbOf, secKey, secLabel, secStr } from "./util.js";

const SECTOR_SIZE = 1000; // galaxy units per sector (universe/space.py)

function fitCanvas(canvas) {
  const dpr = Math.min(window.devicePixelRatio || 1, 3);
  const w = Math.max(1, canvas.clientWidth);
  const h = Math.max(1, canvas.clientHeight);
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, w, h };
}

function text(ctx, s, x, y, colour, size = 12, bold = false, align = "center") {
  if (!s) return;
  ctx.font = labelFont(size, bold);
  ctx.textAlign = align;
  // a label by the map's edge slides inside it rather than being cut off (a phone's narrow map)
  const cw = ctx.canvas.clientWidth;
  if (align === "center" && cw) {
    const half = ctx.measureText(s).width / 2 + 2;
    if (half * 2 < cw) x = Math.min(Math.max(x, half), cw - half);
  }
  haloText(ctx, s, x, y, colour, "rgba(2, 4, 10, 0.9)");
}

// =========================================================================== system map
export class SystemMap {
  constructor(canvas, state) {
    this.canvas = canvas;
    this.state = state;
  }

  draw(nowMs) {
    const { state } = this;
    const { ctx, w, h } = fitCanvas(this.canvas);
    ctx.fillStyle = "#040813";
    ctx.fillRect(0, 0, w, h);
    const sys = state.system;
    if (!sys) {
      text(ctx, "no system yet", w / 2, h / 2, "#7f93b5", 14);
      return;
    }
    const rt = state.clock.renderTick(nowMs) ?? state.systemTick;
    const ext = extent(sys) * 1.08;
    const scale = (Math.min(w, h) / 2 - 24) / ext;
    const cx = w / 2;
    const cy = h / 2;
    const X = (x) => cx + x * scale;
    const Y = (y) => cy - y * scale;
    // the transform, for what is clicked on the map (travel.js: fly to it)
    this.view = { X, Y, scale, toX: (px) => (px - cx) / scale, toY: (py) => (cy - py) / scale };

    // range rings
    ctx.strokeStyle = "rgba(90, 140, 230, 0.08)";
    ctx.lineWidth = 1;
    const ring = niceStep(ext / 4);
    for (let r = ring; r <= ext; r += ring) {
      ctx.beginPath();
      ctx.arc(cx, cy, r * scale, 0, Math.PI * 2);
      ctx.stroke();
    }
    text(ctx, `ring ${fmtDistance(ring)}`, 14, h - 14, "rgba(127, 147, 181, 0.8)", 11, false, "left");

    // star
    const rgb = rgbOf(starCss(sys));
    const sr = Math.max(starRadius(sys) * scale, 5);
    glowDisc(ctx, cx, cy, sr * 4, [[0, rgba(rgb, 1)], [0.25, rgba(rgb, 0.5)], [1, rgba(rgb, 0)]]);

    // planets and orbits
    planets(sys).forEach((p, i) => {
      ctx.beginPath();
      ctx.arc(cx, cy, orbitRadius(p) * scale, 0, Math.PI * 2);
      ctx.strokeStyle = "rgba(140, 170, 230, 0.18)";
      ctx.stroke();
      const [x, y] = planetPosition(p, rt);
      const r = Math.max(bodyRadius(p, 300) * scale, 3.5);
      ctx.beginPath();
      ctx.arc(X(x), Y(y), r, 0, Math.PI * 2);
      ctx.fillStyle = planetColour(p, i);
      ctx.fill();
      text(ctx, label(p, ""), X(x), Y(y) + r + 13, "rgba(200, 215, 240, 0.75)", 11);
    });

    // asteroid fields: a faint disc with its ore, then the rocks
    for (const f of fields(sys)) {
      const fr = (num(f, "radius") ?? 0) * scale;
      if (fr < 3) continue;
      const fx = X(num(f, "x") ?? 0);
      const fy = Y(num(f, "y") ?? 0);
      ctx.beginPath();
      ctx.arc(fx, fy, fr, 0, Math.PI * 2);
      ctx.fillStyle = "rgba(170, 150, 120, 0.07)";
      ctx.fill();
      ctx.setLineDash([2, 4]);
      ctx.strokeStyle = "rgba(190, 170, 140, 0.35)";
      ctx.stroke();
      ctx.setLineDash([]);
      if (typeof f.ore === "string" && f.ore) {
        text(ctx, `${f.ore.replace(/_/g, " ")} field`, fx, fy + fr + 12, "rgba(210, 190, 160, 0.7)", 10);
      }
    }
    ctx.fillStyle = "rgba(190, 175, 150, 0.85)";
    for (const f of fields(sys)) {
      for (const k of f.rocks || []) {
        const r = Math.max((num(k, "r", "radius") ?? 20) * scale, 1.5);
        ctx.fillRect(X(num(k, "x") ?? 0) - r / 2, Y(num(k, "y") ?? 0) - r / 2, r, r);
      }
    }

    // label boxes already taken: a ship's name that would land on one is left out (its dot
    // stays; the Fly-to list names it), so the station and "you" stay readable in a crowd
    const taken = [];
    const box = (x, y, s, size) => {
      ctx.font = labelFont(size);
      const half = ctx.measureText(s).width / 2 + 2;
      return { x0: x - half, x1: x + half, y0: y - size, y1: y + 3 };
    };
    const free = (b) => !taken.some((t) => b.x0 < t.x1 && t.x0 < b.x1 && b.y0 < t.y1 && t.y0 < b.y1);

    // stations
    for (const s of stations(sys)) {
      const px = X(num(s, "x") ?? 0);
      const py = Y(num(s, "y") ?? 0);
      ctx.save();
      ctx.translate(px, py);
      ctx.rotate(Math.PI / 4);
      ctx.fillStyle = "#5cd0ff";
      ctx.fillRect(-4.5, -4.5, 9, 9);
      ctx.restore();
      text(ctx, label(s, "station"), px, py - 10, "#a8ddff", 12, true);
      taken.push(box(px, py - 10, label(s, "station"), 12));
    }

    const mine = state.tracks.get(state.ship);
    const minePose = mine && (mine.at(rt, state.tickHz) ?? mine.last);
    if (minePose) taken.push(box(X(minePose.x), Y(minePose.y) + 20, "you", 11));

    // jump gates, the autopilot's course, party members (travel.js, party.js); a plain label
    // that would land on a taken one is left out, a bold one (party members) always shows
    const layerText = (c, s, x, y, colour, size = 12, bold = false, align = "center") => {
      if (!s) return;
      const b = box(x, y, s, size);
      if (!bold && align === "center" && !free(b)) return;
      text(c, s, x, y, colour, size, bold, align);
      taken.push(b);
    };
    for (const layer of this.layers ?? []) layer(ctx, X, Y, scale, layerText, nowMs);

    // ships: others, then ours with its sensor range
    const me = state.ship;
    const aoi = Number(state.me?.aoi_radius) || 0;
    for (const [id, track] of state.tracks) {
      if (!track.last) continue;
      if (track.kind === KIND_WRECK) {
        const px = X(track.last.x);
        const py = Y(track.last.y);
        ctx.strokeStyle = "#d9b89c";
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(px - 4, py - 4);
        ctx.lineTo(px + 4, py + 4);
        ctx.moveTo(px + 4, py - 4);
        ctx.lineTo(px - 4, py + 4);
        ctx.stroke();
        if (id === state.target) text(ctx, state.nameOf(id) || "wreck", px, py - 8, "#d9b89c", 10);
        continue;
      }
      if (track.kind !== KIND_SHIP) continue;
      const pose = track.at(rt, state.tickHz) ?? track.last;
      const px = X(pose.x);
      const py = Y(pose.y);
      if (id === me) {
        if (aoi) {
          ctx.beginPath();
          ctx.arc(px, py, aoi * scale, 0, Math.PI * 2);
          ctx.strokeStyle = "rgba(92, 208, 255, 0.25)";
          ctx.setLineDash([4, 5]);
          ctx.stroke();
          ctx.setLineDash([]);
        }
        continue;
      }
      const criminal = (pose.flags & F_CRIMINAL) !== 0;
      ctx.beginPath();
      ctx.arc(px, py, 3.5, 0, Math.PI * 2);
      ctx.fillStyle = (pose.flags & F_DOCKED) ? "rgba(255, 179, 71, 0.5)" : criminal ? "#ff3b4e" : "#ffb347";
      ctx.fill();
      if (id === state.target) {
        ctx.beginPath();
        ctx.arc(px, py, 8, 0, Math.PI * 2);
        ctx.strokeStyle = criminal ? "#ff3b4e" : "#ffcf4a";
        ctx.lineWidth = 1.5;
        ctx.stroke();
      }
      const name = state.nameOf(id);
      const b = name ? box(px, py - 8, name, 11) : null;
      if (b && (id === state.target || free(b))) {
        text(ctx, name, px, py - 8, criminal ? "#ff8f9a" : "#ffd9a6", 11);
        taken.push(b);
      }
    }

    // distress calls: pulsing red beacons with who called
    for (const d of state.distress) {
      if (d.untilMs < nowMs) continue;
      const px = X(d.x);
      const py = Y(d.y);
      pulseRings(ctx, px, py, nowMs, { count: 2, periodMs: 1200, r0: 5, grow: 22, rgb: "255, 80, 100", alpha: 0.9 });
      ctx.fillStyle = "#ff5c6c";
      ctx.beginPath();
      ctx.arc(px, py, 3.5, 0, Math.PI * 2);
      ctx.fill();
      text(ctx, `SOS ${d.from}`, px, py - 12, "#ff9aa5", 11, true);
    }
    const own = state.tracks.get(me);
    const pose = own && (own.at(rt, state.tickHz) ?? own.last);
    if (pose) {
      const px = X(pose.x);
      const py = Y(pose.y);
      ctx.save();
      ctx.translate(px, py);
      ctx.rotate(-pose.angle);
      ctx.beginPath();
      ctx.moveTo(9, 0);
      ctx.lineTo(-6, -5.5);
      ctx.lineTo(-3, 0);
      ctx.lineTo(-6, 5.5);
      ctx.closePath();
      ctx.fillStyle = "#5cd0ff";
      ctx.shadowColor = "#5cd0ff";
      ctx.shadowBlur = 10;
      ctx.fill();
      ctx.restore();
      text(ctx, "you", px, py + 20, "#bfefff", 11, true);
    }
  }
}

/** Galaxy position [gx, gy] as BigInt: the summary's `galaxy`, else the sector's centre. */
export function galaxyPos(s) {
  const g = s?.galaxy;
  if (Array.isArray(g) && g.length === 2) {
    try { return [BigInt(g[0]), BigInt(g[1])]; } catch { /* fall through */ }
  }
  const half = BigInt(SECTOR_SIZE / 2);
  return [BigInt(s.x) * BigInt(SECTOR_SIZE) + half, BigInt(s.y) * BigInt(SECTOR_SIZE) + half];
}

/** Distance between two systems in sectors (galaxy units / SECTOR_SIZE). */
export function galaxyDistance(a, b) {
  const [ax, ay] = galaxyPos(a);
  const [bx, by] = galaxyPos(b);
  return Math.hypot(Number(ax - bx), Number(ay - by)) / SECTOR_SIZE;
}

function niceStep(v) {
  const p = 10 ** Math.floor(Math.log10(Math.max(v, 1)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// =========================================================================== galaxy map
export class GalaxyMap {
  /** onJump([x, y]) asks main.js to jump along a link. */
  constructor(canvas, state, onJump) {
    this.canvas = canvas;
    this.state = state;
    this.onJump = onJump;
    this.systems = new Map(); // "x,y" -> summary {x, y, name, star, stations, links}
    this.visited = new Set();
    this.centre = null; // [x, y] strings: the current system when loaded
    this.pan = [0, 0]; // sectors
    this.scale = 0; // px per sector (0: fit on next draw)
    this.hover = null;
    this.loading = false;
    this.loadedFor = null;
    this._hits = [];
    this._drag = null;
    this._bind();
  }

  _bind() {
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => {
      this._drag = { x: e.clientX, y: e.clientY, pan: [...this.pan], moved: false };
      try { c.setPointerCapture(e.pointerId); } catch { /* ignore */ }
    });
    c.addEventListener("pointermove", (e) => {
      const r = c.getBoundingClientRect();
      this.hover = this._hit(e.clientX - r.left, e.clientY - r.top);
      c.style.cursor = this.hover?.link ? "pointer" : this._drag ? "grabbing" : "grab";
      if (!this._drag || !this.scale) return;
      const dx = e.clientX - this._drag.x;
      const dy = e.clientY - this._drag.y;
      if (Math.hypot(dx, dy) > 4) this._drag.moved = true;
      this.pan = [this._drag.pan[0] - dx / this.scale, this._drag.pan[1] + dy / this.scale];
    });
    c.addEventListener("pointerup", (e) => {
      const drag = this._drag;
      this._drag = null;
      if (drag && !drag.moved) {
        const r = c.getBoundingClientRect();
        const hit = this._hit(e.clientX - r.left, e.clientY - r.top);
        if (hit) this._click(hit);
      }
    });
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      if (this.scale) this.scale = clamp(this.scale * Math.exp(-e.deltaY * 0.0015), 8, 400);
    }, { passive: false });
  }

  _click(hit) {
    if (hit.link) {
      this.onJump([hit.sys.x, hit.sys.y]);
    } else if (hit.current) {
      this._status("You are here.");
    } else {
      this._status(`${hit.sys.name || "That system"} has no jump link from here.`);
    }
  }

  _status(msg) {
    $("galaxy-status").textContent = msg;
  }

  _hit(mx, my) {
    let best = null;
    for (const h of this._hits) {
      const d = Math.hypot(h.px - mx, h.py - my);
      if (d <= h.r && (!best || d < best.d)) best = { ...h, d };
    }
    return best;
  }

  /** Fetch discovered systems and the neighbourhood of the current system (r = 3). */
  async load() {
    const st = this.state;
    if (!st.sector) return;
    const [cx, cy] = st.sector;
    const key = secKey(cx, cy);
    this.centre = [cx, cy];
    if (this.loadedFor !== key) {
      this.pan = [0, 0];
      this.scale = 0;
    }
    this.loadedFor = key;
    this.loading = true;
    this._status("loading the charts…");
    this.renderJumpList();
    const [disc, near] = await Promise.allSettled([api.discovered(), api.map(cx, cy, 3)]);
    this.loading = false;
    if (disc.status === "fulfilled") {
      for (const s of disc.value?.systems || []) {
        const k = secKey(s.x, s.y);
        this.systems.set(k, s);
        this.visited.add(k);
        st.visited.add(k);
      }
    }
    if (near.status === "fulfilled") {
      for (const s of near.value?.systems || []) this.systems.set(secKey(s.x, s.y), s);
    }
    const failed = [disc, near].filter((r) => r.status === "rejected");
    this._status(failed.length ? `charts incomplete: ${failed[0].reason?.message ?? "error"}` : "");
    // links may reach past the loaded square: name them from their own system look-up
    const missing = this.links().filter(([x, y]) => !this.systems.has(secKey(x, y)));
    await Promise.allSettled(missing.map(async ([x, y]) => {
      const sys = await api.system(x, y);
      this.systems.set(secKey(x, y), {
        x: secStr(sys.x ?? x), y: secStr(sys.y ?? y), name: sys.name, star: sys.star, galaxy: sys.galaxy,
        stations: (sys.stations || []).length, links: sys.links || [],
      });
    }));
    this.renderJumpList();
  }

  /** The current system's jump links as [x, y] string pairs. */
  links() {
    const sys = this.state.system;
    return Array.isArray(sys?.links) ? sys.links.map(([x, y]) => [secStr(x), secStr(y)]) : [];
  }

  renderJumpList() {
    const st = this.state;
    $("jump-from").textContent = st.system?.name ?? "—";
    const list = $("jump-list");
    list.replaceChildren();
    const links = this.links();
    if (!links.length) {
      list.appendChild(el("li", { text: "No jump links from this system." }));
      return;
    }
    for (const [x, y] of links) {
      const k = secKey(x, y);
      const s = this.systems.get(k);
      const name = s?.name || (this.loading ? "…" : `sector ${secLabel(x, y)}`);
      const btn = el("button", { text: "Jump", attrs: { type: "button", "data-x": x, "data-y": y } });
      btn.addEventListener("click", () => this.onJump([x, y]));
      const info = el("div", { cls: "nm" },
        el("b", { text: name }),
        el("span", { text: `${secLabel(x, y)} · ${galaxyDistance(st.system, s ?? { x, y }).toFixed(2)} sectors` }));
      const li = el("li", { cls: this.visited.has(k) || st.visited.has(k) ? "visited" : "" }, info, btn);
      li.dataset.sector = k;
      list.appendChild(li);
    }
  }

  draw(nowMs) {
    const { ctx, w, h } = fitCanvas(this.canvas);
    ctx.fillStyle = "#040813";
    ctx.fillRect(0, 0, w, h);
    this._hits = [];
    const st = this.state;
    if (!this.centre || !st.sector) {
      text(ctx, "no charts yet", w / 2, h / 2, "#7f93b5", 14);
      return;
    }
    if (!this.scale) this.scale = Math.max(20, Math.min(w, h) / 8);
    const scale = this.scale;
    const [cx, cy] = st.sector; // the view follows the current system
    const ox = w / 2 - this.pan[0] * scale;
    const oy = h / 2 + this.pan[1] * scale;
    // systems sit at their galaxy position (SECTOR_SIZE units per sector) inside their sector;
    // offsets use BigInt subtraction, then Number once they are small
    const [cgx, cgy] = galaxyPos(st.system ?? { x: cx, y: cy });
    const pos = (s) => {
      const [gx, gy] = galaxyPos(s);
      return [ox + (Number(gx - cgx) / SECTOR_SIZE) * scale, oy - (Number(gy - cgy) / SECTOR_SIZE) * scale];
    };
    const fx = Number(cgx - BigInt(cx) * BigInt(SECTOR_SIZE)) / SECTOR_SIZE; // 0..1 in its sector
    const fy = Number(cgy - BigInt(cy) * BigInt(SECTOR_SIZE)) / SECTOR_SIZE;

    // sector grid
    ctx.strokeStyle = "rgba(90, 140, 230, 0.07)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    const x0 = Math.floor(-ox / scale) - 1;
    const x1 = Math.ceil((w - ox) / scale) + 1;
    const y0 = Math.floor((oy - h) / scale) - 1;
    const y1 = Math.ceil(oy / scale) + 1;
    if (x1 - x0 < 400 && y1 - y0 < 400) {
      for (let i = x0; i <= x1; i++) {
        const px = Math.round(ox + (i - fx) * scale) + 0.5;
        ctx.moveTo(px, 0);
        ctx.lineTo(px, h);
      }
      for (let j = y0; j <= y1; j++) {
        const py = Math.round(oy - (j - fy) * scale) + 0.5;
        ctx.moveTo(0, py);
        ctx.lineTo(w, py);
      }
      ctx.stroke();
    }

    const here = secKey(cx, cy);
    const linkKeys = new Set(this.links().map(([x, y]) => secKey(x, y)));
    const systems = [...this.systems.values()];

    // link lines between known systems (each pair once)
    const drawn = new Set();
    ctx.lineWidth = 1;
    for (const s of systems) {
      const a = secKey(s.x, s.y);
      for (const [lx, ly] of s.links || []) {
        const b = secKey(lx, ly);
        const pair = a < b ? `${a}|${b}` : `${b}|${a}`;
        if (drawn.has(pair) || !this.systems.has(b)) continue;
        drawn.add(pair);
        const [ax, ay] = pos(s);
        const [bx, by] = pos(this.systems.get(b));
        const fromHere = a === here || b === here;
        ctx.beginPath();
        ctx.moveTo(ax, ay);
        ctx.lineTo(bx, by);
        ctx.strokeStyle = fromHere ? "rgba(255, 179, 71, 0.75)" : "rgba(120, 160, 230, 0.28)";
        ctx.lineWidth = fromHere ? 1.8 : 1;
        ctx.stroke();
      }
    }
    // links of the current system whose target summary is not loaded yet
    for (const [lx, ly] of this.links()) {
      if (this.systems.has(secKey(lx, ly))) continue;
      const [ax, ay] = pos(st.system);
      const [bx, by] = pos({ x: lx, y: ly });
      ctx.beginPath();
      ctx.moveTo(ax, ay);
      ctx.lineTo(bx, by);
      ctx.strokeStyle = "rgba(255, 179, 71, 0.6)";
      ctx.setLineDash([4, 4]);
      ctx.stroke();
      ctx.setLineDash([]);
      this._hits.push({ px: bx, py: by, r: 14, link: true, sys: { x: lx, y: ly, name: "" } });
    }

    // systems
    const pulse = 0.5 + 0.5 * Math.sin(nowMs / 300);
    for (const s of systems) {
      const k = secKey(s.x, s.y);
      const [px, py] = pos(s);
      if (px < -60 || py < -60 || px > w + 60 || py > h + 60) continue;
      const isHere = k === here;
      const isLink = linkKeys.has(k);
      const visited = this.visited.has(k) || st.visited.has(k);
      const rgb = rgbOf(starCss(s));
      const r = clamp(scale * 0.09, 3, 9) * (s.stations ? 1.15 : 1);
      glowDisc(ctx, px, py, r * 3, [[0, rgba(rgb, visited || isLink ? 0.9 : 0.5)], [1, rgba(rgb, 0)]]);
      ctx.beginPath();
      ctx.arc(px, py, r, 0, Math.PI * 2);
      ctx.fillStyle = rgba(rgb, visited || isLink || isHere ? 1 : 0.55);
      ctx.fill();
      if (isHere) {
        ctx.beginPath();
        ctx.arc(px, py, r + 7 + pulse * 3, 0, Math.PI * 2);
        ctx.strokeStyle = "#5cd0ff";
        ctx.lineWidth = 2;
        ctx.stroke();
      } else if (isLink) {
        const hov = this.hover?.link && secKey(this.hover.sys.x, this.hover.sys.y) === k;
        ctx.beginPath();
        ctx.arc(px, py, r + 6, 0, Math.PI * 2);
        ctx.strokeStyle = hov ? "#ffe08a" : "rgba(255, 179, 71, 0.8)";
        ctx.lineWidth = hov ? 2.5 : 1.5;
        ctx.stroke();
      }
      if (s.stations) {
        ctx.fillStyle = "#5cd0ff";
        ctx.fillRect(px + r + 2, py - r - 5, 4, 4);
      }
      const showName = isHere || isLink || visited || scale >= 60;
      if (showName) {
        const colour = isHere ? "#bfefff" : isLink ? "#ffd9a6" : visited ? "#d8e6ff" : "rgba(170, 190, 225, 0.7)";
        text(ctx, s.name || secLabel(s.x, s.y), px, py + r + 15, colour, isHere ? 13 : 11, isHere || isLink);
        if (isLink) text(ctx, "click to jump", px, py + r + 28, "rgba(255, 200, 140, 0.6)", 10);
      }
      this._hits.push({ px, py, r: Math.max(r + 8, 12), link: isLink && !isHere, current: isHere, sys: s });
    }
    // party members' systems (party.js)
    for (const layer of this.layers ?? []) layer(ctx, pos, text, nowMs, scale);
    text(ctx, `sector ${secLabel(cx, cy)} · ${this.systems.size} systems charted`, 14, h - 14,
      "rgba(127, 147, 181, 0.85)", 11, false, "left");
    if (this.loading) text(ctx, "loading…", w - 14, h - 14, "#7f93b5", 11, false, "right");
  }
}
