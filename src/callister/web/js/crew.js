// The crew panel: who is aboard (stations, skills, licence), who is for hire at this station,
// the captain's order buttons, and the ship's chat (and hails: talking to the NPC ship that is
// targeted). Names and chat are literal text (textContent), never markup. Talks only over the
// protocol: `hire`, `dismiss`, `crew_order`, `crew_chat`, `hail` out; `crew` and `chat` in.
// Clone ids are decimal strings (they exceed 2^53).

import { el } from "./util.js";

const ORDERS = [
  ["attack", "Attack target"],
  ["hold_fire", "Hold fire"],
  ["shields", "Shields"],
  ["flee", "Flee"],
  ["dock", "Dock"],
  ["cancel", "Cancel orders"],
];
const MAX_LINES = 60;

export class CrewPanel {
  /** `send(msg)` sends a message about our ship; `target()` is the locked entity id or 0. */
  constructor({ send, target }) {
    this.send = send;
    this.target = target;
    this.rid = 0;
    this.last = null;
    this.lines = [];
    this.lastChatAt = -Infinity; // when the ship's chat last spoke (the panel shows itself)
    const root = el("section", { attrs: { id: "crew", class: "panel collapsed-away", "aria-label": "crew" } });
    const head = el("div", { cls: "crew-head" });
    head.append(el("h3", { text: "Crew" }));
    this.toggle = el("button", { text: "–", attrs: { type: "button", "data-testid": "crew-toggle" } });
    head.append(this.toggle);
    this.body = el("div", { cls: "crew-body" });
    this.list = el("ul", { attrs: { id: "crew-list", "data-testid": "crew-list" } });
    this.mods = el("div", { attrs: { id: "crew-mods", class: "sub" } });
    this.hire = el("div", { attrs: { id: "crew-hire" } });
    this.orders = el("div", { attrs: { id: "crew-orders" } });
    for (const [order, label] of ORDERS) {
      const b = el("button", {
        text: label, attrs: { type: "button", "data-order": order, "data-testid": `order-${order}` },
      });
      b.addEventListener("click", () => this.order(order));
      this.orders.append(b);
    }
    this.log = el("ol", { attrs: { id: "crew-chat-log", "data-testid": "crew-chat-log" } });
    const form = el("form", { attrs: { id: "crew-chat-form" } });
    this.input = el("input", { attrs: {
      id: "crew-chat-input", maxlength: "200", placeholder: "Talk to your crew…", autocomplete: "off",
      "data-testid": "crew-chat-input",
    } });
    this.hailBtn = el("button", { text: "Hail", attrs: {
      type: "button", "data-testid": "crew-hail", title: "Say it to the targeted ship instead",
    } });
    form.append(this.input, el("button", { text: "Say", attrs: { type: "submit", "data-testid": "crew-chat-send" } }),
      this.hailBtn);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.send({ t: "crew_chat", text });
      this.input.value = "";
    });
    // a hail goes to the targeted ship (the server answers NO_TARGET if it is not an NPC's)
    this.hailBtn.addEventListener("click", () => {
      const text = this.input.value.trim();
      const target = this.target();
      if (!text || !target) return;
      this.send({ t: "hail", target, text });
      this.input.value = "";
    });
    this.body.append(this.list, this.mods, this.hire, this.orders, this.log, form);
    root.append(head, this.body);
    this.toggle.addEventListener("click", () => {
      this.body.hidden = !this.body.hidden;
      this.toggle.textContent = this.body.hidden ? "+" : "–";
      this.root.classList.toggle("collapsed", this.body.hidden);
    });
    (document.getElementById("hud-right") ?? document.body).append(root);
    this.root = root;
  }

  order(order) {
    const msg = { t: "crew_order", order };
    if (order === "attack" && this.target()) msg.target = this.target();
    this.send(msg);
  }

  onCrew(msg) {
    this.last = msg;
    this.list.replaceChildren();
    for (const c of msg.crew || []) {
      const li = el("li", { attrs: { "data-clone": String(c.id), class: "crew-member" } });
      li.append(el("b", { text: String(c.name) }));
      li.append(el("span", { text: ` ${c.role} ${Math.round((c.skill || 0) * 100)}%`, cls: "crew-role" }));
      if (c.licence === "unlicensed") li.append(el("span", { text: " [UNLICENSED]", cls: "crew-unlicensed" }));
      li.append(el("span", {
        text: ` · ${c.order ? `ordered: ${c.order}` : c.doing} · ${c.mood}`, cls: "crew-doing sub",
      }));
      const dismiss = el("button", { text: "✕", attrs: { type: "button", class: "crew-dismiss", title: "Dismiss" } });
      dismiss.addEventListener("click", () => this.send({ t: "dismiss", crew: String(c.id) }));
      li.append(dismiss);
      this.list.append(li);
    }
    if (!(msg.crew || []).length) this.list.append(el("li", { text: "No crew aboard.", cls: "sub" }));
    const m = msg.modifiers || {};
    this.mods.textContent =
      `aim ×${(m.aim_spread ?? 1).toFixed(2)} · shields ×${(m.shield_recharge ?? 1).toFixed(2)} · ` +
      `mining ×${(m.mining_yield ?? 1).toFixed(2)} · turn ×${(m.turn_rate ?? 1).toFixed(2)}`;
    this.hire.replaceChildren();
    // the candidates of the station we are docked at, sent with every docking (none in space)
    const cands = msg.station == null && "station" in msg ? [] : msg.candidates || [];
    if (cands.length) {
      const where = msg.station_name ? `For hire at ${msg.station_name}:` : "For hire at this station:";
      this.hire.append(el("div", { text: where, attrs: { class: "sub", "data-testid": "crew-hire-title" } }));
    }
    for (const c of cands) {
      const row = el("div", { attrs: { class: "crew-candidate", "data-clone": String(c.id) } });
      row.append(el("span", {
        text: `${c.name} — ${c.role} ${Math.round(c.skill * 100)}% (${(c.traits || []).join(", ")})`,
      }));
      const b = el("button", {
        text: `Hire ${c.price} cr`, attrs: { type: "button", "data-testid": `hire-${c.role}` },
      });
      b.addEventListener("click", () => {
        this.rid += 1;
        this.send({ t: "hire", rid: `hire-${Date.now()}-${this.rid}`, candidate: String(c.id) });
      });
      row.append(b);
      this.hire.append(row);
    }
  }

  onChat(msg) {
    this.lastChatAt = performance.now();
    const li = el("li", { cls: `chat-${msg.kind || "line"}` });
    if (msg.source === "llm") li.title = "written by the server's language model";
    const hail = msg.kind === "hail" || msg.kind === "hail_sent";
    li.append(el("b", { text: `${hail ? "📡 " : ""}${msg.from ?? "?"}: ` }));
    li.append(document.createTextNode(String(msg.text ?? "")));
    this.log.append(li);
    this.lines.push({
      from: msg.from, text: msg.text, kind: msg.kind, action: msg.action ?? null, source: msg.source ?? null,
    });
    while (this.log.children.length > MAX_LINES) this.log.firstChild.remove();
    if (this.lines.length > MAX_LINES) this.lines.shift();
    this.log.scrollTop = this.log.scrollHeight;
  }

  snapshot() {
    return {
      crew: this.last?.crew ?? [],
      candidates: this.last?.candidates ?? [],
      station: this.last?.station_name ?? null,
      chat: this.lines.slice(-20),
    };
  }
}
