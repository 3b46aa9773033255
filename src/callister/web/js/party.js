// Parties (issue 16): a small HUD list of the party's members (online, where they are, how far,
// a Fly button for those in this system), inviting by name, answering invitations, leaving,
// and an invite link that starts a friend at your home station. The members are drawn on the
// system map (their ships, even beyond sensor range) and on the galaxy map (their systems).
// Talks only over the protocol (`party_invite`, `party_accept`, `party_decline`, `party_leave`
// out; `party`, `party_invite` in) and `POST /api/invites`. Names are literal text.

import { $, el, fmtDistance, secKey, secLabel } from "./util.js";

const PARTY = "#8cffb8";

export class PartyPanel {
  /**
   * send(msg) sends as-is; api: {createInvite()}; state: the GameState; flyTo(dest) asks the
   * autopilot (travel.js); systemName([x, y]) names a sector when the galaxy map knows it.
   */
  constructor({ send, api, state, flyTo, systemName, notify }) {
    this.send = send;
    this.api = api;
    this.state = state;
    this.flyTo = flyTo;
    this.systemName = systemName;
    this.notify = notify;
    this.info = null; // the last `party` message
    this.invites = []; // [{from, name, party, members, until}]
    this.link = null; // the last invite link made: {url, code, expires_at}
    this._sig = "";
    this.drawn = { system: [], galaxy: [] }; // what the maps drew last (tests)
    const root = el("section", { attrs: { id: "party", class: "panel collapsed-away", "aria-label": "party" } });
    root.append(el("h3", { text: "Party" }));
    this.inviteList = el("ul", { attrs: { id: "party-invites", "data-testid": "party-invites" } });
    this.list = el("ul", { attrs: { id: "party-list", "data-testid": "party-list" } });
    const form = el("form", { attrs: { id: "party-invite" } });
    this.name = el("input", { attrs: { maxlength: "24", placeholder: "Invite a player…", autocomplete: "off",
      "data-testid": "party-name", "aria-label": "Invite a player to your party" } });
    form.append(this.name, el("button", { text: "Invite", attrs: { type: "submit", "data-testid": "party-invite" } }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const name = this.name.value.trim();
      if (name && this.send({ t: "party_invite", name })) this.notify(`Party invitation sent to ${name}`, "");
      this.name.value = "";
    });
    this.linkBtn = el("button", { text: "Invite link", attrs: { type: "button", "data-testid": "party-link",
      title: "A link that starts a friend at your home station" } });
    this.linkBtn.addEventListener("click", () => this.makeLink());
    this.linkOut = el("input", { attrs: { readonly: "", hidden: "", "data-testid": "party-link-url",
      "aria-label": "Invite link" } });
    this.leaveBtn = el("button", { text: "Leave party", attrs: { type: "button", hidden: "", "data-testid": "party-leave" } });
    this.leaveBtn.addEventListener("click", () => this.send({ t: "party_leave" }));
    const row = el("div", { cls: "row small" }, this.linkBtn, this.leaveBtn);
    root.append(this.inviteList, this.list, form, row, this.linkOut);
    (document.getElementById("hud-right") ?? document.getElementById("hud"))?.append(root);
    this.root = root;
  }

  /** Members as the maps and the travel list want them. */
  members() {
    return (this.info?.members ?? []).filter((m) => Number(m.id) !== Number(this.state.me?.account));
  }

  get inParty() {
    return this.info?.party !== null && this.info?.party !== undefined;
  }

  onParty(msg) {
    const was = this.inParty;
    this.info = msg;
    if (!was && this.inParty) this.notify(`You are in a party: ${msg.members.map((m) => m.name).join(", ")}`, "good");
    if (was && !this.inParty) this.notify("Your party has ended", "warn");
    this.render();
  }

  onInvite(msg) {
    const from = Number(msg.from);
    this.invites = this.invites.filter((i) => i.from !== from);
    const until = performance.now() + (Number(msg.expires_in_s) || 120) * 1000;
    this.invites.push({ from, name: String(msg.name ?? from), members: msg.members ?? [], until });
    this.notify(`${msg.name} invites you to a party`, "good");
    this.render();
  }

  answer(from, yes) {
    this.send({ t: yes ? "party_accept" : "party_decline", from });
    this.invites = this.invites.filter((i) => i.from !== from);
    this.render();
  }

  async makeLink() {
    try {
      const made = await this.api.createInvite();
      const url = new URL(made.link, location.href).href;
      this.link = { url, code: made.code, expires_at: made.expires_at };
      this.linkOut.hidden = false;
      this.linkOut.value = url; // not focused: the flight keys keep working
      this.linkOut.addEventListener("focus", () => this.linkOut.select(), { once: true });
      try {
        await navigator.clipboard.writeText(url);
        this.notify("Invite link copied: a friend who registers with it starts at your home station", "good");
      } catch {
        this.notify("Invite link made: copy it from the party panel", "good");
      }
    } catch (e) {
      this.notify(`No invite link: ${e.message || e}`, "bad");
    }
  }

  /** Whether the panel has something to show (panels.js opens it then). */
  relevant() {
    const now = performance.now();
    this.invites = this.invites.filter((i) => i.until > now);
    return this.inParty || this.invites.length > 0;
  }

  render() {
    const st = this.state;
    const own = st.ownRecord();
    const here = st.sector ? secKey(st.sector[0], st.sector[1]) : "";
    const members = this.info?.members ?? [];
    const sig = JSON.stringify([members.map((m) => [m.id, m.online, m.system, Math.round((m.x ?? 0) / 200),
      Math.round((m.y ?? 0) / 200), m.docked]), this.invites.map((i) => i.from), here, this.info?.leader,
    own ? [Math.round(own.x / 200), Math.round(own.y / 200)] : null]);
    if (sig === this._sig) return;
    this._sig = sig;
    this.inviteList.replaceChildren(...this.invites.map((i) => {
      const yes = el("button", { text: "Join", attrs: { type: "button", "data-testid": `party-accept-${i.from}` } });
      const no = el("button", { text: "No", attrs: { type: "button", "data-testid": `party-decline-${i.from}` } });
      yes.addEventListener("click", () => this.answer(i.from, true));
      no.addEventListener("click", () => this.answer(i.from, false));
      return el("li", { cls: "invite" }, el("span", { text: `${i.name} invites you` }), yes, no);
    }));
    this.list.replaceChildren(...members.map((m) => {
      const me = Number(m.id) === Number(st.me?.account);
      const sameSystem = m.system && secKey(m.system[0], m.system[1]) === here;
      let where = "offline";
      if (m.online || m.system) {
        if (!m.system) where = "between systems";
        else if (sameSystem) {
          where = m.docked !== null && m.docked !== undefined ? "docked here"
            : own && m.x !== null ? fmtDistance(Math.hypot(m.x - own.x, m.y - own.y)) : "here";
        } else where = this.systemName?.(m.system) || `sector ${secLabel(m.system[0], m.system[1])}`;
        if (!m.online) where += " (away)";
      }
      const li = el("li", { cls: m.online ? "online" : "offline" },
        el("span", { cls: "dot", text: "●" }),
        el("b", { text: `${m.name}${Number(m.id) === Number(this.info?.leader) ? " ★" : ""}${me ? " (you)" : ""}` }),
        el("span", { cls: "where", text: where }));
      li.dataset.member = String(m.id);
      if (!me && sameSystem && m.ship && (m.docked === null || m.docked === undefined)) {
        const fly = el("button", { text: "Fly", attrs: { type: "button", "data-testid": `party-fly-${m.id}`,
          title: `Autopilot: follow ${m.name}` } });
        fly.addEventListener("click", () => this.flyTo({ kind: "ship", id: Number(m.ship), name: m.name,
          x: m.x, y: m.y }));
        li.append(fly);
      }
      return li;
    }));
    this.leaveBtn.hidden = !this.inParty;
  }

  // ------------------------------------------------------------------ the maps
  /** System map layer: party members in this system, by their reported positions. */
  drawSystem(ctx, X, Y, scale, text) {
    const st = this.state;
    const here = st.sector ? secKey(st.sector[0], st.sector[1]) : "";
    this.drawn.system = [];
    for (const m of this.members()) {
      if (!m.system || secKey(m.system[0], m.system[1]) !== here || m.x === null) continue;
      this.drawn.system.push(m.name);
      const px = X(m.x);
      const py = Y(m.y);
      ctx.beginPath();
      ctx.arc(px, py, 6, 0, Math.PI * 2);
      ctx.strokeStyle = PARTY;
      ctx.lineWidth = 2;
      ctx.stroke();
      text(ctx, `◆ ${m.name}`, px, py + 18, PARTY, 11, true);
    }
  }

  /** Galaxy map layer: a ring and the names at each member's system. */
  drawGalaxy(ctx, pos, text, nowMs) {
    const by = new Map();
    for (const m of this.members()) {
      if (!m.system) continue;
      const k = secKey(m.system[0], m.system[1]);
      if (!by.has(k)) by.set(k, { system: m.system, names: [] });
      by.get(k).names.push(m.name);
    }
    const pulse = 0.5 + 0.5 * Math.sin(nowMs / 400);
    this.drawn.galaxy = [];
    for (const { system, names } of by.values()) {
      this.drawn.galaxy.push(...names);
      const known = this.systemSummary?.(system);
      const [px, py] = pos(known ?? { x: system[0], y: system[1] });
      ctx.beginPath();
      ctx.arc(px, py, 13 + pulse * 2, 0, Math.PI * 2);
      ctx.strokeStyle = PARTY;
      ctx.lineWidth = 2;
      ctx.stroke();
      text(ctx, names.join(", "), px, py - 18, PARTY, 11, true);
    }
  }

  /** For tests: {party, leader, members: [{name, online, system, x, y}], invites: [name]}. */
  snapshot() {
    return {
      party: this.info?.party ?? null,
      leader: this.info?.leader ?? null,
      members: (this.info?.members ?? []).map((m) => ({ id: m.id, name: m.name, online: m.online,
        system: m.system, x: m.x, y: m.y, docked: m.docked, ship: m.ship })),
      invites: this.invites.map((i) => i.name),
      link: this.link?.url ?? null,
      open: !this.root.classList.contains("collapsed-away"),
      drawn: { system: [...this.drawn.system], galaxy: [...this.drawn.galaxy] },
    };
  }
}
