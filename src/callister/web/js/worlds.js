// The worlds a player may enter (welcome.worlds) and the kill switch's countdown
// (event world_ending). Builds its own small panel in the HUD; names are shown as text only.
// The list is refreshed from GET /api/worlds every few seconds (an invite shows up at once).

import { session } from "./api.js";

const REFRESH_MS = 3000;

export class WorldsPanel {
  /** @param {(name: string) => void} enter  reconnects into the named world */
  constructor(enter) {
    this.enter = enter;
    this.world = null;
    this.worlds = [];
    this.ending = null; // {world, seconds, at}
    this.root = null;
    this._timer = null;
  }

  async refresh() {
    const token = session.token;
    if (!token || !this.root) return;
    try {
      const resp = await fetch("/api/worlds", {
        headers: { Authorization: `Bearer ${token}` }, cache: "no-store",
      });
      if (!resp.ok) return;
      const data = await resp.json();
      if (Array.isArray(data.worlds)) {
        this.worlds = data.worlds;
        this._render();
      }
    } catch { /* offline: keep the list we have */ }
  }

  _mount() {
    if (this.root) return;
    const host = document.getElementById("hud-right") || document.body;
    const root = document.createElement("div");
    root.id = "hud-worlds";
    root.className = "panel";
    root.setAttribute("aria-label", "worlds");
    const head = document.createElement("div");
    head.className = "sub";
    head.append("World ");
    const name = document.createElement("b");
    name.id = "hud-world-name";
    name.dataset.testid = "world-current";
    head.append(name);
    const ending = document.createElement("div");
    ending.id = "hud-world-ending";
    ending.className = "error";
    ending.dataset.testid = "world-ending";
    ending.hidden = true;
    const list = document.createElement("div");
    list.id = "hud-world-list";
    list.className = "row small";
    root.append(head, ending, list);
    host.append(root);
    this.root = root;
  }

  welcome(msg) {
    this._mount();
    this.world = String(msg.world || "");
    this.worlds = Array.isArray(msg.worlds) ? msg.worlds : [];
    this.ending = null;
    this._render();
    if (!this._timer) this._timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  /** Handles world events; true if the event was ours. */
  event(msg) {
    if (msg.kind !== "world_ending") return false;
    this.ending = { world: String(msg.world), seconds: Number(msg.seconds) || 0, at: Date.now() };
    this._render();
    return true;
  }

  _render() {
    if (!this.root) return;
    // nothing to enter and nothing ending: the panel keeps out of the way (the HUD's pilot
    // line names the world)
    this.root.hidden = !this.ending && !this.worlds.some((w) => String(w.name) !== this.world);
    document.getElementById("hud-world-name").textContent = this.world || "—";
    const ending = document.getElementById("hud-world-ending");
    ending.hidden = !this.ending;
    if (this.ending) {
      ending.textContent = `World ${this.ending.world} is being deleted in ` +
        `${this.ending.seconds} s: you will be moved to your home world`;
    }
    const list = document.getElementById("hud-world-list");
    list.replaceChildren();
    for (const w of this.worlds) {
      const name = String(w.name);
      if (name === this.world) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.testid = `world-enter-${name}`;
      button.title = `${w.visibility} world` + (w.rules && w.rules.pvp === false ? ", PvP off" : "");
      button.textContent = `Enter ${name}`;
      button.addEventListener("click", () => this.enter(name));
      list.append(button);
    }
  }

  snapshot() {
    return {
      world: this.world,
      worlds: this.worlds.map((w) => String(w.name)),
      ending: this.ending ? this.ending.seconds : null,
    };
  }
}
