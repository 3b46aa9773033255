// Touch controls: a virtual stick for one thumb, big buttons for the other. They drive the same
// Controls (input.js) as the keyboard, so they send the same `input` messages and hold the same
// trigger; nothing here talks to the server directly.
//
// The stick points where to fly: pushed towards a direction on the screen, the ship turns to
// that heading and thrusts in proportion to how far the stick is pushed (less while it still
// faces away). Released, the controls let go. Every finger is its own pointer, so one thumb
// can steer while the other holds Fire.

const STICK_TRAVEL = 0.38; // of the stick's width: how far the knob moves from the centre
const DEADZONE = 0.14; // of full travel: a resting thumb does nothing
const TURN_GAIN_RAD = 0.6; // heading error that asks for a full turn
const THRUST_FULL_RAD = 0.5; // within this of the heading: full thrust
const THRUST_NONE_RAD = 1.3; // beyond this: turn first, no thrust
const STEER_EVERY_MS = 100; // re-aim while held (the ship turns under the thumb)
const QUANTUM = 0.05; // controls are rounded: fewer `input` messages, same feel

const quant = (v) => Math.round(v / QUANTUM) * QUANTUM;

function wrapAngle(a) {
  let d = a % (2 * Math.PI);
  if (d > Math.PI) d -= 2 * Math.PI;
  if (d < -Math.PI) d += 2 * Math.PI;
  return d;
}

/**
 * The controls a stick deflection asks for: (sx, sy) in [-1, 1] screen units (y down), the
 * ship's heading in radians (counter-clockwise from +x). Returns {thrust, turn} or null inside
 * the dead zone.
 */
export function stickControls(sx, sy, heading) {
  const mag = Math.min(1, Math.hypot(sx, sy));
  if (mag < DEADZONE) return null;
  const want = Math.atan2(-sy, sx); // the screen's y points down, the world's up
  const diff = wrapAngle(want - heading);
  const turn = Math.max(-1, Math.min(1, diff / TURN_GAIN_RAD));
  const align = Math.max(0, Math.min(1, (THRUST_NONE_RAD - Math.abs(diff)) / (THRUST_NONE_RAD - THRUST_FULL_RAD)));
  const power = (mag - DEADZONE) / (1 - DEADZONE);
  return { thrust: quant(Math.max(0, Math.min(1, power * align))), turn: quant(turn) };
}

/** A button acted on when released over it (touch, pen or mouse); keyboard clicks too. */
export function tapButton(btn, fn) {
  btn.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    try { btn.setPointerCapture(e.pointerId); } catch { /* not capturable */ }
    btn.classList.add("held");
  });
  btn.addEventListener("pointerup", (e) => {
    btn.classList.remove("held");
    const r = btn.getBoundingClientRect();
    if (e.clientX >= r.left - 12 && e.clientX <= r.right + 12 && e.clientY >= r.top - 12 && e.clientY <= r.bottom + 12) fn();
  });
  btn.addEventListener("pointercancel", () => btn.classList.remove("held"));
  btn.addEventListener("click", (e) => {
    if (e.detail === 0) fn(); // Enter or Space on a focused button: no pointer involved
  });
  btn.addEventListener("contextmenu", (e) => e.preventDefault());
}

export class TouchControls {
  /**
   * controls: the Controls (input.js); heading(): our ship's heading in radians or null;
   * onAction(name): dock / target / sysmap / galaxy / station.
   */
  constructor(root, { controls, heading, onAction }) {
    this.controls = controls;
    this.heading = heading;
    this.stick = root.querySelector("#stick");
    this.knob = root.querySelector("#stick-knob");
    this.pointer = null; // the finger on the stick
    this.deflection = [0, 0];
    this.timer = null;
    this.stats = { inputs: 0 };
    this._bindStick();
    controls.bindPad(root); // the brake button: data-ctl="brake", held like the pad's
    controls.bindTrigger(root.querySelector("#btn-t-fire"), "touch");
    for (const [id, action] of [["btn-t-dock", "dock"], ["btn-t-target", "target"], ["btn-t-map", "sysmap"],
      ["btn-t-jump", "galaxy"], ["btn-t-station", "station"]]) {
      const btn = root.querySelector(`#${id}`);
      if (btn) tapButton(btn, () => onAction(action));
    }
  }

  _bindStick() {
    const s = this.stick;
    const move = (e) => {
      const r = s.getBoundingClientRect();
      const travel = r.width * STICK_TRAVEL;
      let dx = (e.clientX - (r.left + r.width / 2)) / travel;
      let dy = (e.clientY - (r.top + r.height / 2)) / travel;
      const m = Math.hypot(dx, dy);
      if (m > 1) {
        dx /= m;
        dy /= m;
      }
      this.deflection = [dx, dy];
      this.knob.style.transform = `translate(${(dx * travel).toFixed(1)}px, ${(dy * travel).toFixed(1)}px)`;
      this._steer();
    };
    s.addEventListener("pointerdown", (e) => {
      if (this.pointer !== null) return;
      e.preventDefault();
      this.pointer = e.pointerId;
      try { s.setPointerCapture(e.pointerId); } catch { /* not capturable */ }
      s.classList.add("held");
      move(e);
      clearInterval(this.timer);
      this.timer = setInterval(() => this._steer(), STEER_EVERY_MS);
    });
    s.addEventListener("pointermove", (e) => {
      if (e.pointerId === this.pointer) move(e);
    });
    const up = (e) => {
      if (e.pointerId !== this.pointer) return;
      this.release();
    };
    s.addEventListener("pointerup", up);
    s.addEventListener("pointercancel", up);
    s.addEventListener("lostpointercapture", up);
    s.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  /** Let go of the stick (its finger lifted, or the game lost focus). */
  release() {
    this.pointer = null;
    clearInterval(this.timer);
    this.timer = null;
    this.deflection = [0, 0];
    this.stick.classList.remove("held");
    this.knob.style.transform = "";
    this.controls.setAnalog(null);
  }

  _steer() {
    if (this.pointer === null) return;
    const heading = this.heading();
    const c = heading === null ? null : stickControls(this.deflection[0], this.deflection[1], heading);
    this.controls.setAnalog(c);
  }

  snapshot() {
    return { held: this.pointer !== null, deflection: [...this.deflection], analog: this.controls.analog };
  }
}
