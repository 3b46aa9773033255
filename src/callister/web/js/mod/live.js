// Live spectating (issue 6): the moderator's own WebSocket with `hello.spectate`, drawn by the
// game client's Net, GameState and Renderer — the same code as the game and the replay viewer.
// The server puts no ship in the world for a spectator; it sends the zone's snapshots centred
// on the followed entity (through its jumps), or on a fixed point when nothing is followed.

import { Net } from "../net.js";
import { Renderer } from "../render.js";
import { GameState } from "../state.js";

const KIND_SHIP = 1;

export class LiveViewer {
  constructor(canvas) {
    this.canvas = canvas;
    this.state = new GameState();
    this.renderer = new Renderer(canvas, this.state);
    this.renderer.zoom = 0.15;
    this.active = false;
    this.follow = 0; // the entity the server centres our snapshots on (0: a fixed point)
    this.camera = null; // the newest `spectating` message
    this.error = null; // the newest refusal: {code, message}
    this.snapshots = 0;
    this.listeners = new Set();
    this.net = new Net({
      welcome: (msg) => {
        this.state.welcome({ ...msg, ship: this.follow });
        this._changed();
      },
      system: (msg) => { this.state.enterSystem(msg); this._changed(); },
      ents: (msg) => { this.state.addNames(msg); this._changed(); },
      snapshot: (snap, view) => {
        this.snapshots += 1;
        this.state.applySnapshot(snap, view, performance.now());
      },
      spectating: (msg) => this._aimed(msg),
      error: (msg) => { this.error = { code: msg.code, message: msg.message }; this._changed(); },
      fatal: (code, message) => { this.error = { code, message }; this.active = false; this._changed(); },
      status: () => this._changed(),
    });
    const loop = (now) => {
      if (this.active && this.canvas.offsetParent !== null) this.renderer.draw(now);
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  onChange(fn) { this.listeners.add(fn); }
  _changed() { for (const fn of this.listeners) fn(this); }

  /** Connect as a spectator following entity `follow` (0: the server picks a system). */
  start(token, follow = 0) {
    this.stop();
    this.error = null;
    this.follow = Number(follow) || 0;
    this.net.helloExtra = { spectate: true };
    if (this.follow) this.net.helloExtra.follow = this.follow;
    this.active = true;
    this.net.start(token);
    this._changed();
  }

  stop() {
    if (!this.active) return;
    this.active = false;
    this.net.stop();
    this._changed();
  }

  /** Follow another entity (0: stop following; the camera stays where it is). */
  setFollow(id) {
    const n = Number(id) || 0;
    this.net.send({ t: "spectate", follow: n || null });
  }

  _aimed(msg) {
    this.camera = msg;
    this.follow = msg.follow ? Number(msg.follow) : 0;
    // the renderer centres on state.ship: the followed entity plays "our ship"
    if (this.state.me) this.state.me = { ...this.state.me, ship: this.follow };
    if (!this.follow && Array.isArray(msg.at)) {
      this.renderer.cam = { x: Number(msg.at[0]) || 0, y: Number(msg.at[1]) || 0 };
    }
    this._changed();
  }

  /** Ships in view: [{id, name, mod}], for the follow list. */
  ships() {
    const out = [];
    for (const [id, track] of this.state.tracks) {
      if (track.last?.kind !== KIND_SHIP) continue;
      const n = this.state.names.get(id);
      out.push({ id, name: n?.name || `ship ${id}`, mod: n?.mod === true });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  summary() {
    return {
      active: this.active,
      status: this.net.status,
      spectating: this.net.welcome?.spectate === true,
      follow: this.follow,
      sector: this.camera?.sector ?? null,
      snapshots: this.snapshots,
      ships: this.ships().map((s) => s.id),
      drawn: this.renderer.frame,
      poses: [...this.renderer.poses.keys()],
      modTags: [...this.renderer.modTags], // ships drawn with the "MOD" tag last frame
      centre: this.renderer.own ? [this.renderer.cam.x, this.renderer.cam.y] : null,
      error: this.error,
    };
  }
}
