// Keyboard and mouse controls. Held flight controls become `input` messages: sent when they
// change and re-sent every 250 ms while any is held, so one lost or late message cannot leave
// the ship thrusting or stuck. Other keys are actions (dock, maps, zoom) handed to main.js.

const RESEND_MS = 250;

// by physical key (event.code), so WASD works on any keyboard layout
const FLIGHT_KEYS = {
  KeyW: "thrust", ArrowUp: "thrust",
  KeyS: "brake", ArrowDown: "brake",
  KeyA: "left", ArrowLeft: "left",
  KeyD: "right", ArrowRight: "right",
};

const ACTION_KEYS = {
  KeyF: "dock", KeyJ: "galaxy", KeyM: "sysmap", Escape: "close",
  Equal: "zoomIn", NumpadAdd: "zoomIn", Minus: "zoomOut", NumpadSubtract: "zoomOut",
};

export class Controls {
  /**
   * send(controls) sends {thrust, turn, brake}; returns false when it could not be sent.
   * enabled() says whether flight keys apply now (in game, no text field focused).
   * onAction(name) receives dock/galaxy/sysmap/close/zoomIn/zoomOut.
   */
  constructor({ send, enabled, onAction, onHeldChange }) {
    this.sendFn = send;
    this.enabled = enabled;
    this.onAction = onAction;
    this.onHeldChange = onHeldChange;
    this.keys = new Set(); // held control names from the keyboard
    this.pad = new Set(); // held control names from the on-screen pad
    this.lastSent = null;
    this.lastSentAt = 0;
    this.pendingResend = false;

    addEventListener("keydown", (e) => this._key(e, true));
    addEventListener("keyup", (e) => this._key(e, false));
    addEventListener("blur", () => this.releaseAll());
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) this.releaseAll();
    });
    setInterval(() => this._heartbeat(), RESEND_MS / 2);
  }

  /** Wire the on-screen pad buttons (data-ctl="thrust|left|right|brake"). */
  bindPad(root) {
    for (const btn of root.querySelectorAll("[data-ctl]")) {
      const ctl = btn.dataset.ctl;
      const down = (e) => {
        e.preventDefault();
        try { btn.setPointerCapture(e.pointerId); } catch { /* not capturable */ }
        this.pad.add(ctl);
        btn.classList.add("held");
        this._update();
      };
      const up = () => {
        if (!this.pad.delete(ctl)) return;
        btn.classList.remove("held");
        this._update();
      };
      btn.addEventListener("pointerdown", down);
      btn.addEventListener("pointerup", up);
      btn.addEventListener("pointercancel", up);
      btn.addEventListener("lostpointercapture", up);
      btn.addEventListener("contextmenu", (e) => e.preventDefault());
    }
  }

  held() {
    return new Set([...this.keys, ...this.pad]);
  }

  /** The controls the held keys and buttons ask for. */
  controls() {
    const held = this.held();
    const turn = (held.has("left") ? 1 : 0) - (held.has("right") ? 1 : 0); // + = counter-clockwise
    return { thrust: held.has("thrust") ? 1 : 0, turn, brake: held.has("brake") };
  }

  releaseAll() {
    if (!this.keys.size && !this.pad.size) return;
    this.keys.clear();
    this.pad.clear();
    for (const b of document.querySelectorAll("[data-ctl].held")) b.classList.remove("held");
    this._update();
  }

  /** Forget what was sent (after a reconnect or a system change) so the next state goes out. */
  resync() {
    this.lastSent = null;
    this._update();
  }

  _key(e, down) {
    const target = e.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;
    if (!this.enabled()) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const ctl = FLIGHT_KEYS[e.code];
    if (ctl) {
      e.preventDefault();
      if (down) {
        if (this.keys.has(ctl)) return; // auto-repeat
        this.keys.add(ctl);
      } else if (!this.keys.delete(ctl)) {
        return;
      }
      this._update();
      return;
    }
    const action = ACTION_KEYS[e.code] || (e.key === "+" ? "zoomIn" : null);
    if (action && down && !e.repeat) {
      e.preventDefault();
      this.onAction(action);
    }
  }

  _update() {
    const c = this.controls();
    this.onHeldChange?.(c);
    const same = this.lastSent && this.lastSent.thrust === c.thrust &&
      this.lastSent.turn === c.turn && this.lastSent.brake === c.brake;
    if (!same) this._send(c);
  }

  _heartbeat() {
    const c = this.controls();
    const active = c.thrust !== 0 || c.turn !== 0 || c.brake;
    const now = performance.now();
    // re-send held controls; also retry a release that could not be sent
    if ((active || this.pendingResend) && now - this.lastSentAt >= RESEND_MS) this._send(c);
  }

  _send(c) {
    const ok = this.sendFn(c);
    this.lastSentAt = performance.now();
    this.pendingResend = !ok;
    if (ok) this.lastSent = c;
  }
}
