// Shared ships: invite a player aboard, accept an invitation, who is aboard and at which
// station, the captain's station assignments, the engineer's power sliders, leaving, and the
// boarding button. Talks only over the protocol: `invite_aboard`, `board`, `assign`,
// `leave_ship`, `power`, `board_attack` out; `invite`, `aboard` and the `view` event in.
// Names are literal text (textContent), never markup.

import { el } from "./util.js";

const STATIONS = ["pilot", "gunner", "engineer", "miner"];

export class AboardPanel {
  /** `send(msg)` sends a message as-is; `ship()` is the ship we act for (the captain's while
   * aboard); `status()` the last status (its target tells whether boarding is possible). */
  constructor({ send, ship, status }) {
    this.send = send;
    this.ship = ship;
    this.status = status;
    this.info = null; // the last `aboard` message
    this.station = null; // our station while aboard another's ship
    this.invites = []; // [{ship, captain}]
    const root = el("section", { attrs: { id: "aboard", class: "panel collapsed-away", "aria-label": "shared ship" } });
    root.append(el("h3", { text: "Aboard" }));
    const form = el("form", { attrs: { id: "aboard-invite" } });
    this.name = el("input", { attrs: {
      maxlength: "24", placeholder: "Invite a player…", autocomplete: "off", "data-testid": "aboard-name",
    } });
    form.append(this.name, el("button", { text: "Invite", attrs: { type: "submit", "data-testid": "aboard-invite" } }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const name = this.name.value.trim();
      if (name) this.send({ t: "invite_aboard", ship: this.ship(), name });
      this.name.value = "";
    });
    this.inviteList = el("ul", { attrs: { id: "aboard-invites", "data-testid": "aboard-invites" } });
    this.list = el("ul", { attrs: { id: "aboard-list", "data-testid": "aboard-list" } });
    this.power = el("div", { attrs: { id: "aboard-power", hidden: "" } });
    this.sliders = {};
    for (const sys of ["engines", "weapons", "shields"]) {
      const s = el("input", {
        attrs: { type: "range", min: "0", max: "100", value: "33", "data-testid": `power-${sys}` },
      });
      const label = el("label", { text: sys });
      label.append(s);
      this.sliders[sys] = s;
      this.power.append(label);
    }
    const apply = el("button", { text: "Set power", attrs: { type: "button", "data-testid": "power-apply" } });
    apply.addEventListener("click", () => this.sendPower());
    this.power.append(apply);
    this.leave = el("button", {
      text: "Leave ship", attrs: { type: "button", hidden: "", "data-testid": "aboard-leave" },
    });
    this.leave.addEventListener("click", () => this.send({ t: "leave_ship", ship: this.ship() }));
    this.boardBtn = el("button", {
      text: "Board target", attrs: { type: "button", disabled: "", "data-testid": "board-attack" },
    });
    this.boardBtn.addEventListener("click", () => {
      const t = this.status()?.target;
      if (t?.id) this.send({ t: "board_attack", ship: this.ship(), target: Number(t.id) });
    });
    root.append(form, this.inviteList, this.list, this.power, this.leave, this.boardBtn);
    // in the right column, under the target panel: the column stacks and scrolls, so no panel
    // covers another (or the station screen, or the flight pad)
    (document.getElementById("hud-right") ?? document.getElementById("hud"))?.append(root);
    this.root = root;
  }

  sendPower() {
    const v = (k) => Number(this.sliders[k].value) / 100;
    this.send({ t: "power", ship: this.ship(), engines: v("engines"), weapons: v("weapons"), shields: v("shields") });
  }

  /** An intent the server would refuse because another member holds its station. */
  blocks(kind) {
    if (!this.station) return false;
    const need = { input: "pilot", fire: "gunner", mine: "miner", power: "engineer" }[kind];
    return need !== undefined && need !== this.station;
  }

  onInvite(msg) {
    this.invites = this.invites.filter((i) => i.ship !== Number(msg.ship));
    this.invites.push({ ship: Number(msg.ship), captain: String(msg.captain ?? "") });
    this.renderInvites();
  }

  renderInvites() {
    this.inviteList.replaceChildren();
    for (const inv of this.invites) {
      const li = el("li", { text: `${inv.captain} invites you aboard ` });
      const b = el("button", { text: "Accept", attrs: { type: "button", "data-testid": `accept-${inv.ship}` } });
      b.addEventListener("click", () => {
        this.send({ t: "board", ship: inv.ship });
        this.invites = this.invites.filter((i) => i !== inv);
        this.renderInvites();
      });
      li.append(b);
      this.inviteList.append(li);
    }
  }

  onAboard(msg) {
    this.info = msg.ship === null ? null : msg;
    this.station = msg.ship === null ? null : msg.station ?? null;
    this.render();
  }

  render() {
    this.list.replaceChildren();
    const info = this.info;
    const captain = info && this.station === null; // the `aboard` of our own ship
    for (const m of info?.members ?? []) {
      const li = el("li", { attrs: { "data-member": String(m.id), "data-station": String(m.station ?? "captain") } });
      li.append(el("span", { text: String(m.name), cls: "who" }));
      li.append(el("span", { text: ` — ${m.station ?? "captain"} (${m.kind})`, cls: "station" }));
      if (captain && m.kind === "human") {
        const sel = el("select", { attrs: { "data-testid": `assign-${m.id}` } });
        for (const s of STATIONS) {
          const o = el("option", { text: s, attrs: { value: s } });
          if (s === m.station) o.selected = true;
          sel.append(o);
        }
        sel.addEventListener("change", () =>
          this.send({ t: "assign", ship: this.ship(), member: m.id, station: sel.value }));
        li.append(sel);
      }
      this.list.append(li);
    }
    this.leave.hidden = this.station === null;
    // the engineer's controls: for the engineer, or the captain while nobody else holds it
    const engineerTaken = (info?.members ?? []).some((m) => m.station === "engineer");
    this.power.hidden = !(this.station === "engineer" || (this.station === null && !engineerTaken && info));
  }

  /** Called with each status: the boarding button is live when the target's shields are down. */
  onStatus(status) {
    const t = status?.target;
    this.boardBtn.disabled = !(t && t.kind === "ship" && !t.gone && Number(t.shield) === 0 && this.station === null);
  }

  snapshot() {
    return {
      station: this.station,
      invites: this.invites.map((i) => ({ ...i })),
      members: (this.info?.members ?? []).map((m) => ({ ...m })),
      ship: this.info?.ship ?? null,
    };
  }
}
