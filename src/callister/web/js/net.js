// The WebSocket connection (docs/protocol.md, "WebSocket /ws"): hello, JSON messages, binary
// frames, ping/RTT, a watchdog for a silent server, and reconnecting with backoff. It asks for
// protocol v2 (update frames kept by dead reckoning, no acks, binary controls) and speaks
// whatever `welcome.v` says: v1 (snapshots applied as deltas against the acknowledged view,
// each acknowledged) from a server that speaks only that. It never blocks.

import { applySnapshot, decodeSnapshot } from "./snapshot.js";
import { View2, decodeUpdate, encodeControls } from "./snapshot2.js";

export const PROTOCOL_VERSION = 2; // asked for in hello; `this.version` is what is spoken
const VIEW_HISTORY = 32; // views kept as possible delta bases (the server keeps 32 too)
const PING_EVERY_MS = 2000;
const STALL_AFTER_MS = 2500; // no frame for this long: show "server not responding"
const DEAD_AFTER_MS = 8000; // no frame for this long: drop the socket and reconnect
const CONNECT_TIMEOUT_MS = 10000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10000];

// Close codes that reconnecting cannot fix (docs/protocol.md, "Close codes").
const CLOSE_AUTH_FAILED = 4401;
const CLOSE_BANNED = 4403;
const CLOSE_REPLACED = 4409;
const CLOSE_BAD_HELLO = 4400;
const CLOSE_WORLD_REFUSED = 4404; // hello.world names a world we may not enter
const CLOSE_MOVED = 4410; // our world closed or we moved: `bye.world` says where to go
const CLOSE_FORBIDDEN = 4405; // hello.spectate / moderator_ship from a role that may not

// Messages handed to a handler as they are, without bookkeeping here: type -> handler's name.
const HANDLER_OF = new Map([
  ["ents", "ents"],
  ["event", "event"],
  ["status", "shipStatus"],
  ["fx", "fx"],
  ["market", "market"],
  ["receipt", "receipt"],
  ["crew", "crew"], // issue 4: who is aboard and for hire (crew.js)
  ["chat", "chat"], // issue 4: the ship's chat
  ["invite", "invite"], // issue 8: a captain invites us aboard (aboard.js)
  ["aboard", "aboard"], // issue 8: who is aboard a shared ship, at which station
  // issue 16: missions, the tutorial, rescue (missions.js)
  ...["objectives", "tutorial", "mission", "missions", "standing", "rescue_offers", "rescue", "rescue_call",
    "recall_offer", "recalled", "rationed"].map((t) => [t, "missions"]),
  ["spectating", "spectating"], // issue 6: a moderator's camera (mod/live.js)
  ["party", "party"], // issue 16: our party and where its members are (party.js)
  ["party_invite", "partyInvite"], // issue 16: a player invites us to their party
]);

/**
 * Net: one logical connection that survives socket drops.
 * Status: "offline" | "connecting" | "online" | "stalled" | "reconnecting" | "replaced".
 * Handlers (all optional): welcome(msg), system(msg), ents(msg), event(msg), error(msg),
 * snapshot(snap, view), status(status, detail), fatal(code, message) for auth failures,
 * and for combat and trade: shipStatus(msg) (the `status` message), fx(msg), market(msg),
 * receipt(msg). A handler that throws loses its message, never the connection.
 */
export class Net {
  constructor(handlers = {}) {
    this.h = handlers;
    this.ws = null;
    this.token = null;
    this.status = "offline";
    this.statusDetail = "";
    this.welcome = null;
    this.ship = 0;
    this.views = new Map(); // v1: seq -> Map(id -> record)
    this.version = 1; // welcome.v: the protocol this socket speaks
    this.view2 = new View2(); // v2: the references the updates describe
    this.awaitingResync = false; // v2: a frame did not fit; updates wait for the RESYNC
    this.lastSeq = 0;
    this.rtt = null;
    this.attempt = 0;
    this.lastRx = 0;
    this.lastError = null;
    this.byeReason = "";
    this.world = null; // hello.world: the world to enter (null: the server picks our home)
    this.helloExtra = null; // more hello fields (a moderator's spectate, follow, moderator_ship)
    this.stats = { snapshots: 0, deltas: 0, dropped: 0, bytes: 0, reconnects: 0 };
    this._pingN = 0;
    this._pings = new Map();
    this._timers = [];
    this._retryTimer = null;
    this._wanted = false;
  }

  /** Start (or restart) the connection with this login token. */
  start(token) {
    this.token = token;
    this._wanted = true;
    this.attempt = 0;
    this._open();
  }

  /** Enter another world: reconnect with hello.world (the server moves our presence). */
  switchWorld(name) {
    this.world = name || null;
    this.attempt = 0;
    if (this._wanted) this._open();
  }

  /** Close for good (logout): no reconnecting. */
  stop() {
    this._wanted = false;
    clearTimeout(this._retryTimer);
    this._teardown(1000, "bye");
    this._setStatus("offline", "");
  }

  get online() {
    return this.status === "online" || this.status === "stalled";
  }

  /** Send one message; false when there is no usable socket (the caller may retry). On v2,
   * held controls (`input`) go as the 4-byte binary frame: they act on the ship the session
   * commands, which is the one an honest client names. */
  send(obj) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || (!this.welcome && obj.t !== "hello")) return false;
    try {
      if (this.version === 2 && obj.t === "input") {
        ws.send(encodeControls(Number(obj.thrust) || 0, Number(obj.turn) || 0, !!obj.brake));
        return true;
      }
      ws.send(JSON.stringify(obj));
      return true;
    } catch {
      return false;
    }
  }

  // The 5-byte binary ack (u8 1, u32 seq little-endian): the message a client sends most often,
  // and the cheapest for the server to read.
  sendAck(seq) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.welcome) return false;
    const frame = new DataView(new ArrayBuffer(5));
    frame.setUint8(0, 1);
    frame.setUint32(1, seq >>> 0, true);
    try {
      ws.send(frame.buffer);
      return true;
    } catch {
      return false;
    }
  }

  // ------------------------------------------------------------------ socket life
  _open() {
    clearTimeout(this._retryTimer);
    this._teardown(1000, "reopen");
    this.welcome = null;
    this.views.clear();
    this.version = 1;
    this.view2 = new View2();
    this.awaitingResync = false;
    this.lastSeq = 0;
    this._setStatus(this.attempt ? "reconnecting" : "connecting", this.attempt ? this.statusDetail : "");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(`${scheme}//${location.host}/ws`);
    } catch (err) {
      this._scheduleRetry(`cannot open a socket: ${err}`);
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    const opened = performance.now();
    this.lastRx = opened;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.lastRx = performance.now();
      const hello = { t: "hello", token: this.token, v: PROTOCOL_VERSION };
      if (this.world) hello.world = this.world;
      if (this.helloExtra) Object.assign(hello, this.helloExtra);
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.lastRx = performance.now();
      if (typeof ev.data === "string") this._onText(ev.data);
      else this._onBinary(ev.data);
    };
    ws.onerror = () => { /* onclose follows and decides */ };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this._onClosed(ev.code, ev.reason);
    };
    // ping + watchdog: a silent server (stalled, or a dead TCP path) must not freeze the client
    this._timers.push(setInterval(() => this._tick(ws, opened), 500));
  }

  _tick(ws, opened) {
    if (this.ws !== ws) return;
    const now = performance.now();
    if (!this.welcome) {
      if (now - opened > CONNECT_TIMEOUT_MS) this._drop("connecting timed out");
      return;
    }
    if (now - (this._lastPing || 0) >= PING_EVERY_MS) {
      this._lastPing = now;
      const n = (this._pingN = (this._pingN + 1) >>> 0);
      this._pings.set(n, now);
      if (this._pings.size > 20) this._pings.delete(this._pings.keys().next().value);
      this.send({ t: "ping", n });
    }
    const silent = now - this.lastRx;
    if (silent > DEAD_AFTER_MS) this._drop("server not responding");
    else if (silent > STALL_AFTER_MS) this._setStatus("stalled", "server not responding");
    else if (this.status === "stalled") this._setStatus("online", "");
  }

  /** Abandon the current socket now (without waiting for TCP to notice) and reconnect. */
  _drop(reason) {
    this._teardown(4000, "client gave up");
    this._scheduleRetry(reason);
  }

  _teardown(code, reason) {
    for (const t of this._timers) clearInterval(t);
    this._timers = [];
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(code, reason); } catch { /* already closed */ }
    }
  }

  _onClosed(code, reason) {
    this._teardown(1000, "closed");
    const wasWelcomed = !!this.welcome;
    this.welcome = null;
    if (code === CLOSE_AUTH_FAILED || code === CLOSE_BANNED || code === CLOSE_FORBIDDEN) {
      this._wanted = false;
      const msg = this.lastError?.message ||
        (code === CLOSE_BANNED ? "this account is banned" : "your session expired; log in again");
      this._setStatus("offline", msg);
      this.h.fatal?.(code, msg);
      return;
    }
    if (code === CLOSE_REPLACED) {
      this._wanted = false;
      this._setStatus("replaced", "this pilot connected from another window");
      return;
    }
    if (code === CLOSE_WORLD_REFUSED) this.world = null; // not allowed there: go home
    if (code === CLOSE_MOVED) this.attempt = 0; // the world moved us: reconnect at once
    if (code === CLOSE_BAD_HELLO && this.lastError) {
      // a protocol mismatch will not cure itself quickly: retry, but slowly
      this.attempt = Math.max(this.attempt, BACKOFF_MS.length - 1);
    }
    if (wasWelcomed) this.attempt = 0;
    const why = this.byeReason || (code === 1013 ? "server full" : reason || "");
    this.byeReason = "";
    this._scheduleRetry(why);
  }

  _scheduleRetry(reason) {
    if (!this._wanted) return;
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const delay = base * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    this.stats.reconnects += 1;
    this._setStatus("reconnecting", reason);
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this._wanted && this._open(), delay);
  }

  /** Reconnect immediately (the banner's "retry now" / "play here" button). */
  retryNow() {
    if (!this.token) return;
    this._wanted = true;
    this.attempt = 0;
    this._open();
  }

  _setStatus(status, detail) {
    if (status === this.status && detail === this.statusDetail) return;
    this.status = status;
    this.statusDetail = detail;
    this.h.status?.(status, detail);
  }

  // ------------------------------------------------------------------ frames in
  _onText(text) {
    this.stats.bytes += text.length;
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    if (!msg || typeof msg !== "object") return;
    try {
      this._dispatch(msg);
    } catch (err) {
      console.error(err); // one odd message must not stop the rest
    }
  }

  _dispatch(msg) {
    switch (msg.t) {
      case "welcome":
        this.welcome = msg;
        this.version = Number(msg.v) === 2 ? 2 : 1;
        this.ship = Number(msg.ship);
        this.attempt = 0;
        this.views.clear();
        this._setStatus("online", "");
        this.h.welcome?.(msg);
        break;
      case "system":
        this.views.clear(); // "your view restarts: the next snapshot is full"
        this.h.system?.(msg);
        break;
      case "error":
        this.lastError = msg;
        this.h.error?.(msg);
        break;
      case "pong": {
        const sent = this._pings.get(msg.n);
        if (sent !== undefined) {
          this._pings.delete(msg.n);
          this.rtt = performance.now() - sent;
        }
        this.h.pong?.(msg);
        break;
      }
      case "bye":
        this.byeReason = String(msg.reason || "server closing");
        if ("world" in msg) this.world = msg.world || null; // sent elsewhere: reconnect there
        break;
      default: {
        // the rest go straight to their handler; newer servers may add messages: ignored
        const handler = HANDLER_OF.get(msg.t);
        if (handler) this.h[handler]?.(msg);
        break;
      }
    }
  }

  _onBinary(buffer) {
    this.stats.bytes += buffer.byteLength;
    if (this.version === 2) {
      this._onUpdate(buffer);
      return;
    }
    let snap;
    try {
      snap = decodeSnapshot(buffer);
    } catch (err) {
      this.stats.dropped += 1;
      return;
    }
    let base;
    if (!snap.full) {
      base = this.views.get(snap.baseSeq);
      if (base === undefined) {
        // based on a view we no longer hold (e.g. sent before a system change): skip it; the
        // server keeps basing deltas on what we acknowledged, which we still have
        this.stats.dropped += 1;
        return;
      }
    }
    const view = applySnapshot(base, snap);
    this.views.set(snap.seq, view);
    if (this.views.size > VIEW_HISTORY) {
      for (const seq of this.views.keys()) {
        if (this.views.size <= VIEW_HISTORY) break;
        this.views.delete(seq);
      }
    }
    this.lastSeq = snap.seq;
    this.stats.snapshots += 1;
    if (!snap.full) this.stats.deltas += 1; // the server only sends deltas once we acked
    this.sendAck(snap.seq);
    this.h.snapshot?.(snap, view);
  }

  // v2 (docs/protocol.md, "Keeping the view"): apply every update in order; one that does not
  // fit means our view is wrong, so ask for a RESYNC and ignore updates until it comes. The
  // renderer gets what v1 gave it: each entity in view as a record at the update's tick,
  // predicted from its reference by the protocol's own dead reckoning.
  _onUpdate(buffer) {
    let update;
    try {
      update = decodeUpdate(buffer);
      if (this.awaitingResync && !update.resync) {
        this.stats.dropped += 1;
        return;
      }
      this.view2.apply(update);
      this.awaitingResync = false;
    } catch (err) {
      this.stats.dropped += 1;
      if (!this.awaitingResync) {
        this.awaitingResync = true;
        this.send({ t: "resync" });
      }
      return;
    }
    const tickHz = Number(this.welcome?.tick_hz) || 20;
    const view = new Map();
    for (const id of this.view2.entities.keys()) {
      const p = this.view2.predict(id, update.tick, tickHz);
      view.set(id, { id, x: p.x, y: p.y, vx: p.vx, vy: p.vy, angle: p.angle, kind: p.kind,
        flags: p.flags });
    }
    this.lastSeq = update.seq;
    this.stats.snapshots += 1;
    if (!update.resync) this.stats.deltas += 1; // v2: every update after a RESYNC is a delta
    const snap = { tick: update.tick, seq: update.seq, baseSeq: update.resync ? 0 : update.seq - 1,
      full: update.resync, changed: [...update.added, ...update.updated], removed: update.removed };
    this.h.snapshot?.(snap, view);
  }
}
