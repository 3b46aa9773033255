// Which HUD layout fits this screen, and the phone's drawer.
//
//   desktop  wide and tall enough for two columns and a bottom row (1280 × 800 and up)
//   compact  the same arrangement, tighter (1024 × 600 and the like)
//   phone    narrower than 760 px or shorter than 500 px: a top bar, the target under it, the
//            stick and the buttons in the bottom corners, everything else in a drawer (☰)
//
// `touch` (the stick and the big buttons instead of the on-screen pad) follows the device: a
// coarse pointer, a touch point, or the first touch on the page; a phone-sized screen always
// gets it. The classes go on #hud; style.css does the rest.

import { $ } from "./util.js";

const PHONE_MAX_W = 760;
const PHONE_MAX_H = 500;
const COMPACT_MAX_W = 1180;
const COMPACT_MAX_H = 700;

/** The layout for a viewport of w × h CSS pixels. */
export function layoutFor(w, h) {
  if (w <= PHONE_MAX_W || h <= PHONE_MAX_H) return "phone";
  if (w <= COMPACT_MAX_W || h <= COMPACT_MAX_H) return "compact";
  return "desktop";
}

function deviceHasTouch() {
  try {
    if (matchMedia("(pointer: coarse)").matches) return true;
  } catch { /* old browsers: fall through */ }
  return (navigator.maxTouchPoints ?? 0) > 0;
}

export class Layout {
  constructor() {
    this.mode = "desktop";
    this.touch = false;
    this.touchSeen = deviceHasTouch();
    this.drawerOpen = false;
    this.listeners = new Set();
    this.hud = $("hud");
    this.menu = $("btn-menu");
    this.menu.addEventListener("click", () => this.setDrawer(!this.drawerOpen));
    // a touch on the view beside the open drawer shuts it
    $("view").addEventListener("pointerdown", () => this.drawerOpen && this.setDrawer(false));
    addEventListener("resize", () => this.apply());
    // a touch on a device that did not say it had a touch screen: show the touch controls
    addEventListener("pointerdown", (e) => {
      if (e.pointerType === "touch" && !this.touchSeen) {
        this.touchSeen = true;
        this.apply();
      }
    }, { capture: true });
    this.apply();
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  apply() {
    const mode = layoutFor(innerWidth, innerHeight);
    const touch = this.touchSeen || mode === "phone";
    if (mode === this.mode && touch === this.touch && this._applied) return;
    this._applied = true;
    this.mode = mode;
    this.touch = touch;
    for (const m of ["desktop", "compact", "phone"]) this.hud.classList.toggle(m, m === mode);
    this.hud.classList.toggle("touch", touch);
    document.body.classList.toggle("touch", touch);
    if (mode !== "phone") this.setDrawer(false);
    // the jump drive's charge bar: in the flight panel, or on a phone (where that panel is
    // taken apart) in the flow of panels under the top bar, so it covers none of them
    const jump = $("hud-jump");
    if (mode === "phone") $("hud-centre").append(jump);
    else $("hud-flight").insertBefore(jump, $("hud-flight").querySelector(".actions"));
    for (const fn of this.listeners) fn(this);
  }

  /** Open or shut the phone's drawer (the right column as a sheet). */
  setDrawer(open) {
    this.drawerOpen = !!open && this.mode === "phone";
    this.hud.classList.toggle("drawer-open", this.drawerOpen);
    this.menu.setAttribute("aria-expanded", String(this.drawerOpen));
    if (this.drawerOpen) this.badge(false);
  }

  /** Something in the drawer wants attention (an invitation, a crew member talking). */
  badge(on) {
    $("btn-menu-badge").hidden = !(on && this.mode === "phone" && !this.drawerOpen);
  }

  snapshot() {
    return { mode: this.mode, touch: this.touch, drawer: this.drawerOpen };
  }
}
