// Travel (issue 16): "fly to" anything on the system map by autopilot, the cruise drive, the
// autopilot's progress and its cancel, and the fuel warning before the point of no return.
// Everything goes through the protocol's `autopilot` and `cruise` messages (docs/protocol.md,
// "Travel"); the server flies the ship, this module only asks and shows.
//
//   - the system map (N, or the Map button) lists every destination — stations, asteroid fields,
//     jump gates, ships in sensor range, party members — each with a Fly button (Tab / Enter
//     work too); clicking or tapping the map flies to what is under the pointer, or to that
//     point in empty space;
//   - G flies to the locked target (a ship is followed), C toggles cruise, X stops the autopilot;
//     any steering key takes the controls back (the server cancels the autopilot);
//   - the travel strip (#hud-travel) shows where the autopilot goes, how far and how long,
//     the cruise state, and the fuel outlook: `low` (past the point of no return with the
//     reserve: turn back to the station named) and `stranded` (no station in reach: SOS).

import { F_DOCKED, KIND_SHIP } from "./snapshot.js";
import { fields, label, stations } from "./system.js";
import { $, el, fmtDistance, num, secKey, secLabel, secStr } from "./util.js";

const PICK_PX = 22; // a click this close to something on the map flies to it
const CANCEL_REASONS = {
  manual: "you took the controls", off: "stopped", target_gone: "the target left",
  target_docked: "the target docked", fuel: "the tank ran dry", docked: "docked",
};
const CRUISE_OFF = {
  manual: "", arrival: "arriving", star: "near the star", station: "near a station",
  field: "near an asteroid field", ship: "a ship is closing", damage: "hit", fired: "weapons fired",
  fuel: "out of fuel", boundary: "the system's edge", docked: "docked",
};

function fmtTime(s) {
  if (!Number.isFinite(s) || s < 0) return "";
  if (s < 90) return `${Math.max(1, Math.round(s))} s`;
  return `${Math.round(s / 60)} min`;
}

export class Travel {
  /**
   * state: the GameState; send(msg) sends with our ship filled in (false: not sent);
   * notify(text, cls) logs; toast(text) shows a refusal; sectorName([x, y]) names a link's
   * system; party() lists party members [{id, name, ship, x, y, system}] (party.js).
   */
  constructor({ state, send, notify, toast, sectorName, party }) {
    this.state = state;
    this.sendFn = send;
    this.notify = notify;
    this.toast = toast;
    this.sectorName = sectorName;
    this.party = party;
    this.gates = []; // [{to: [x, y] strings, x, y}] of the current system
    this.asked = null; // the destination last asked for (its name, until the status says)
    this.lastArrived = null; // {name, at} (tests)
    this.arrivals = 0;
    this.cancels = [];
    this._panelSig = "";
    this._listSig = "";
    this.root = $("hud-travel");
    this.list = $("travel-list");
    $("btn-cruise")?.addEventListener("click", () => this.toggleCruise());
    $("btn-ap-stop")?.addEventListener("click", () => this.cancel());
    $("btn-refuel-run")?.addEventListener("click", () => this.flyToRefuel());
    $("btn-travel-map")?.addEventListener("click", () => this.onOpenMap?.());
    // keyboard: ↑ ↓ move between the destinations' Fly buttons, Enter flies
    this.list?.addEventListener("keydown", (e) => {
      if (e.code !== "ArrowDown" && e.code !== "ArrowUp") return;
      const buttons = [...this.list.querySelectorAll("button:not(:disabled)")];
      const at = buttons.indexOf(document.activeElement);
      const next = buttons[Math.max(0, Math.min(buttons.length - 1, at + (e.code === "ArrowDown" ? 1 : -1)))];
      if (next) {
        e.preventDefault();
        next.focus();
      }
    });
  }

  /** The map was opened from the keyboard: focus the nearest destination's Fly button. */
  focusList() {
    this._listSig = "";
    this.renderList();
    this.list?.querySelector("button:not(:disabled)")?.focus();
  }

  // ------------------------------------------------------------------ what the server says
  onSystem(msg) {
    this.gates = Array.isArray(msg.gates) ? msg.gates.map((g) => ({
      to: [secStr(g.to?.[0]), secStr(g.to?.[1])], x: Number(g.x) || 0, y: Number(g.y) || 0,
    })) : [];
    this.asked = null;
    this._listSig = "";
  }

  /** An `event` about travel: logged; returns true when handled. */
  onEvent(msg) {
    if (Number(msg.ship) !== this.state.ship) return false;
    if (msg.kind === "autopilot_arrived") {
      const name = this.describe(msg)?.name ?? "destination";
      this.arrivals += 1;
      this.lastArrived = { name, to: msg.to, at: performance.now() };
      this.notify(msg.to === "ship" ? `Autopilot: escorting ${name}` : `Autopilot: arrived at ${name}`, "good");
      if (msg.to === "station") this.notify(this.touch ? "In docking range — tap Dock" : "In docking range — press F (or Dock) to dock", "");
      return true;
    }
    if (msg.kind === "autopilot_cancelled") {
      const why = CANCEL_REASONS[msg.reason] ?? String(msg.reason ?? "");
      this.cancels.push(String(msg.reason ?? ""));
      this.asked = null;
      if (msg.reason !== "docked") this.notify(`Autopilot off${why ? `: ${why}` : ""}`, msg.reason === "fuel" ? "bad" : "warn");
      return true;
    }
    if (msg.kind === "cruise") {
      if (msg.state === "on") this.notify("Cruise drive engaged", "good");
      else if (msg.state === "off") {
        const why = CRUISE_OFF[msg.reason] ?? String(msg.reason ?? "");
        this.notify(`Cruise off${why ? `: ${why}` : ""}`, "");
      }
      return true;
    }
    return false;
  }

  /** A refused autopilot or cruise: shown (returns true when it was ours). */
  onError(msg) {
    if (msg.ref !== "autopilot" && msg.ref !== "cruise") return false;
    this.asked = null;
    this.toast(String(msg.message || msg.code));
    return true;
  }

  // ------------------------------------------------------------------ asking
  /** Fly to a destination from `destinations()` (or the same shape). */
  flyTo(dest) {
    if (!dest) return false;
    const st = this.state;
    if (st.docked) {
      this.toast("Undock first (F) — the autopilot flies from open space");
      return false;
    }
    const to = { kind: dest.kind };
    if (dest.kind === "station" || dest.kind === "field") to.index = dest.index;
    else if (dest.kind === "link") to.sector = dest.sector;
    else if (dest.kind === "ship") to.id = dest.id;
    else { to.x = Math.round(dest.x); to.y = Math.round(dest.y); }
    const ok = this.sendFn({ t: "autopilot", to });
    if (ok) {
      this.asked = dest;
      this.notify(`Autopilot: flying to ${dest.name}`, "");
    }
    return ok;
  }

  cancel() {
    if (!this.state.status?.autopilot && !this.asked) {
      this.toast("The autopilot is off");
      return false;
    }
    this.asked = null;
    return this.sendFn({ t: "autopilot", off: true });
  }

  toggleCruise() {
    if (this.state.docked) {
      this.toast("Undock first (F) — cruise is for open space");
      return false;
    }
    const on = (this.state.status?.cruise ?? "off") === "off";
    return this.sendFn({ t: "cruise", on });
  }

  /** G: fly to the locked target (a ship is followed), else open the map to choose. */
  flyToTarget() {
    const id = this.state.target;
    if (!id) return false;
    const t = this.state.tracks.get(id);
    if (!t?.last) return false;
    if (t.kind === KIND_SHIP) return this.flyTo({ kind: "ship", id, name: this.state.nameOf(id) || "ship" });
    return this.flyTo({ kind: "point", x: t.last.x, y: t.last.y, name: this.state.nameOf(id) || "wreck" });
  }

  /** The fuel warning's button: fly to the station the server says is still in reach. */
  flyToRefuel() {
    const idx = this.state.status?.fuel_station;
    if (idx === null || idx === undefined) return false;
    const s = stations(this.state.system)[Number(idx)];
    return this.flyTo({ kind: "station", index: Number(idx), name: label(s, "station") });
  }

  // ------------------------------------------------------------------ destinations
  /** Everything the autopilot can fly to here, nearest first:
   * [{kind, index|sector|id, name, sub, x, y, dist}]. */
  destinations() {
    const st = this.state;
    const sys = st.system;
    if (!sys) return [];
    const own = st.ownRecord();
    const out = [];
    for (const s of stations(sys)) {
      if (s.destroyed) continue;
      out.push({ kind: "station", index: Number(s.index), name: label(s, "station"), sub: "station",
        x: num(s, "x") ?? 0, y: num(s, "y") ?? 0 });
    }
    for (const f of fields(sys)) {
      const ore = typeof f.ore === "string" ? f.ore.replace(/_/g, " ") : "ore";
      out.push({ kind: "field", index: Number(f.index), name: `${ore} field`, sub: "asteroids",
        x: num(f, "x") ?? 0, y: num(f, "y") ?? 0, r: num(f, "radius") ?? 0 });
    }
    for (const g of this.gates) {
      const name = this.sectorName?.(g.to) || `sector ${secLabel(g.to[0], g.to[1])}`;
      out.push({ kind: "link", sector: g.to, name: `Gate to ${name}`, sub: "jump gate", x: g.x, y: g.y });
    }
    const members = new Map((this.party?.() ?? []).filter((m) => m.ship).map((m) => [Number(m.ship), m]));
    for (const [id, t] of st.tracks) {
      if (id === st.ship || t.kind !== KIND_SHIP || !t.last || (t.last.flags & F_DOCKED)) continue;
      const friend = members.get(id);
      out.push({ kind: "ship", id, name: friend?.name ?? (st.nameOf(id) || `ship ${id}`),
        sub: friend ? "party" : "ship", x: t.last.x, y: t.last.y });
    }
    // party members in this system beyond sensor range: followed by their ship id
    const here = st.sector ? secKey(st.sector[0], st.sector[1]) : "";
    for (const m of this.party?.() ?? []) {
      if (!m.ship || st.tracks.has(Number(m.ship)) || m.docked !== null || m.x === null) continue;
      if (!m.system || secKey(m.system[0], m.system[1]) !== here) continue;
      out.push({ kind: "ship", id: Number(m.ship), name: m.name, sub: "party", x: m.x, y: m.y });
    }
    for (const d of out) d.dist = own ? Math.hypot(d.x - own.x, d.y - own.y) : null;
    out.sort((a, b) => (a.dist ?? 0) - (b.dist ?? 0));
    return out;
  }

  /** Where the autopilot is going now (from the status), as a destination, or null. */
  current() {
    const ap = this.state.status?.autopilot;
    return ap ? this.describe(ap) : null;
  }

  /** The destination an autopilot status or event names ({to, index|sector|id|x,y}). */
  describe(ap) {
    const kind = ap?.to;
    const all = this.destinations();
    if (kind === "station" || kind === "field") return all.find((d) => d.kind === kind && d.index === Number(ap.index)) ?? null;
    if (kind === "link") {
      const k = ap.sector ? secKey(ap.sector[0], ap.sector[1]) : "";
      return all.find((d) => d.kind === "link" && secKey(d.sector[0], d.sector[1]) === k) ?? null;
    }
    if (kind === "ship") {
      const id = Number(ap.id);
      return all.find((d) => d.kind === "ship" && d.id === id)
        ?? { kind: "ship", id, name: this.state.nameOf(id) || `ship ${id}`, x: NaN, y: NaN, dist: null };
    }
    if (kind === "point") {
      const own = this.state.ownRecord();
      const x = Number(ap.x);
      const y = Number(ap.y);
      return { kind: "point", name: "a point in space", x, y, dist: own ? Math.hypot(x - own.x, y - own.y) : null };
    }
    return null;
  }

  /** The destination under a point of the system map (map pixels), else that point in space. */
  pickOnMap(px, py, view) {
    if (!view) return null;
    const { X, Y, scale } = view;
    let best = null;
    for (const d of this.destinations()) {
      const r = d.kind === "field" ? Math.max(PICK_PX, (d.r ?? 0) * scale) : PICK_PX;
      const dist = Math.hypot(X(d.x) - px, Y(d.y) - py);
      if (dist <= r && (!best || dist < best.px)) best = { ...d, px: dist };
    }
    if (best) return best;
    return { kind: "point", name: "a point in space", x: view.toX(px), y: view.toY(py) };
  }

  // ------------------------------------------------------------------ drawing
  /** Draw the autopilot's course on the system map (called by SystemMap.draw). */
  drawOnMap(ctx, X, Y) {
    const own = this.state.ownRecord();
    const cur = this.current() ?? this.asked;
    if (!own || !cur || !Number.isFinite(cur.x)) return;
    ctx.save();
    ctx.strokeStyle = "rgba(120, 255, 180, 0.85)";
    ctx.setLineDash([6, 5]);
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    ctx.moveTo(X(own.x), Y(own.y));
    ctx.lineTo(X(cur.x), Y(cur.y));
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.beginPath();
    ctx.arc(X(cur.x), Y(cur.y), 9, 0, Math.PI * 2);
    ctx.stroke();
    ctx.restore();
  }

  /** The gates alone (drawn even without an autopilot). */
  drawGates(ctx, X, Y, text) {
    for (const g of this.gates) {
      ctx.beginPath();
      ctx.arc(X(g.x), Y(g.y), 5, 0, Math.PI * 2);
      ctx.strokeStyle = "rgba(255, 179, 71, 0.9)";
      ctx.lineWidth = 1.5;
      ctx.stroke();
      const name = this.sectorName?.(g.to) || secLabel(g.to[0], g.to[1]);
      text(ctx, `⇢ ${name}`, X(g.x), Y(g.y) + 15, "rgba(255, 200, 140, 0.85)", 10);
    }
  }

  /** The system map's destination list (rebuilt when what it lists changes). */
  renderList() {
    if (!this.list) return;
    const all = this.destinations();
    const cur = this.current();
    const sub = (d) => `${d.sub} · ${d.dist === null ? "—" : fmtDistance(d.dist)}`;
    const sig = all.map((d) => `${d.kind}:${d.index ?? d.id ?? d.sector}:${d.name}`).join("|")
      + `/${cur ? `${cur.kind}:${cur.index ?? cur.id ?? cur.sector}` : ""}/${this.state.docked}`;
    if (sig === this._listSig) {
      // the same rows in the same order: only the distances change, in place. Rebuilding the
      // rows as ships moved (every ~0.5 s) swallowed clicks: a press and its release landed on
      // two different buttons
      const spans = this.list.querySelectorAll("li > .nm > span");
      all.forEach((d, i) => {
        const text = sub(d);
        if (spans[i] && spans[i].textContent !== text) spans[i].textContent = text;
      });
      return;
    }
    this._listSig = sig;
    const docked = this.state.docked;
    const items = all.map((d) => {
      const key = d.kind === "link" ? `link-${d.sector.join("_")}` : `${d.kind}-${d.index ?? d.id}`;
      const going = cur && cur.kind === d.kind && (cur.index ?? cur.id ?? cur.sector?.join()) === (d.index ?? d.id ?? d.sector?.join());
      const btn = el("button", { text: going ? "Flying" : "Fly", attrs: { type: "button", "data-testid": `fly-${key}`,
        title: docked ? "Undock first" : `Autopilot to ${d.name}` } });
      btn.disabled = docked || !!going;
      btn.addEventListener("click", () => {
        if (this.flyTo(d)) this.onFlying?.(d);
      });
      const info = el("div", { cls: "nm" }, el("b", { text: d.name }),
        el("span", { text: sub(d) }));
      const li = el("li", { cls: `${d.kind}${going ? " going" : ""}` }, info, btn);
      li.dataset.dest = key;
      return li;
    });
    if (!items.length) items.push(el("li", { text: "Nothing to fly to here." }));
    // a rebuild keeps the keyboard's place: the same destination's button keeps the focus
    const focused = this.list.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    this.list.replaceChildren(...items);
    if (focused) this.list.querySelector(`[data-testid="${focused}"]`)?.focus();
    $("travel-note").textContent = docked
      ? "Docked: undock (F) to fly. Then click or tap a destination, or the map."
      : "Click or tap a destination or the map (↑ ↓ and Enter from the keyboard); G flies to your target; any steering key takes over.";
  }

  /** The HUD's travel strip: autopilot, cruise, and the fuel outlook. */
  updateStrip(nowMs) {
    const root = this.root;
    if (!root) return;
    const st = this.state.status;
    const own = this.state.ownRecord();
    const flying = !!st && !this.state.docked && !!own;
    const cur = this.current();
    const cruise = st?.cruise ?? "off";
    const warn = st?.fuel_warning ?? "ok";
    let line = "";
    if (cur) {
      const speed = own ? Math.hypot(own.vx, own.vy) : 0;
      const dist = cur.dist;
      const eta = dist !== null && speed > 5 ? ` · ${fmtTime(dist / speed)}` : "";
      line = `Autopilot → ${cur.name}${dist !== null ? ` · ${fmtDistance(dist)}` : ""}${eta}`;
    } else if (this.asked) line = `Autopilot → ${this.asked.name}…`;
    let fuel = "";
    let fuelCls = "";
    if (flying && warn === "low") {
      const idx = st.fuel_station;
      const s = idx === null || idx === undefined ? null : stations(this.state.system)[Number(idx)];
      fuel = `FUEL: POINT OF NO RETURN — turn back to ${label(s, "a station")} now`;
      fuelCls = "low";
    } else if (flying && warn === "stranded") {
      fuel = "FUEL: NO STATION IN REACH — call for help (SOS / H)";
      fuelCls = "stranded";
    }
    if (fuelCls !== this._fuelCls) {
      if (fuelCls) this.onFuelWarning?.(fuelCls); // a beep as the point of no return passes
      this._fuelCls = fuelCls;
    }
    const range = Number(st?.fuel_range_m);
    const sig = [flying, line, cruise, fuel, Number.isFinite(range) ? Math.round(range / 1000) : "", this.touch].join("|");
    if (sig === this._panelSig) return;
    this._panelSig = sig;
    root.hidden = !flying;
    root.classList.toggle("active", !!line);
    // idle: how far a cruise still carries the ship (the fuel outlook in one number)
    $("travel-status").textContent = line || (Number.isFinite(range) && range > 0
      ? `Cruise range ${fmtDistance(range)}` : "");
    const cb = $("btn-cruise");
    cb.textContent = cruise === "on" ? "Cruise ON" : cruise === "spooling" ? "Cruise…" : "Cruise";
    cb.classList.toggle("on", cruise !== "off");
    cb.setAttribute("aria-pressed", String(cruise !== "off"));
    $("btn-ap-stop").hidden = !line;
    const fw = $("travel-fuel");
    fw.hidden = !fuel;
    fw.className = `travel-fuel ${fuelCls}`;
    $("travel-fuel-text").textContent = fuel;
    $("btn-refuel-run").hidden = fuelCls !== "low";
  }

  /** For tests: {autopilot, asked, cruise, fuel_warning, arrivals, lastArrived, cancels}. */
  snapshot() {
    const st = this.state.status;
    return {
      autopilot: st?.autopilot ?? null, asked: this.asked?.name ?? null, cruise: st?.cruise ?? null,
      fuel_warning: st?.fuel_warning ?? null, fuel_station: st?.fuel_station ?? null,
      arrivals: this.arrivals, lastArrived: this.lastArrived?.name ?? null, cancels: [...this.cancels],
      destinations: this.destinations().map((d) => ({ kind: d.kind, name: d.name, dist: d.dist })),
    };
  }
}
