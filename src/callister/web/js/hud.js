// The HUD: system and sector, connection and RTT, ships in view, speed, docked / jump status,
// nearest station, the ship's vitals (hull, shield, energy, fuel, cargo, credits, criminal
// timer), weapons with cooldown and ammunition, mining, the locked target, warnings, an event
// log, the death screen, the last error (fading) and the connection banner.
// DOM text only: server text (names, items) goes in with textContent, never as markup.

import { LOOT_MAX_SPEED, LOOT_RANGE } from "./combat.js";
import { F_CRIMINAL, F_JUMPING, F_NO_FUEL, KIND_SHIP, KIND_WRECK } from "./snapshot.js";
import { label } from "./system.js";
import { $, clamp, el, fmtDistance, num, secLabel, starColour } from "./util.js";

const LOG_MAX = 7;
const LOG_FADE_MS = 15000;
const LOG_DROP_MS = 45000;
const TOAST_MS = 3500; // a toast lasts this long after it was last said
const TOAST_FADE_MS = 500;
const TOAST_MAX = 3; // on screen at once; older ones make room

/** "12.5" below 100, whole numbers above: vitals stay short and legible. */
export function fmtAmount(v) {
  if (!Number.isFinite(v)) return "—";
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
}

export function fmtClock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const itemName = (key) => String(key).replace(/_/g, " ");

// The ship's vitals, top to bottom: [key in `status` (`key` and `key_max`), label]
const VITALS = [["hull", "Hull"], ["shield", "Shield"], ["energy", "Energy"], ["fuel", "Fuel"]];

/** A vital's row: label, bar (#hud-KEY-bar) and "value / max" (#hud-KEY). */
function vitalRow(key, label) {
  return el("div", { cls: "vital", attrs: { "data-vital": key } },
    el("span", { cls: "vl", text: label }),
    el("div", { cls: "vbar" }, el("div", { cls: `vfill ${key}`, attrs: { id: `hud-${key}-bar` } })),
    el("span", { cls: "vv", text: "—", attrs: { id: `hud-${key}` } }));
}

const STATUS_TEXT = {
  offline: "offline", connecting: "connecting…", online: "online", stalled: "server not responding",
  reconnecting: "reconnecting…", replaced: "playing elsewhere",
};

export class Hud {
  constructor(state, net) {
    this.state = state;
    this.net = net;
    this._errorTimer = null;
    this._last = {};
    this.lastError = null;
    this.bannerLog = [];
    this.weapons = null; // combat.js Weapons (main.js sets it)
    this.effects = null; // fx.js Effects: when our ship was last hit
    this.logItems = [];
    this.minedTotals = new Map(); // ore -> units mined this session (for the mining line)
    this._weaponKeys = "";
    this._deathTimer = null;
    this.toasts = []; // [{text, cls, count, until, li}] on screen, oldest first
    this.touch = false; // layout.js: the fire button, not Space
    this.onWarning = null; // (key) when a warning appears (the sound beeps)
    $("hud-ship").prepend(...VITALS.map(([key, label]) => vitalRow(key, label)));
  }

  _set(id, value) {
    if (this._last[id] === value) return;
    this._last[id] = value;
    $(id).textContent = value;
  }

  /** Called about 10 times a second. */
  update(nowMs, pose) {
    const { state, net } = this;
    const sys = state.system;
    this._set("hud-system-name", sys?.name ?? "—");
    this._set("hud-sector", state.sector ? secLabel(state.sector[0], state.sector[1]) : "—");
    const world = state.me?.world ? ` · ${state.me.world}` : "";
    this._set("hud-pilot", state.me ? `pilot ${state.me.name} · ${state.hullKey() ?? ""}${world}` : "");
    const starCol = starColour(sys?.star);
    if (this._last.star !== starCol) {
      this._last.star = starCol;
      $("hud-star").style.background = starCol;
      $("hud-star").style.color = starCol;
    }

    const dot = $("hud-conn-dot");
    if (dot.className !== `dot ${net.status}`) dot.className = `dot ${net.status}`;
    this._set("hud-conn-text", STATUS_TEXT[net.status] ?? net.status);
    this._set("hud-rtt", net.rtt === null ? "—" : `${Math.round(net.rtt)} ms`);
    const own = state.ownRecord();
    this._set("hud-visible", String(Math.max(0, state.tracks.size - (own ? 1 : 0))));

    const speed = pose ? Math.hypot(pose.vx, pose.vy) : own ? Math.hypot(own.vx, own.vy) : 0;
    this._set("hud-speed", String(Math.round(speed)));

    const jumping = !!state.jump || (own && own.flags & F_JUMPING);
    const statusText = state.docked ? "docked" : jumping ? "jumping" : own ? "in flight" : "—";
    this._set("hud-status", statusText);
    const cls = state.docked ? "value docked" : jumping ? "value jumping" : "value";
    if ($("hud-status").className !== cls) $("hud-status").className = cls;

    // nearest station and the docking hint
    const at = pose ?? own;
    const near = at ? state.nearestStation(at.x, at.y) : null;
    let hint = "";
    let ready = false;
    if (near) {
      const name = label(near.station, "station");
      this._set("hud-nearest", `${name} ${fmtDistance(near.dist)}`);
      const dockR = num(near.station, "dock_radius") ?? 0;
      const t = this.touch;
      if (state.docked) hint = t ? `Docked at ${name} — tap Undock to launch` : `Docked at ${name} — press F or Undock to launch`;
      else if (near.dist <= dockR && speed <= 60) {
        hint = t ? `In docking range of ${name} — tap Dock` : `In docking range of ${name} — press F to dock`;
        ready = true;
      } else if (near.dist <= dockR) hint = t ? "Slow below 60 m/s to dock (hold Brake)" : "Slow below 60 m/s to dock (S / ↓ brakes)";
    } else {
      this._set("hud-nearest", "—");
    }
    this._set("hud-hint", hint);
    $("hud-hint").classList.toggle("ready", ready);

    const dockBtn = $("btn-dock");
    const dockLabel = state.docked ? "Undock" : "Dock";
    if (this._last.dock !== dockLabel) {
      this._last.dock = dockLabel;
      dockBtn.firstChild.textContent = `${dockLabel} `;
    }
    dockBtn.disabled = !net.online || !state.system;
    $("btn-jump").disabled = !state.system;

    // jump charge progress
    const bar = $("hud-jump");
    if (state.jump) {
      bar.hidden = false;
      const f = Math.min(1, (nowMs - state.jump.startMs) / state.jump.durationMs);
      $("hud-jump-fill").style.width = `${(f * 100).toFixed(1)}%`;
      this._set("hud-jump-target", state.jump.name || secLabel(...state.jump.to));
    } else if (!bar.hidden) {
      bar.hidden = true;
    }
    $("btn-station").hidden = !state.docked;
    const hudNode = $("hud");
    if (hudNode.classList.contains("docked") !== state.docked) hudNode.classList.toggle("docked", state.docked);
    // the columns and the station screen keep clear of the bottom row, whatever its height
    const rowH = `${Math.round($("hud-bottom").getBoundingClientRect().height)}px`;
    if (this._last.rowH !== rowH) {
      this._last.rowH = rowH;
      hudNode.style.setProperty("--bottom-h", rowH);
      this.onLayout?.();
    }
    // a phone's flow of panels (objective, travel, target, toasts) starts under the vitals,
    // however tall they are (a criminal timer adds a row)
    const stackTop = hudNode.classList.contains("phone")
      ? `${Math.round($("hud-ship").getBoundingClientRect().bottom) + 4}px` : "";
    if (this._last.stackTop !== stackTop) {
      this._last.stackTop = stackTop;
      hudNode.style.setProperty("--stack-top", stackTop || "0px");
    }
    // a phone on its side puts the travel strip on top of the weapons when the band at the
    // bottom is narrow (style.css): the weapons' height, however many rows they take
    const combatH = hudNode.classList.contains("phone")
      ? `${Math.round($("hud-combat").getBoundingClientRect().height)}px` : "";
    if (this._last.combatH !== combatH) {
      this._last.combatH = combatH;
      hudNode.style.setProperty("--combat-h", combatH || "0px");
    }

    this._vitals(own);
    this._weapons(nowMs);
    this._target(pose ?? own, speed);
    this._warnings(own, nowMs);
    this._mining();
    this._ageLog(nowMs);
    this._ageToasts(nowMs);
  }

  // -------------------------------------------------------------------- vitals
  _bar(id, value, max, extraCls = "") {
    const f = max > 0 ? clamp(value / max, 0, 1) : 0;
    const node = $(id);
    const width = `${(f * 100).toFixed(1)}%`;
    if (node.style.width !== width) node.style.width = width;
    const cls = node.className.split(" ").slice(0, 2).join(" ") + (extraCls ? ` ${extraCls}` : "");
    if (node.className !== cls) node.className = cls;
    return f;
  }

  _value(id, value, max) {
    const node = $(id);
    const text = Number.isFinite(value) && Number.isFinite(max) ? `${fmtAmount(value)} / ${fmtAmount(max)}` : "—";
    this._set(id, text);
    // raw numbers for scripts and tests
    const v = Number.isFinite(value) ? String(value) : "";
    if (node.dataset.value !== v) node.dataset.value = v;
    const m = Number.isFinite(max) ? String(max) : "";
    if (node.dataset.max !== m) node.dataset.max = m;
  }

  _vitals(own) {
    const st = this.state.status;
    const n = (k) => (st && st[k] !== null && st[k] !== undefined ? Number(st[k]) : NaN);
    for (const [k] of VITALS) {
      const v = n(k);
      const m = n(`${k}_max`);
      this._value(`hud-${k}`, v, m);
      const f = m > 0 ? v / m : 1;
      let extra = "";
      if (k === "hull") extra = f < 0.3 ? "low" : f < 0.6 ? "mid" : "";
      if (k === "fuel" && f < 0.2) extra = "low";
      this._bar(`hud-${k}-bar`, Number.isFinite(v) ? v : 0, Number.isFinite(m) ? m : 0, extra);
    }
    const used = n("cargo_used");
    const max = n("cargo_max");
    this._value("hud-cargo", used, max);
    $("hud-cargo").classList.toggle("full", max > 0 && used >= max);
    const credits = this.state.credits;
    this._set("hud-credits", credits === null || !Number.isFinite(credits) ? "—" : String(Math.round(credits)));
    const node = $("hud-credits");
    const cv = credits === null ? "" : String(credits);
    if (node.dataset.value !== cv) node.dataset.value = cv;
    const crim = n("criminal");
    const isCriminal = crim > 0 || !!(own && own.flags & F_CRIMINAL);
    $("hud-criminal").hidden = !isCriminal;
    if (isCriminal) this._set("hud-criminal-time", crim > 0 ? fmtClock(crim) : "");
  }

  // -------------------------------------------------------------------- weapons
  _weapons(nowMs) {
    const w = this.weapons;
    if (!w) return;
    const list = w.weapons;
    const keys = list.map((x) => (x && x.key ? `${x.key}:${x.name}:${x.kind}:${x.range}` : "-")).join("|");
    const root = $("hud-weapons");
    if (keys !== this._weaponKeys) {
      this._weaponKeys = keys;
      root.replaceChildren();
      if (!list.length) {
        root.appendChild(el("li", { cls: "empty", text: this.state.status ? "No weapons fitted" : "Weapons: waiting for the ship's status…" }));
      }
      list.forEach((x, i) => {
        const has = x && x.key;
        const li = el("li", { cls: has ? "" : "empty", attrs: { "data-slot": String(i), "data-testid": `weapon-${i}`,
          title: has ? `${x.name || x.key}: ${x.kind || "weapon"}, range ${fmtDistance(Number(x.range))}. Select: ${i + 1}`
            : "Empty slot: buy a module at a shipyard" } },
        el("span", { cls: "wk", text: i + 1 }),
        el("span", { cls: "wn" },
          el("b", { text: has ? x.name || x.key : "empty slot" }),
          el("span", { text: has ? fmtDistance(Number(x.range)) : "" }),
          el("span", { cls: "wr" })),
        el("span", { cls: "wa" }),
        el("div", { cls: "cd" }, el("div")));
        if (has) li.addEventListener("click", () => this.onSelectSlot?.(i));
        root.appendChild(li);
      });
    }
    const items = root.children;
    for (let i = 0; i < list.length && i < items.length; i++) {
      const x = list[i];
      const li = items[i];
      if (!x || !x.key) continue;
      const sel = w.selected === -1 || w.selected === i;
      if (li.classList.contains("selected") !== sel) li.classList.toggle("selected", sel);
      const rem = w.remaining(i, nowMs);
      const full = w.cooldownMs(x.key) / 1000;
      const bar = li.querySelector(".cd div");
      const phase = w.slots[i]?.phase;
      // awaiting the server's word on a shot: empty; cooled down, the "ready" on its way: full
      const f = phase === "awaiting" ? 0 : rem === Infinity ? 1
        : full > 0 ? 1 - clamp(rem / full, 0, 1) : rem > 0 ? 0 : 1;
      const width = `${Math.round(f * 100)}%`;
      if (bar.style.width !== width) bar.style.width = width;
      bar.classList.toggle("cooling", rem !== 0);
      // can this slot hit the locked target? (main.js keeps weapons.verdicts current)
      const why = w.verdicts?.[i] ?? "";
      const wr = li.querySelector(".wr");
      const rtext = !this.state.target ? "" : why ? (/out of range/i.test(why) ? "out of range" : /nose/.test(why) ? "turn to aim"
        : /line of fire/.test(why) ? "blocked" : /target/.test(why) ? "no target" : "") : "can hit";
      const rcls = `wr ${why ? "no" : "yes"}`;
      if (wr.textContent !== rtext) wr.textContent = rtext;
      if (wr.className !== rcls) wr.className = rcls;
      if (wr.title !== why) wr.title = why;
      const ammo = x.ammo === null || x.ammo === undefined ? null : Number(x.ammo);
      const wa = li.querySelector(".wa");
      let text;
      let cls = "wa";
      if (ammo !== null && ammo <= 0) {
        text = "no ammo";
        cls += " out";
      } else if (rem === Infinity) {
        text = "…";
      } else if (rem > 0) {
        text = `${rem.toFixed(1)} s`;
      } else {
        const max = Number(x.ammo_max);
        text = ammo === null ? "ready" : max > 0 ? `${ammo}/${max}` : `${ammo} rds`;
        cls += " ready";
      }
      if (wa.textContent !== text) wa.textContent = text;
      if (wa.className !== cls) wa.className = cls;
      wa.title = ammo === null ? "uses energy" : `${ammo} rounds left`;
    }
    $("btn-fire-all").classList.toggle("on", w.selected === -1);
    this._fireMode(list);
  }

  /** Say plainly what the trigger does now, and how to change it (text nodes only). */
  _fireMode(list) {
    const w = this.weapons;
    const armed = list.filter((x) => x && x.key).length;
    const trigger = this.touch ? "Fire" : "Space";
    const b = (t) => el("b", { text: t });
    let parts = [];
    if (!armed) parts = [];
    else if (w.selected === -1 && armed === 1) parts = [b(trigger), " fires your weapon"];
    else if (w.selected === -1) {
      parts = [b(trigger), this.touch ? " fires all that can hit · " : " fires every weapon that can hit · ",
        ...(this.touch ? ["tap one to pick it"] : [b(`1–${list.length}`), " for one only"])];
    } else {
      const x = list[w.selected];
      parts = [b(trigger), ` fires slot ${w.selected + 1} only (${x?.name || x?.key || ""}) · `,
        ...(this.touch ? ["tap it again for all"] : [b("0"), " for all"])];
    }
    const sig = parts.map((p) => (typeof p === "string" ? p : `*${p.textContent}`)).join("");
    if (this._last.fireMode === sig) return;
    this._last.fireMode = sig;
    $("hud-fire-mode").replaceChildren(...parts.map((p) => (typeof p === "string" ? document.createTextNode(p) : p)));
  }

  // -------------------------------------------------------------------- target
  _target(at, speed) {
    const { state } = this;
    const id = state.target;
    const panel = $("hud-target");
    if (!id) {
      if (!panel.hidden) panel.hidden = true;
      return;
    }
    panel.hidden = false;
    const track = state.tracks.get(id);
    const kind = track?.kind ?? state.kindOf(id);
    const st = state.status?.target;
    const info = st && Number(st.id) === id ? st : null;
    const criminal = !!(track?.last && track.last.flags & F_CRIMINAL);
    const wreck = kind === KIND_WRECK;
    const cls = `panel${criminal ? " criminal-target" : ""}${wreck ? " wreck-target" : ""}`;
    if (panel.className !== cls) panel.className = cls;
    this._set("hud-target-kind", wreck ? "wreck" : criminal ? "ship · criminal" : kind === KIND_SHIP ? "ship" : "target");
    // the introduced name ("Wreck of …") before the status's generic one
    const name = state.nameOf(id) || (info && typeof info.name === "string" && info.name) || `#${id}`;
    this._set("hud-target-name", name);
    const dist = at && track?.last ? Math.hypot(track.last.x - at.x, track.last.y - at.y)
      : Number(info?.dist);
    this._set("hud-target-dist", track ? fmtDistance(dist) : "out of sensor range");
    const bars = !wreck && info;
    $("hud-target-shield-row").hidden = !bars;
    $("hud-target-hull-row").hidden = !bars;
    if (bars) {
      this._bar("hud-target-shield", Number(info.shield) || 0, 1);
      const h = Number(info.hull) || 0;
      this._bar("hud-target-hull", h, 1, h < 0.3 ? "low" : h < 0.6 ? "mid" : "");
    }
    let note = "";
    const lootBtn = $("btn-loot");
    lootBtn.hidden = !wreck;
    if (wreck) {
      const inReach = Number.isFinite(dist) && dist <= LOOT_RANGE;
      const slow = speed < LOOT_MAX_SPEED;
      lootBtn.disabled = !inReach || !slow || state.docked;
      note = !inReach ? `Fly within ${LOOT_RANGE} m to loot` : !slow ? `Slow below ${LOOT_MAX_SPEED} m/s to loot`
        : this.touch ? "In reach — tap Loot" : "In reach — press L to loot";
    } else if (this.weapons && Number.isFinite(dist)) {
      const slots = this.weapons.selection();
      const range = Math.max(0, ...slots.map((i) => Number(this.weapons.weapons[i]?.range) || 0));
      if (range && dist > range) note = `Out of range (${fmtDistance(range)})`;
      else if (range) note = "In range";
      if (track?.last && track.last.flags & 1) note = "Docked: cannot be attacked";
    }
    this._set("hud-target-note", note);
  }

  // -------------------------------------------------------------------- warnings
  _warnings(own, nowMs) {
    const st = this.state.status;
    const want = []; // [key, class, short text, explanation]
    if (st && !this.state.dead) {
      const fuel = Number(st.fuel);
      const fuelMax = Number(st.fuel_max);
      const empty = (Number.isFinite(fuel) && fuel <= 0) || !!(own && own.flags & F_NO_FUEL);
      if (empty) {
        want.push(["no-fuel", "bad", "FUEL EMPTY — DRIFTING",
          "Thrust and brakes are dead; turning still works. H calls for help."]);
      } else if (fuelMax > 0 && fuel / fuelMax < 0.2) {
        want.push(["low-fuel", "", `LOW FUEL ${Math.round((fuel / fuelMax) * 100)} %`, "Refuel at a station."]);
      }
      if (this.effects && nowMs - this.effects.ownHitAt < 3000) {
        want.push(["attacked", "bad", "UNDER ATTACK", "Your ship is being hit. H calls for help; docking makes you safe."]);
      }
      const crim = Number(st.criminal);
      if (crim > 0) {
        want.push(["criminal", "bad", `CRIMINAL ${fmtClock(crim)} — STATIONS FIRE ON YOU`,
          "Lawful stations' defences fire on you, and anyone may attack you without committing a crime."]);
      }
      const hull = Number(st.hull);
      const hullMax = Number(st.hull_max);
      if (hullMax > 0 && hull / hullMax < 0.3) {
        want.push(["hull", "bad", `HULL ${Math.round((hull / hullMax) * 100)} %`, "Repair at a station."]);
      }
      const used = Number(st.cargo_used);
      const max = Number(st.cargo_max);
      if (max > 0 && used >= max) want.push(["cargo-full", "", "HOLD FULL", "Sell or drop cargo to mine or loot."]);
    }
    const sig = want.map((w) => w.join("|")).join("/");
    if (sig === this._last.warnings) return;
    const before = new Set((this._last.warningKeys ?? []));
    this._last.warnings = sig;
    this._last.warningKeys = want.map((w) => w[0]);
    for (const [key] of want) if (!before.has(key)) this.onWarning?.(key);
    const root = $("hud-warnings");
    root.replaceChildren(...want.map(([key, cls, text, why]) => el("div", {
      cls: `warn-pill ${cls}`.trim(), text, attrs: { id: `hud-warning-${key}`, "data-warning": key, title: why },
    })));
  }

  _mining() {
    const st = this.state.status;
    const node = $("hud-mining");
    const rock = st?.mining;
    let text;
    if (rock !== null && rock !== undefined) {
      const r = this.state.rocks()[Number(rock)];
      const ore = r?.ore ? itemName(r.ore) : "ore";
      const got = r?.ore ? this.minedTotals.get(r.ore) ?? 0 : 0;
      text = `Mining ${ore}${got ? ` · +${got}` : ""} — M stops`;
    } else {
      text = "Mining: off (M near an asteroid)";
    }
    this._set("hud-mining", text);
    node.classList.toggle("on", rock !== null && rock !== undefined);
  }

  // -------------------------------------------------------------------- event log
  /** Add a line to the event log (cls: "", good, warn, bad, sos). */
  log(text, cls = "") {
    const li = el("li", { cls, text });
    const item = { li, at: performance.now() };
    this.logItems.push(item);
    $("hud-log").appendChild(li);
    while (this.logItems.length > LOG_MAX) this.logItems.shift().li.remove();
  }

  /** Add to the newest line when it has the same key and is recent (mining ticks), else log. */
  logMerge(key, format, qty, cls = "") {
    const lastItem = this.logItems[this.logItems.length - 1];
    const now = performance.now();
    if (lastItem && lastItem.key === key && now - lastItem.at < 10000) {
      lastItem.total += qty;
      lastItem.at = now;
      lastItem.li.textContent = format(lastItem.total);
      lastItem.li.classList.remove("old");
      return;
    }
    this.log(format(qty), cls);
    const item = this.logItems[this.logItems.length - 1];
    item.key = key;
    item.total = qty;
  }

  _ageLog(nowMs) {
    while (this.logItems.length && nowMs - this.logItems[0].at > LOG_DROP_MS) this.logItems.shift().li.remove();
    for (const it of this.logItems) {
      const old = nowMs - it.at > LOG_FADE_MS;
      if (it.li.classList.contains("old") !== old) it.li.classList.toggle("old", old);
    }
  }

  // -------------------------------------------------------------------- death
  /** `destroyed`: the overlay says who did it and that a new ship is coming. */
  showDeath(by) {
    clearTimeout(this._deathTimer);
    const screen = $("death-screen");
    screen.classList.remove("respawned");
    $("death-title").textContent = "SHIP DESTROYED";
    $("death-text").textContent = by ? `Your ship was destroyed by ${by}.` : "Your ship was destroyed.";
    $("death-sub").textContent = "Respawning at home…";
    $("btn-death-continue").hidden = true;
    screen.hidden = false;
  }

  /** `respawned`: a new ship waits at home; the overlay lets go after a moment. */
  showRespawned(insurance) {
    const screen = $("death-screen");
    if (screen.hidden) return;
    screen.classList.add("respawned");
    $("death-sub").textContent = insurance > 0
      ? `Respawned at home in a new ship. Insurance paid ${insurance} cr.`
      : "Respawned at home in a new ship. Your cargo stays in the wreck.";
    const btn = $("btn-death-continue");
    btn.hidden = false;
    btn.focus({ preventScroll: true });
    clearTimeout(this._deathTimer);
    this._deathTimer = setTimeout(() => this.hideDeath(), 6000);
  }

  hideDeath() {
    clearTimeout(this._deathTimer);
    $("death-screen").hidden = true;
  }

  /** Show an error (from an `error` message or a refused action); it expires on its own. */
  error(message) {
    this.lastError = { message, at: Date.now() };
    this.toast(message, "");
  }

  /** A short notice that is not an error. */
  info(message) {
    this.toast(message, "info");
  }

  /**
   * A toast: shown for a few seconds after it was last said. Saying the same again while it
   * shows adds to its count instead of stacking a copy; at most TOAST_MAX at once.
   */
  toast(message, cls = "") {
    const text = String(message);
    const now = performance.now();
    let t = this.toasts.find((x) => x.text === text);
    if (t) {
      t.count += 1;
      t.until = now + TOAST_MS;
      t.li.classList.remove("fading");
      t.badge.textContent = `×${t.count}`;
      t.badge.hidden = false;
      return;
    }
    const badge = el("span", { cls: "count" });
    badge.hidden = true;
    const li = el("li", { cls, text }, badge);
    t = { text, cls, count: 1, until: now + TOAST_MS, li, badge };
    li.title = "Tap to dismiss";
    li.addEventListener("click", () => this._dismissToast(t));
    this.toasts.push(t);
    $("hud-toasts").appendChild(li);
    while (this.toasts.length > TOAST_MAX) this.toasts.shift().li.remove();
    // expiry runs in update() while in game; this covers the screens without a HUD loop
    clearTimeout(this._errorTimer);
    this._errorTimer = setTimeout(() => this._ageToasts(performance.now()), TOAST_MS + 50);
  }

  /**
   * The toasts and the log lines over a station's name in the view (drawn on the canvas, under
   * the HUD: `labels` as the renderer's stationLabels) turn see-through, so the player reads
   * where they are heading (on a phone a tutorial line sat on it); a tap still dismisses.
   */
  unveil(labels) {
    for (const li of document.querySelectorAll("#hud-toasts li, #hud-log li")) {
      const r = li.getBoundingClientRect();
      const over = r.width > 0 && labels.some((l) =>
        l.x0 < r.right && l.x1 > r.left && l.y0 < r.bottom && l.y1 > r.top);
      if (li.classList.contains("over-label") !== over) li.classList.toggle("over-label", over);
    }
  }

  /** A tap on a toast: it goes at once (it may be over something the player wants to see). */
  _dismissToast(t) {
    t.li.remove();
    this.toasts = this.toasts.filter((x) => x !== t);
  }

  _ageToasts(nowMs) {
    for (const t of this.toasts) {
      const fading = nowMs > t.until - TOAST_FADE_MS;
      if (t.li.classList.contains("fading") !== fading) t.li.classList.toggle("fading", fading);
    }
    const keep = this.toasts.filter((t) => nowMs < t.until);
    for (const t of this.toasts) if (!keep.includes(t)) t.li.remove();
    this.toasts = keep;
    if (keep.length) {
      clearTimeout(this._errorTimer);
      this._errorTimer = setTimeout(() => this._ageToasts(performance.now()), 250);
    }
  }

  /** The toasts on screen (tests): [{text, count}]. */
  toastList() {
    return this.toasts.map((t) => ({ text: t.text, count: t.count }));
  }

  /** The top banner for connection trouble; `action` is an optional {label, fn} button. */
  banner(message, action) {
    const b = $("banner");
    if (message) {
      this.bannerLog.push(message); // for tests and debugging: what the player was told
      if (this.bannerLog.length > 20) this.bannerLog.shift();
    }
    if (!message) {
      b.hidden = true;
      b.replaceChildren();
      return;
    }
    b.replaceChildren(document.createTextNode(message));
    if (action) {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = action.label;
      btn.addEventListener("click", action.fn);
      b.appendChild(btn);
    }
    b.hidden = false;
  }
}
