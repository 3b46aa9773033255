// The HUD: system and sector, connection and RTT, ships in view, speed, docked / jump status,
// nearest station, the last error (fading) and the connection banner. DOM text only (textContent).

import { F_JUMPING } from "./snapshot.js";
import { label } from "./system.js";
import { $, fmtDistance, num, secLabel, starColour } from "./util.js";

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
    this._set("hud-pilot", state.me ? `pilot ${state.me.name} · ${state.me.hull ?? ""}` : "");
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
      if (state.docked) hint = `Docked at ${name} — press F or Undock to launch`;
      else if (near.dist <= dockR && speed <= 60) {
        hint = `In docking range of ${name} — press F to dock`;
        ready = true;
      } else if (near.dist <= dockR) hint = "Slow below 60 m/s to dock (S / ↓ brakes)";
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
  }

  /** Show an error (from an `error` message or a refused action); it fades after a few seconds. */
  error(message) {
    this.lastError = { message, at: Date.now() };
    const t = $("hud-error");
    t.textContent = message;
    t.classList.add("show");
    clearTimeout(this._errorTimer);
    this._errorTimer = setTimeout(() => t.classList.remove("show"), 4500);
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
