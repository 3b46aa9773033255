// Missions in the HUD (issue 16; docs/protocol.md, "Missions"): the current objective with its
// marker on the view, the tutorial's steps with Skip / Resume, the mission board at stations
// (accept, abandon), rescue calls from other pilots (answer them), and, when the tank is dry or
// no station is in reach, the ways out: a rescue (fuel or a tow), the emergency recall home, the
// home ration. Everything here is built from the server's messages; nothing is decided locally.

import { $, fmtDistance } from "./util.js";

const STEP_NAMES = {
  undock: "Undock", fly: "Fly to the marker", mine: "Mine ore", dock: "Dock",
  sell: "Sell at a profit", contract: "Take a contract", jump: "Jump",
};
const KIND_LABELS = { delivery: "Delivery", mining: "Mining", bounty: "Bounty", escort: "Escort", rescue: "Rescue" };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function fmtSeconds(s) {
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  if (s >= 90) return `${Math.round(s / 60)} min`;
  return `${Math.round(s)} s`;
}

export class MissionsPanel {
  /** send(msg): a ship message (the ship id is added); state, renderer, hud: main.js's. */
  constructor({ send, state, renderer, hud }) {
    this.send = send;
    this.state = state;
    this.renderer = renderer;
    this.hud = hud;
    this.tutorial = null; // the last `tutorial` (or objectives.tutorial)
    this.missions = []; // active contracts (objectives.missions)
    this.standing = {};
    this.board = null; // the last `missions` board
    this.offers = null; // the last `rescue_offers`
    this.recallOffer = null;
    this.rescueState = null; // {event, kind, ...} of the last `rescue`
    this.calls = []; // other pilots' rescue calls we may answer
    this.rid = 0;
    this.build();
  }

  build() {
    const hudRoot = $("hud");
    this.objective = el("div", { id: "objective", class: "panel objective", "data-testid": "objective", hidden: "" },
      el("div", { class: "obj-head" },
        el("span", { id: "obj-source", class: "obj-source" }),
        el("span", { id: "obj-dist", class: "obj-dist" })),
      el("div", { id: "obj-text", class: "obj-text" }),
      el("div", { id: "obj-hint", class: "sub obj-hint" }),
      el("div", { class: "row small obj-actions" },
        el("button", { id: "btn-tut-skip", type: "button", "data-testid": "tutorial-skip",
          title: "Skip the guided start (resume it from the mission board)", onclick: () => this.skip() }, "Skip tutorial"),
        el("button", { id: "btn-missions", type: "button", "data-testid": "open-board",
          title: "The station's mission board", onclick: () => this.openBoard() }, "Missions")));
    this.steps = el("ol", { id: "tut-steps", class: "tut-steps", "data-testid": "tutorial-steps" });
    this.objective.append(this.steps);
    this.marker = el("div", { id: "obj-marker", class: "obj-marker", "data-testid": "objective-marker", hidden: "" },
      el("span", { class: "obj-arrow" }, "▼"), el("span", { class: "obj-label" }));
    this.rescue = el("div", { id: "rescue", class: "panel rescue", "data-testid": "rescue", hidden: "" },
      el("div", { id: "rescue-text", class: "rescue-text" }),
      el("div", { id: "rescue-detail", class: "sub" }),
      el("div", { class: "row small" },
        el("button", { id: "btn-rescue-fuel", type: "button", "data-testid": "rescue-fuel", onclick: () => this.take("fuel") }, "Call fuel"),
        el("button", { id: "btn-rescue-tow", type: "button", "data-testid": "rescue-tow", onclick: () => this.take("tow") }, "Call a tow"),
        el("button", { id: "btn-recall", type: "button", "data-testid": "recall", onclick: () => this.recall() }, "Recall home"),
        el("button", { id: "btn-ration", type: "button", "data-testid": "ration", onclick: () => this.ration() }, "Free ration")));
    this.callsBox = el("div", { id: "rescue-calls", class: "panel calls", hidden: "" });
    this.boardEl = el("section", { id: "mission-board", class: "overlay board", hidden: "", role: "dialog",
      "aria-labelledby": "board-title", "data-testid": "mission-board" },
      el("div", { class: "overlay-head" },
        el("h2", { id: "board-title" }, "Mission board"),
        el("button", { type: "button", class: "close", title: "Close (Esc)", onclick: () => this.closeBoard() }, "✕")),
      el("div", { class: "board-body" },
        el("div", { id: "board-terms", class: "sub" }),
        el("ol", { id: "board-list", class: "board-list" }),
        el("h3", {}, "Your contracts"),
        el("ol", { id: "board-active", class: "board-list" }),
        el("div", { class: "row small" },
          el("button", { id: "btn-tut-resume", type: "button", "data-testid": "tutorial-resume", hidden: "",
            onclick: () => this.resume() }, "Resume the tutorial"))));
    // the objective heads the flow of panels over the top of the view (index.html, #hud-stack)
    const centre = $("hud-centre");
    if (centre) centre.prepend(this.objective);
    else hudRoot.append(this.objective);
    hudRoot.append(this.marker, this.rescue, this.callsBox);
    // the station screen opens on docking and covers the HUD: the board is on it too
    const title = document.querySelector("#station-screen .st-title");
    title?.append(el("button", { id: "btn-st-missions", type: "button", "data-testid": "station-missions",
      title: "The station's mission board", onclick: () => this.openBoard() }, "Missions"));
    document.body.append(this.boardEl);
  }

  // ------------------------------------------------------------------ messages
  onMessage(msg) {
    switch (msg.t) {
      case "objectives":
        this.tutorial = msg.tutorial;
        this.missions = msg.missions || [];
        this.standing = msg.standing || {};
        break;
      case "tutorial": {
        const before = this.tutorial?.step;
        this.tutorial = msg;
        if (msg.reward) this.hud.log(`Tutorial: ${STEP_NAMES[before] || before} done, +${msg.reward} cr`, "good");
        if (msg.finished) this.hud.log("Tutorial complete: the mission boards have work for you", "good");
        break;
      }
      case "mission":
        this.onMission(msg);
        break;
      case "standing":
        this.standing[msg.faction] = { value: msg.value, rank: msg.rank };
        this.hud.log(`Standing with ${msg.faction}: ${msg.value} (${msg.rank})`, "");
        break;
      case "missions":
        this.board = msg;
        this.renderBoard();
        break;
      case "rescue_offers":
        this.offers = msg;
        break;
      case "rescue":
        this.rescueState = msg;
        if (msg.event === "posted") this.hud.log(`Help is coming: the ${msg.kind} arrives within ${msg.tug_eta_s} s`, "good");
        else if (msg.event === "answered") this.hud.log(`${msg.by} is answering your call`, "good");
        else if (msg.event === "done") this.hud.log(msg.kind === "tow" ? "Towed into dock" : "Fuel delivered", "good");
        break;
      case "rescue_call":
        this.calls = [msg, ...this.calls.filter((c) => c.contract.id !== msg.contract.id)].slice(0, 3);
        this.hud.log(`${msg.name} is stranded and calls for help`, "warn");
        this.renderCalls();
        break;
      case "recall_offer":
        this.recallOffer = msg;
        this.confirmRecall(msg);
        break;
      case "recalled":
        this.hud.log(`Recalled home (fee ${msg.fee}${msg.insured ? ", paid by your insurance" : ""})`, "good");
        break;
      case "rationed":
        this.hud.log("The station gave you a free ration of fuel", "good");
        break;
      default:
        break;
    }
  }

  onMission(msg) {
    const id = msg.contract;
    const cls = msg.event === "failed" ? "bad" : msg.event === "completed" ? "good" : "";
    if (msg.text) this.hud.log(msg.text, cls);
    if (msg.event === "accepted" || msg.event === "updated" || msg.event === "blocked") {
      const have = this.missions.find((m) => m.contract === id);
      if (have) have.objective = msg.objective ?? have.objective;
      else if (msg.event === "accepted") {
        const offered = this.board?.contracts.find((c) => c.id === id);
        this.missions.push({ contract: id, title: offered?.title ?? msg.text, objective: msg.objective,
          reward: offered?.reward ?? msg.reward ?? 0 });
      }
    } else {
      this.missions = this.missions.filter((m) => m.contract !== id);
    }
    if (this.board && !this.boardEl.hidden) this.send({ t: "missions" }); // refresh
  }

  // ------------------------------------------------------------------ actions
  skip() { this.send({ t: "tutorial", op: "skip" }); }
  resume() { this.send({ t: "tutorial", op: "resume" }); }
  accept(id) { this.send({ t: "accept", contract: id }); }
  abandon(id) { this.send({ t: "abandon", contract: id }); }

  openBoard() {
    if (!this.state.docked) {
      this.hud.toast("Dock at a station to read its mission board");
      return;
    }
    this.boardEl.hidden = false;
    this.send({ t: "missions" });
  }

  closeBoard() { this.boardEl.hidden = true; }
  get boardOpen() { return !this.boardEl.hidden; }

  take(kind) { this.send({ t: "rescue", op: "take", kind }); }

  recall() { this.send({ t: "recall", rid: this.nextRid("recall"), confirm: false }); }

  confirmRecall(terms) {
    const paidBy = terms.insured ? "your insurance pays" :
      `${terms.credits} cr${Object.keys(terms.salvage).length ? " and cargo as salvage" : ""}${terms.waived ? `, ${terms.waived} waived` : ""}`;
    if (window.confirm(`Recall home for ${terms.fee} cr (${paidBy})? Your ship is docked at home with fuel.`)) {
      this.send({ t: "recall", rid: this.nextRid("recall"), confirm: true });
    }
  }

  ration() { this.send({ t: "ration", rid: this.nextRid("ration") }); }

  nextRid(what) {
    this.rid += 1;
    return `${what}-${Date.now().toString(36)}-${this.rid}`;
  }

  // ------------------------------------------------------------------ drawing
  /** The current objective: the tutorial's step, else the first contract's (or the status'). */
  current() {
    const t = this.tutorial; // the newest word on the tutorial (a status may lag behind it)
    if (t && !t.finished && !t.skipped && t.objective) return { source: "tutorial", step: t.step, ...t.objective };
    const hudObj = this.state.status?.objective;
    if (hudObj && hudObj.source !== "tutorial") return hudObj;
    const m = this.missions[0];
    return m ? { source: "contract", title: m.title, ...m.objective } : null;
  }

  /** Called ~10 times a second by main.js. */
  update() {
    const s = this.state.status;
    const obj = this.current();
    const t = this.tutorial;
    const tutActive = !!(t && !t.finished && !t.skipped);
    this.objective.hidden = !obj && !this.state.docked;
    if (!this.objective.hidden) {
      $("obj-source").textContent = obj ? (obj.source === "tutorial"
        ? `Tutorial ${Math.min((t?.index ?? 0) + 1, t?.of ?? 1)}/${t?.of ?? "?"}` : obj.title || "Contract")
        : "No objective";
      const count = obj && obj.need ? ` (${obj.have ?? 0}/${obj.need})` : "";
      $("obj-text").textContent = obj ? `${obj.text}${count}` : "Read the mission board for work";
      $("obj-hint").textContent = tutActive ? (t.hint || "") : "";
      $("btn-tut-skip").hidden = !tutActive;
      $("btn-missions").hidden = !this.state.docked;
      this.renderSteps(tutActive ? t : null);
    }
    this.placeMarker(obj?.marker ?? null);
    this.renderRescue(s);
    const resume = $("btn-tut-resume");
    if (resume) resume.hidden = !(t && t.skipped && !t.finished);
  }

  renderSteps(t) {
    this.steps.hidden = !t;
    if (!t) return;
    const key = `${t.step}|${t.index}`;
    if (this.steps.dataset.key === key) return;
    this.steps.dataset.key = key;
    this.steps.replaceChildren(...t.steps.map((step, i) => el("li", {
      class: i < t.index ? "done" : i === t.index ? "now" : "",
    }, STEP_NAMES[step] || step)));
  }

  placeMarker(marker) {
    const own = this.renderer.own ?? this.state.ownRecord?.();
    const sector = this.state.sector;
    const here = marker && sector && String(marker.sector?.[0]) === String(sector[0]) &&
      String(marker.sector?.[1]) === String(sector[1]);
    if (!marker || !own || !here || marker.kind === "link" && !marker.x) {
      this.marker.hidden = true;
      $("obj-dist").textContent = marker && !here ? "another system" : "";
      return;
    }
    const r = this.renderer;
    const dist = Math.hypot(marker.x - own.x, marker.y - own.y);
    $("obj-dist").textContent = fmtDistance(dist);
    let x = r.sx(marker.x);
    let y = r.sy(marker.y);
    const w = r.w ?? innerWidth;
    const h = r.h ?? innerHeight;
    const pad = 28;
    // a phone's top bar (system, speed, vitals) ends at --stack-top (hud.js): the marker stays
    // under it; pinned at y it reaches 22 px above y (its margin), so it sat on the SPEED label
    const bar = parseFloat($("hud").style.getPropertyValue("--stack-top")) || 0;
    const top = Math.max(pad, bar + 24);
    const inside = x >= pad && x <= w - pad && y >= top && y <= h - pad;
    let angle = 0;
    if (!inside) { // pinned to the edge, pointing at it
      const cx = w / 2;
      const cy = h / 2;
      angle = Math.atan2(y - cy, x - cx);
      const up = Math.sin(angle) < 0; // towards the top edge (screen y grows downwards)
      const k = Math.min((w / 2 - pad) / Math.abs(Math.cos(angle) || 1e-9),
        (up ? cy - top : h / 2 - pad) / Math.abs(Math.sin(angle) || 1e-9));
      x = cx + Math.cos(angle) * k;
      y = cy + Math.sin(angle) * k;
      // out from under the HUD's panels (it went under the objective), as the view's own edge
      // markers do: to the nearest point of the edge where it covers none (round the corner
      // when the panels cover its edge end to end, as on a phone on its side)
      const panels = r.panelRects?.() ?? [];
      // the marker's box reaches 20 px either side of x, 22 px above y and 11 px below
      const clear = (px, py) => !panels.some((p) => px + 20 > p.x0 && px - 20 < p.x1 && py + 11 > p.y0 && py - 22 < p.y1);
      if (!clear(x, y)) {
        const spots = [];
        for (let sx = pad; sx <= w - pad; sx += 8) spots.push([sx, top], [sx, h - pad]);
        for (let sy = top; sy <= h - pad; sy += 8) spots.push([pad, sy], [w - pad, sy]);
        let best = null;
        for (const [sx, sy] of spots) {
          const d = Math.hypot(sx - x, sy - y);
          if ((!best || d < best[2]) && clear(sx, sy)) best = [sx, sy, d];
        }
        if (best) [x, y] = best;
      }
      angle = Math.atan2(r.sy(marker.y) - y, r.sx(marker.x) - x);
    }
    this.marker.hidden = false;
    this.marker.classList.toggle("edge", !inside);
    this.marker.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
    this.marker.firstChild.style.transform = inside ? "" : `rotate(${angle - Math.PI / 2}rad)`;
    this.marker.lastChild.textContent = fmtDistance(dist);
  }

  renderRescue(s) {
    const ways = s?.ways_out;
    const open = this.rescueState && this.rescueState.event !== "done" && this.rescueState.event !== "cancelled";
    const show = Array.isArray(ways) || open;
    this.rescue.hidden = !show;
    if (!show) return;
    const dry = (s?.fuel ?? 1) <= 0;
    $("rescue-text").textContent = open ? `Help is on its way (${this.rescueState.kind})`
      : s?.fuel_text || (dry ? "Out of fuel" : "No station in reach");
    const can = new Set(ways || []);
    const offers = this.offers?.offers || [];
    const fuelOffer = offers.find((o) => o.kind === "fuel");
    const towOffer = offers.find((o) => o.kind === "tow");
    $("rescue-detail").textContent = open ? "" : offers.length
      ? offers.map((o) => `${o.kind}: ${o.fee} cr${o.fund_pays ? ` (patrol fund pays ${o.fund_pays})` : ""}`).join(" · ")
      : "A patrol, a trader, another pilot or the station's tug answers a call";
    $("btn-rescue-fuel").hidden = open || !can.has("call_rescue") || (this.offers && !fuelOffer);
    $("btn-rescue-tow").hidden = open || !can.has("call_rescue") || (this.offers && !towOffer);
    $("btn-recall").hidden = !can.has("recall_home");
    $("btn-ration").hidden = !can.has("ration");
    if (!this.offers && can.has("call_rescue") && !this.askedOffers) {
      this.askedOffers = true;
      this.send({ t: "rescue", op: "offers" });
    }
    if (!Array.isArray(ways)) this.askedOffers = false;
  }

  renderCalls() {
    const box = this.callsBox;
    box.replaceChildren(...this.calls.map((c) => el("div", { class: "call" },
      el("span", {}, `${c.name}: ${c.contract.title} — ${c.contract.reward} cr `),
      el("button", { type: "button", "data-testid": "answer-call", onclick: () => {
        this.accept(c.contract.id);
        this.calls = this.calls.filter((x) => x !== c);
        this.renderCalls();
      } }, "Answer"))));
    box.hidden = this.calls.length === 0;
  }

  renderBoard() {
    const b = this.board;
    if (!b) return;
    $("board-title").textContent = `Mission board — ${b.name ?? "station"}`;
    const terms = b.terms || {};
    $("board-terms").textContent = `Your rank here: ${terms.rank ?? "?"} · contracts up to tier ${terms.max_tier ?? 0}`;
    const list = $("board-list");
    const max = terms.max_tier ?? 0;
    // what the pilot may take first; the better-paid work of higher ranks after it
    const shown = [...b.contracts].sort((a, c) => (a.tier > max) - (c.tier > max));
    list.replaceChildren(...(shown.length ? shown.map((c) => el("li", { class: "contract", "data-kind": c.kind },
      el("div", { class: "c-title" }, el("span", { class: "c-kind" }, KIND_LABELS[c.kind] || c.kind), ` ${c.title}`),
      el("div", { class: "sub" },
        `tier ${c.tier} · ${c.reward} cr · about ${fmtSeconds(c.estimate_s)}` +
        `${c.collateral ? ` · collateral ${c.collateral} cr` : ""} · ${c.goals.map((g) => g.text).join(" → ")}`),
      el("button", { type: "button", class: "primary", "data-testid": "accept", disabled: c.tier > (terms.max_tier ?? 0) ? "" : null,
        onclick: () => this.accept(c.id) }, c.tier > (terms.max_tier ?? 0) ? "Rank too low" : "Accept"),
    )) : [el("li", { class: "sub" }, "No work here right now — try again in a quarter of an hour")]));
    const active = $("board-active");
    active.replaceChildren(...(this.missions.length ? this.missions.map((m) => el("li", { class: "contract" },
      el("div", { class: "c-title" }, m.title),
      el("div", { class: "sub" }, `${m.objective?.text ?? ""} · ${m.reward} cr`),
      el("button", { type: "button", "data-testid": "abandon", onclick: () => this.abandon(m.contract) }, "Abandon"),
    )) : [el("li", { class: "sub" }, "None yet")]));
  }

  snapshot() {
    return {
      tutorial: this.tutorial ? { step: this.tutorial.step, index: this.tutorial.index, of: this.tutorial.of,
        finished: !!this.tutorial.finished, skipped: !!this.tutorial.skipped } : null,
      objective: this.current(),
      missions: this.missions.map((m) => m.contract),
      board: this.board ? this.board.contracts.map((c) => ({ id: c.id, kind: c.kind, tier: c.tier })) : null,
      boardOpen: this.boardOpen,
      rescue: this.rescueState,
      rescueShown: !this.rescue.hidden,
      markerShown: !this.marker.hidden,
      calls: this.calls.length,
    };
  }
}
