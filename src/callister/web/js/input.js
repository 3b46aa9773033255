// Keyboard, mouse and (through touch.js) touch controls. Held flight controls become `input` messages: sent when they
// change and re-sent every 250 ms while any is held, so one lost or late message cannot leave
// the ship thrusting or stuck. Other keys are actions (dock, maps, zoom, weapons, target, loot,
// mining, distress, station) handed to main.js. The trigger (Space, or the left mouse button
// held on empty space in the view) is a held state main.js reads; clicking a ship or a wreck in
// the view locks it as the target instead.

const RESEND_MS = 250;

// by physical key (event.code), so WASD works on any keyboard layout
const FLIGHT_KEYS = {
  KeyW: "thrust", ArrowUp: "thrust",
  KeyS: "brake", ArrowDown: "brake",
  KeyA: "left", ArrowLeft: "left",
  KeyD: "right", ArrowRight: "right",
};

const ACTION_KEYS = {
  KeyF: "dock", KeyJ: "galaxy", KeyN: "sysmap", Escape: "close", KeyB: "station",
  Equal: "zoomIn", NumpadAdd: "zoomIn", Minus: "zoomOut", NumpadSubtract: "zoomOut",
  Digit1: "slot1", Digit2: "slot2", Digit3: "slot3", Digit4: "slot4", Digit0: "slotAll",
  Numpad1: "slot1", Numpad2: "slot2", Numpad3: "slot3", Numpad4: "slot4", Numpad0: "slotAll",
  KeyT: "target", KeyL: "loot", KeyM: "mine", KeyH: "distress", KeyU: "mute",
  KeyC: "cruise", KeyG: "flyTarget", KeyX: "autopilotOff", // travel (travel.js)
};

// keys a focused button, select or link must keep (Space/Enter press it; arrows move in a list)
const CONTROL_KEYS = new Set(["Space", "Enter", "NumpadEnter", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"]);

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
    this.analog = null; // {thrust, turn} from the touch stick (touch.js), or null
    this.trigger = new Set(); // what holds the trigger: "key", "mouse", "button", "touch"
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

  /** The controls the held keys and buttons ask for (a held key beats the stick on its axis). */
  controls() {
    const held = this.held();
    let turn = (held.has("left") ? 1 : 0) - (held.has("right") ? 1 : 0); // + = counter-clockwise
    let thrust = held.has("thrust") ? 1 : 0;
    const brake = held.has("brake");
    if (this.analog) {
      if (!turn) turn = this.analog.turn;
      if (!thrust && !brake) thrust = this.analog.thrust;
    }
    return { thrust, turn, brake };
  }

  /** The touch stick's {thrust, turn} (null: released); sent like a key change. */
  setAnalog(c) {
    this.analog = c ? { thrust: c.thrust, turn: c.turn } : null;
    this._update();
  }

  /** Whether the trigger is held (Space, the mouse on the view, or the Fire button). */
  get firing() {
    return this.trigger.size > 0;
  }

  /**
   * The view: a left click on a ship or wreck (pick(x, y) -> id) targets it; a left press
   * elsewhere holds the trigger until released. A right click only targets; so does a touch.
   */
  bindView(canvas, pick) {
    const up = () => this.trigger.delete("mouse");
    canvas.addEventListener("pointerdown", (e) => {
      if (!this.enabled()) return;
      const r = canvas.getBoundingClientRect();
      const id = pick(e.clientX - r.left, e.clientY - r.top);
      if (e.button === 2 || id) {
        this.onAction("pick", id);
        return;
      }
      // a finger on the view picks a target (or pinches the zoom); firing is the Fire button's
      if (e.pointerType === "touch") return;
      if (e.button !== 0) return;
      try { canvas.setPointerCapture(e.pointerId); } catch { /* not capturable */ }
      this.trigger.add("mouse");
    });
    canvas.addEventListener("pointerup", up);
    canvas.addEventListener("pointercancel", up);
    canvas.addEventListener("lostpointercapture", up);
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  /** A button that holds the trigger while pressed (`source` names it in `trigger`). */
  bindTrigger(btn, source = "button") {
    const up = () => {
      this.trigger.delete(source);
      btn.classList.remove("held");
    };
    btn.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      try { btn.setPointerCapture(e.pointerId); } catch { /* not capturable */ }
      this.trigger.add(source);
      btn.classList.add("held");
    });
    btn.addEventListener("pointerup", up);
    btn.addEventListener("pointercancel", up);
    btn.addEventListener("lostpointercapture", up);
    btn.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  releaseAll() {
    this.trigger.clear();
    this.onRelease?.();
    if (!this.keys.size && !this.pad.size && !this.analog) return;
    this.keys.clear();
    this.pad.clear();
    this.analog = null;
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
    const tag = target?.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      if (e.code === "Escape" && down) this.onAction("close");
      return;
    }
    // a focused control (keyboard users in the station screen) keeps Space, Enter and arrows
    const focusedControl = (tag === "BUTTON" || tag === "A") && target.closest?.(".overlay, #death-screen, [role=tablist]");
    if (focusedControl && CONTROL_KEYS.has(e.code)) return;
    if (!this.enabled()) return;
    if (e.code === "Space") {
      e.preventDefault(); // no page scroll, no button press
      if (!down) this.trigger.delete("key");
      else if (!(e.ctrlKey || e.metaKey || e.altKey)) this.trigger.add("key");
      return;
    }
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
      this.onAction(action, e.shiftKey);
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
