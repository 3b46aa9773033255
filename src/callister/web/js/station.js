// The station screen (docked): Market (buy and sell every item, with prices, stock and your
// hold), Services (refuel, repair, rearm, insure) and Hangar (hulls, weapon modules per slot).
//
// Every request that moves credits or items carries a fresh request id (`rid`). The server
// answers with a `receipt` (same rid) or an `error` whose `ref` is the rid. A request that got
// no answer before the socket dropped is sent again with the SAME rid after reconnecting: the
// server replays the first receipt instead of charging twice. After each receipt the market is
// asked for again (prices move with every unit traded).
//
// Server text (item and hull names) is set with textContent only.

import { $, el } from "./util.js";

const RESEND_MAX_AGE_MS = 120000; // unanswered requests older than this are given up
const SLOW_ANSWER_MS = 8000;
const REFRESH_MS = 20000; // prices drift: refresh the open screen now and then
const TABS = ["market", "services", "hangar"];
const MAX_QTY = 100000;

const fmtCr = (v) => (Number.isFinite(Number(v)) ? `${Math.round(Number(v)).toLocaleString("en-US")} cr` : "—");
const nameOf = (obj) => (obj && typeof obj.name === "string" && obj.name ? obj.name : String(obj?.key ?? "?"));
const svcLabel = { refuel: "Refuel", repair: "Repair", rearm: "Rearm", insure: "Insure" };

/** A price table (`label` names it for screen readers): `columns` [heading, numeric] over `rows`. */
function priceTable(label, columns, rows) {
  const head = el("tr", {}, ...columns.map(([text, numeric]) =>
    el("th", { text, cls: numeric ? "n" : "", attrs: { scope: "col" } })));
  return el("table", { cls: "st-table", attrs: { "aria-label": label } },
    el("thead", {}, head), el("tbody", {}, ...rows));
}

export class StationScreen {
  /**
   * send(msg) sends a message for our ship (main.js adds `ship`); false when not connected.
   * onUndock() undocks; notify(text, cls) logs a line in the HUD.
   */
  constructor(state, { send, onUndock, notify }) {
    this.state = state;
    this.send = send;
    this.notify = notify;
    this.tab = "market";
    this.pending = new Map(); // rid -> {msg, label, sentAt, credits}
    this.last = null; // {rid, ok, text, code}
    this.receipts = 0;
    this._prefix = `w${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
    this._n = 0;
    this._asked = 0;
    this._sig = "";
    this.root = $("station-screen");
    this.root.addEventListener("keydown", (e) => this._keys(e));
    for (const t of this.root.querySelectorAll("[role=tab]")) {
      t.addEventListener("click", () => this.showTab(t.dataset.tab, true));
    }
    $("btn-station-undock").addEventListener("click", () => onUndock());
    setInterval(() => this._tick(), 1000);
    addEventListener("resize", () => this.isOpen && this.layout());
  }

  /** Keep the screen above the HUD's bottom row (its height depends on the window). */
  layout() {
    const row = $("hud-bottom")?.getBoundingClientRect();
    if (!row || !row.height) return;
    const bottom = `${Math.round(Math.max(8, innerHeight - row.top + 8))}px`;
    if (this.root.style.bottom !== bottom) this.root.style.bottom = bottom;
  }

  get isOpen() {
    return !this.root.hidden;
  }

  /** Open (asking for a fresh market); focus the tabs when the keyboard asked for it. */
  open(focus = false) {
    if (!this.state.docked) return;
    this.root.hidden = false;
    this.layout();
    this.refresh();
    this.render();
    if (focus) $(`station-tab-${this.tab}`).focus({ preventScroll: true });
  }

  close() {
    this.root.hidden = true;
  }

  toggle(focus = false) {
    if (this.isOpen) this.close();
    else this.open(focus);
  }

  /** Ask the server for the station screen (reply: `market`). */
  refresh() {
    if (!this.state.docked) return;
    this._asked = performance.now();
    if (this.send({ t: "market" })) $("station-loading").textContent = "updating prices…";
  }

  showTab(tab, focus = false) {
    if (!TABS.includes(tab)) return;
    this.tab = tab;
    for (const t of TABS) {
      const btn = $(`station-tab-${t}`);
      const on = t === tab;
      btn.setAttribute("aria-selected", String(on));
      btn.tabIndex = on ? 0 : -1;
      $(`station-${t}`).hidden = !on;
    }
    if (focus) $(`station-tab-${tab}`).focus({ preventScroll: true });
  }

  _keys(e) {
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      this.close();
      return;
    }
    if (e.target?.getAttribute?.("role") === "tab") {
      const i = TABS.indexOf(this.tab);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[e.key];
      if (next !== undefined) {
        e.preventDefault();
        this.showTab(TABS[(next + TABS.length) % TABS.length], true);
      }
    }
  }

  _tick() {
    const now = performance.now();
    for (const [rid, p] of this.pending) {
      if (now - p.sentAt > RESEND_MAX_AGE_MS) {
        this.pending.delete(rid);
        this._result(rid, false, `No answer for “${p.label}”. Check your credits and hold before trying again.`, "TIMEOUT");
      } else if (!p.slow && now - p.sentAt > SLOW_ANSWER_MS) {
        p.slow = true;
        if (this.last?.rid === rid) this._result(rid, null, `${p.label}: waiting for the station…`);
      }
    }
    if (this.isOpen && now - this._asked > REFRESH_MS && !this.pending.size) this.refresh();
  }

  // ------------------------------------------------------------------ requests
  _rid() {
    this._n += 1;
    return `${this._prefix}-${this._n}`; // <= 64 printable characters
  }

  /** Send one station request with a fresh rid; returns the rid. */
  request(msg, label) {
    const rid = this._rid();
    const full = { ...msg, rid };
    this.pending.set(rid, { msg: full, label, sentAt: performance.now(), credits: this.state.credits });
    if (this.send(full)) this._result(rid, null, `${label}…`);
    else this._result(rid, null, `${label}: not connected — it will be sent when the connection is back`);
    return rid;
  }

  /** After a reconnect: send unanswered requests again, with their own rid (never charged twice). */
  resendPending() {
    for (const p of this.pending.values()) {
      if (performance.now() - p.sentAt < RESEND_MAX_AGE_MS) this.send(p.msg);
    }
  }

  trade(item, qty, side) {
    const it = (this.state.market?.items || []).find((i) => i.key === item);
    const label = `${side === "buy" ? "Buy" : "Sell"} ${qty} ${nameOf(it ?? { key: item })}`;
    return this.request({ t: "trade", item, qty, side }, label);
  }

  service(op) {
    return this.request({ t: "service", op }, svcLabel[op] ?? op);
  }

  buyHull(hull) {
    const h = (this.state.market?.hulls || []).find((x) => x.key === hull);
    return this.request({ t: "buy_hull", hull }, `Buy the ${nameOf(h ?? { key: hull })}`);
  }

  /** A bounty on another player (by account name), paid from our credits into escrow. */
  bounty(target, amount) {
    return this.request({ t: "bounty", target, amount }, `Bounty of ${fmtCr(amount)} on ${target}`);
  }

  buyModule(slot, weapon) {
    const m = (this.state.market?.modules || []).find((x) => x.key === weapon);
    return this.request({ t: "buy_module", slot, weapon }, `Fit ${nameOf(m ?? { key: weapon })} in slot ${slot + 1}`);
  }

  // ------------------------------------------------------------------ answers
  onMarket(msg) {
    $("station-loading").textContent = "";
    if (msg.cargo && typeof msg.cargo === "object") this.state.cargo = msg.cargo;
    if (this.isOpen) this.render();
  }

  /** A `receipt`: true when it answers one of our requests. */
  onReceipt(msg) {
    const rid = String(msg.rid ?? "");
    const p = this.pending.get(rid);
    if (Number.isFinite(Number(msg.credits)) && msg.credits !== null) this.state.credits = Number(msg.credits);
    if (msg.cargo && typeof msg.cargo === "object") {
      this.state.cargo = msg.cargo;
      if (this.state.market) this.state.market = { ...this.state.market, cargo: msg.cargo, credits: this.state.credits };
    }
    if (!p) return false;
    this.pending.delete(rid);
    this.receipts += 1;
    if (p.msg.t === "buy_hull" && msg.ok !== false && this.state.me) {
      this.state.me = { ...this.state.me, hull: p.msg.hull }; // same ship id, new hull
    }
    const before = Number(p.credits);
    const after = Number(msg.credits);
    let delta = "";
    if (Number.isFinite(before) && Number.isFinite(after) && before !== after) {
      delta = ` · ${after > before ? "+" : "−"}${fmtCr(Math.abs(after - before))}`;
    }
    const replay = msg.replay ? " (already done)" : "";
    const text = `✓ ${p.label}${delta}${replay} · balance ${fmtCr(after)}`;
    this._result(rid, true, text);
    this.notify?.(text.replace(/ · balance.*/, ""), "good");
    this.refresh();
    if (this.isOpen) this.render();
    return true;
  }

  /** An `error`: true when it refuses one of our requests (ref = rid) or the market. */
  onError(msg) {
    const ref = msg.ref === undefined || msg.ref === null ? "" : String(msg.ref);
    const p = this.pending.get(ref);
    if (p) {
      this.pending.delete(ref);
      this._result(ref, false, `✗ ${p.label}: ${msg.message || msg.code}`, String(msg.code || ""));
      return true;
    }
    if (ref === "market" || (this.isOpen && ["NOT_DOCKED", "NOT_AVAILABLE"].includes(msg.code) && !ref)) {
      $("station-loading").textContent = "";
      this._result(ref, false, `✗ ${msg.message || msg.code}`, String(msg.code || ""));
      return true;
    }
    return false;
  }

  _result(rid, ok, text, code = "") {
    this.last = { rid, ok, text, code };
    const node = $("station-result");
    node.className = `st-result ${ok === true ? "ok" : ok === false ? "error" : "pending"}`;
    node.dataset.rid = rid;
    node.dataset.code = code;
    node.textContent = text;
  }

  currentHull() {
    return this.state.hullKey();
  }

  // ------------------------------------------------------------------ drawing
  /** The header: station, credits, hold (cheap; called often while open). */
  header() {
    const { state } = this;
    const m = state.market;
    const st = state.status;
    const station = this._station();
    const set = (id, text) => {
      const node = $(id);
      if (node.textContent !== text) node.textContent = text;
    };
    set("station-name", station ? nameOf(station) : "Station");
    const services = Array.isArray(m?.services) ? m.services : Array.isArray(station?.services) ? station.services : [];
    set("station-sub", [station?.faction, services.join(" · ")].filter((v) => typeof v === "string" && v).join(" — "));
    set("station-credits", Number.isFinite(state.credits) && state.credits !== null ? String(Math.round(state.credits)) : "—");
    const used = Number(st?.cargo_used);
    const max = Number(st?.cargo_max);
    set("station-cargo", Number.isFinite(used) && Number.isFinite(max) ? `${used} / ${max}` : "—");
    return services;
  }

  render() {
    const m = this.state.market;
    const services = this.header();
    // rebuilding the tables moves keyboard focus; keep the focused control's test id to restore it
    const focusId = document.activeElement?.closest?.("#station-screen") ? document.activeElement.dataset.testid : null;
    this._market(m);
    this._services(m, services);
    this._hangar(m, services);
    this.showTab(this.tab);
    if (focusId) this.root.querySelector(`[data-testid="${CSS.escape(focusId)}"]`)?.focus({ preventScroll: true });
  }

  _station() {
    const st = this.state;
    const list = st.stations();
    if (st.dockedAt !== null && st.dockedAt !== undefined) {
      const s = list.find((x) => Number(x.index) === Number(st.dockedAt));
      if (s) return s;
    }
    const own = st.ownRecord();
    return own ? st.nearestStation(own.x, own.y)?.station ?? null : null;
  }

  _button(text, testid, cls, onClick, { disabled = false, title = "", aria = "" } = {}) {
    const b = el("button", { text, cls, attrs: { type: "button", "data-testid": testid } });
    if (title) b.title = title;
    if (aria) b.setAttribute("aria-label", aria);
    b.disabled = disabled;
    b.addEventListener("click", onClick);
    return b;
  }

  _market(m) {
    const root = $("station-market");
    const cargo = this.state.cargo && typeof this.state.cargo === "object" ? this.state.cargo : {};
    const qtyBefore = new Map();
    for (const input of root.querySelectorAll("input[data-item]")) qtyBefore.set(input.dataset.item, input.value);
    root.replaceChildren();
    if (!m) {
      root.appendChild(el("p", { cls: "empty-note", text: "Loading the market…" }));
      return;
    }
    const items = Array.isArray(m.items) ? m.items : [];
    if (!items.length) {
      root.appendChild(el("p", { cls: "empty-note", text: "This station has no market." }));
    } else {
      const rows = [];
      for (const it of items) {
        const key = String(it.key ?? "");
        if (!key) continue;
        const name = nameOf(it);
        const have = Number(cargo[key]) || 0;
        const stock = Number(it.stock);
        const qty = el("input", { attrs: {
          type: "number", min: "1", max: String(MAX_QTY), step: "1", value: qtyBefore.get(key) ?? "1",
          "data-item": key, "data-testid": `qty-${key}`, "aria-label": `Quantity of ${name}`, inputmode: "numeric",
        } });
        const amount = () => Math.max(1, Math.min(MAX_QTY, Math.floor(Number(qty.value) || 1)));
        const buy = this._button("Buy", `buy-${key}`, "buy", () => this.trade(key, amount(), "buy"), {
          disabled: !(stock > 0), aria: `Buy ${name}`, title: stock > 0 ? "" : "out of stock" });
        const sell = this._button("Sell", `sell-${key}`, "sell", () => this.trade(key, Math.min(amount(), have) || 1, "sell"), {
          disabled: have <= 0, aria: `Sell ${name}`, title: have > 0 ? "" : "none in your hold" });
        qty.addEventListener("keydown", (e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            this.trade(key, amount(), e.shiftKey ? "sell" : "buy");
          }
        });
        rows.push(el("tr", { attrs: { "data-item": key } },
          el("td", { text: name }),
          el("td", { cls: "n", text: fmtCr(it.buy) }),
          el("td", { cls: "n", text: fmtCr(it.sell) }),
          el("td", { cls: "n", text: Number.isFinite(stock) ? String(stock) : "—" }),
          el("td", { cls: `n ${have > 0 ? "have" : "none"}`, text: String(have) }),
          el("td", { cls: "n" }, qty),
          el("td", { cls: "act" }, buy, sell)));
      }
      root.appendChild(priceTable("market", [["Item", false], ["You pay", true], ["You get", true], ["Stock", true],
        ["In hold", true], ["Qty", true], ["", true]], rows));
    }
    // what is in the hold that this market does not list
    const listed = new Set(items.map((i) => i.key));
    const extra = Object.entries(cargo).filter(([k, q]) => !listed.has(k) && Number(q) > 0);
    root.appendChild(el("h3", { text: "Your hold" }));
    if (!Object.values(cargo).some((q) => Number(q) > 0)) {
      root.appendChild(el("p", { cls: "empty-note", text: "Empty." }));
    } else if (extra.length) {
      root.appendChild(el("p", { cls: "empty-note",
        text: extra.map(([k, q]) => `${q} × ${k.replace(/_/g, " ")}`).join(" · ") + " (not traded here)" }));
    } else {
      root.appendChild(el("p", { cls: "empty-note", text: Object.entries(cargo).filter(([, q]) => Number(q) > 0)
        .map(([k, q]) => `${q} × ${nameOf(items.find((i) => i.key === k) ?? { key: k })}`).join(" · ") }));
    }
  }

  _services(m, services) {
    const root = $("station-services");
    const kept = { target: $("bounty-target")?.value ?? "", amount: $("bounty-amount")?.value ?? "500" };
    root.replaceChildren();
    queueMicrotask(() => {
      if ($("bounty-target")) $("bounty-target").value = kept.target;
      if ($("bounty-amount")) $("bounty-amount").value = kept.amount;
    });
    if (!m) {
      root.appendChild(el("p", { cls: "empty-note", text: "Loading…" }));
      return;
    }
    const st = this.state.status || {};
    const has = (svc) => services.includes(svc);
    const grid = el("div", { cls: "svc-grid" });
    const card = (title, testid, op, offered, lines, price) => {
      const btn = this._button(svcLabel[op], testid, "buy", () => this.service(op), {
        disabled: !offered, aria: `${svcLabel[op]}${price ? ` (${price})` : ""}`,
        title: offered ? "" : "not offered at this station" });
      grid.appendChild(el("div", { cls: `svc${offered ? "" : " off"}`, attrs: { "data-service": op } },
        el("h4", { text: title }),
        el("div", { cls: "sub", text: offered ? lines : "Not offered at this station." }),
        el("div", { cls: "price", text: offered ? price : "" }),
        btn));
    };
    const fuel = Number(st.fuel);
    const fuelMax = Number(st.fuel_max);
    const fuelPrice = Number(m.fuel_price);
    const missingFuel = Math.max(0, fuelMax - fuel);
    card("Fuel", "buy-fuel", "refuel", has("refuel"),
      Number.isFinite(fuel) ? `Tank ${Math.round(fuel)} / ${Math.round(fuelMax)} · ${fmtCr(fuelPrice)} per unit` : `${fmtCr(fuelPrice)} per unit`,
      missingFuel > 0.05 && Number.isFinite(fuelPrice) ? `Fill up: ${fmtCr(Math.ceil(missingFuel * fuelPrice))}` : "Tank full");
    const hull = Number(st.hull);
    const hullMax = Number(st.hull_max);
    const repairPrice = Number(m.repair_price);
    const missingHull = Math.max(0, hullMax - hull);
    card("Repairs", "repair", "repair", has("repair"),
      Number.isFinite(hull) ? `Hull ${Math.round(hull)} / ${Math.round(hullMax)} · ${fmtCr(repairPrice)} per point` : `${fmtCr(repairPrice)} per hull point`,
      missingHull > 0.05 && Number.isFinite(repairPrice) ? `Full repair: ${fmtCr(Math.ceil(missingHull * repairPrice))}` : "No damage");
    const ammo = m.ammo && typeof m.ammo === "object" ? m.ammo : {};
    const weapons = Array.isArray(st.weapons) ? st.weapons.filter((w) => w && w.key) : [];
    const ammoLines = weapons.filter((w) => w.ammo !== null && w.ammo !== undefined)
      .map((w) => `${nameOf(w)}: ${w.ammo} left, ${fmtCr(ammo[w.key])} per round`);
    card("Ammunition", "rearm", "rearm", has("rearm"),
      ammoLines.length ? ammoLines.join(" · ") : "Your weapons use energy only.",
      Object.keys(ammo).length ? Object.entries(ammo).map(([k, p]) => `${k} ${fmtCr(p)}`).join(" · ") : "");
    const insurance = m.insurance && typeof m.insurance === "object" ? m.insurance : {};
    const hullKey = this.currentHull();
    const premium = insurance[hullKey];
    const offeredIns = has("insure") || has("insurance") || Object.keys(insurance).length > 0;
    card("Insurance", "insure", "insure", offeredIns,
      "Pays part of your hull's value if it is destroyed. Lapses when you lose the ship.",
      premium !== undefined ? `Premium: ${fmtCr(premium)}` : Object.entries(insurance).map(([k, p]) => `${k} ${fmtCr(p)}`).join(" · "));
    // a bounty on another pilot: paid into escrow, to whoever destroys them
    const name = el("input", { attrs: { id: "bounty-target", type: "text", maxlength: "24", spellcheck: "false",
      autocomplete: "off", placeholder: "pilot name", "data-testid": "bounty-target", "aria-label": "Pilot to put a bounty on" } });
    const amount = el("input", { attrs: { id: "bounty-amount", type: "number", min: "1", step: "1", value: "500",
      "data-testid": "bounty-amount", "aria-label": "Bounty in credits" } });
    const place = this._button("Place bounty", "place-bounty", "sell", () => {
      const who = name.value.trim();
      const cr = Math.floor(Number(amount.value));
      if (!who || !(cr > 0)) {
        this._result("", false, "✗ Name a pilot and an amount of credits for the bounty.", "BAD_FIELD");
        return;
      }
      this.bounty(who, cr);
    });
    grid.appendChild(el("div", { cls: "svc", attrs: { "data-service": "bounty" } },
      el("h4", { text: "Bounty" }),
      el("div", { cls: "sub", text: "Paid to whoever destroys that pilot's ship. Held in escrow until then." }),
      el("div", { cls: "bounty-row" }, name, amount),
      place));
    root.appendChild(grid);
  }

  _hangar(m, services) {
    const root = $("station-hangar");
    const slotBefore = $("station-slot")?.value;
    root.replaceChildren();
    if (!m) {
      root.appendChild(el("p", { cls: "empty-note", text: "Loading…" }));
      return;
    }
    const hulls = Array.isArray(m.hulls) ? m.hulls : [];
    const modules = Array.isArray(m.modules) ? m.modules : [];
    if (!hulls.length && !modules.length) {
      root.appendChild(el("p", { cls: "empty-note",
        text: services.includes("shipyard") ? "The shipyard has nothing for sale." : "No shipyard at this station." }));
      return;
    }
    const current = this.currentHull();
    root.appendChild(el("h3", { text: "Hulls" }));
    if (hulls.length) {
      root.appendChild(priceTable("hulls for sale", [["Hull", false], ["Price", true], ["", false]], hulls.map((h) => {
        const key = String(h.key ?? "");
        const mine = key === current;
        return el("tr", { cls: mine ? "current" : "" },
          el("td", { text: mine ? `${nameOf(h)} (your ship)` : nameOf(h) }),
          el("td", { cls: "n", text: fmtCr(h.price) }),
          el("td", { cls: "act" }, this._button("Buy", `buy-hull-${key}`, "buy", () => this.buyHull(key), {
            disabled: mine, aria: `Buy the ${nameOf(h)} hull` })));
      })));
    } else {
      root.appendChild(el("p", { cls: "empty-note", text: "No hulls for sale here." }));
    }
    root.appendChild(el("h3", { text: "Weapon modules" }));
    if (!modules.length) {
      root.appendChild(el("p", { cls: "empty-note", text: "No weapon modules for sale here." }));
      return;
    }
    const weapons = Array.isArray(this.state.status?.weapons) ? this.state.status.weapons : [];
    const slots = Math.max(weapons.length, 1);
    const select = el("select", { attrs: { id: "station-slot", "data-testid": "module-slot", "aria-label": "Weapon slot" } });
    for (let i = 0; i < slots; i++) {
      const w = weapons[i];
      select.appendChild(el("option", { text: `Slot ${i + 1}: ${w && w.key ? nameOf(w) : "empty"}`, attrs: { value: String(i) } }));
    }
    if (slotBefore !== undefined && Number(slotBefore) < slots) select.value = slotBefore;
    root.appendChild(el("label", { cls: "slot-pick" }, document.createTextNode("Fit into"), select));
    root.appendChild(priceTable("weapon modules for sale", [["Module", false], ["Price", true], ["", false]],
      modules.map((mod) => {
        const key = String(mod.key ?? "");
        return el("tr", {},
          el("td", { text: nameOf(mod) }),
          el("td", { cls: "n", text: fmtCr(mod.price) }),
          el("td", { cls: "act" }, this._button("Fit", `buy-module-${key}`, "buy",
            () => this.buyModule(Number(select.value) || 0, key), { aria: `Buy and fit ${nameOf(mod)}` })));
      })));
  }

  /** A plain summary for tests (window.callister.station()). */
  summary() {
    return {
      open: this.isOpen, tab: this.tab, receipts: this.receipts, last: this.last,
      pending: [...this.pending.keys()],
    };
  }
}
