// Entry point: the login screen, then the game (connection, state, view, HUD, maps, controls,
// weapons, station screen), one animation loop, and the `window.callister` debug hook that
// browser tests read.

import { api, session } from "./api.js";
import {
  LOOT_MAX_SPEED, LOOT_RANGE, MINING_MAX_SPEED, MINING_RANGE, Weapons, aimAt, nextTarget, slotBlock,
} from "./combat.js";
import { Sound } from "./audio.js";
import { Effects } from "./fx.js";
import { Layout } from "./layout.js";
import { galaxyPos } from "./maps.js";
import { OptionalPanel } from "./panels.js";
import { TouchControls } from "./touch.js";
import { Hud } from "./hud.js";
import { CrewPanel } from "./crew.js";
import { AboardPanel } from "./aboard.js";
import { WorldsPanel } from "./worlds.js";
import { Controls } from "./input.js";
import { GalaxyMap, SystemMap } from "./maps.js";
import { Net } from "./net.js";
import { Renderer } from "./render.js";
import { F_MINING, F_THRUSTING, KIND_SHIP, KIND_WRECK } from "./snapshot.js";
import { GameState } from "./state.js";
import { StationScreen } from "./station.js";
import { installReport } from "./report.js";
import { Travel } from "./travel.js";
import { PartyPanel } from "./party.js";
import { $, el, fmtDistance, secKey, secLabel, secStr } from "./util.js";
import { MissionsPanel } from "./missions.js";

const state = new GameState();
const weapons = new Weapons();
const effects = new Effects();
const sound = new Sound();
let hud = null;
let station = null;
let crew = null; // the crew panel (crew.js)
let aboard = null; // shared ships (aboard.js)
let travel = null; // autopilot, cruise, the fuel outlook (travel.js)
let party = null; // the party (party.js)
let missions = null; // objectives, tutorial, mission board, rescue (missions.js)
let inGame = false;

// error codes of a refused shot: the shot started no cooldown
const FIRE_CODES = new Set([
  "COOLDOWN", "OUT_OF_RANGE", "NO_AMMO", "NO_ENERGY", "NO_LINE_OF_FIRE", "NO_TARGET", "BAD_SLOT",
  "PVP_OFF",
]);
const MINING_STOPPED = {
  range: "out of range of the rock", speed: "flying too fast", cargo_full: "the hold is full",
  depleted: "the field is depleted", docked: "docked",
};
const TARGET_LOST_MS = 3000; // a locked target out of view this long is let go
const DISTRESS_EVERY_MS = 30000; // the server refuses a repeat sooner (distress_every_s)

const worlds = new WorldsPanel((name) => net.switchWorld(name));
const net = new Net({
  welcome(msg) {
    worlds.welcome(msg);
    // a reconnect while dead may bring the new ship without a `respawned`: follow the id
    const missedRespawn = state.dead && !state.dead.respawned && Number(msg.ship) !== state.dead.ship;
    state.welcome(msg);
    weapons.setContent(msg.content);
    if (missedRespawn) respawned(msg.ship, 0);
    controls.resync();
    if (state.target) sendTarget(); // the server forgot it with the old socket
    station.resendPending(); // same rids: answered, never charged twice
  },
  system(msg) {
    state.enterSystem(msg);
    travel?.onSystem(msg);
    effects.clear();
    if (state.target) setTarget(0);
    miningAsked = null;
    controls.resync();
    $("sysmap-title").textContent = state.system?.name ?? "";
    if (!$("galaxy").hidden) galaxy.load();
    else {
      galaxy.renderJumpList();
      // the links' names for the edge markers, once the arrival's rush is over
      const here = state.sector?.join(",");
      setTimeout(() => {
        if ($("galaxy").hidden && state.sector?.join(",") === here) galaxy.load().catch(() => {});
      }, 1500);
    }
  },
  ents: (msg) => state.addNames(msg),
  event: onEvent,
  error: onError,
  snapshot: (snap, view) => state.applySnapshot(snap, view, performance.now()),
  shipStatus(delta) {
    const now = performance.now();
    // a delta status carries only what changed since the last one: merge it
    const msg = delta.delta && state.status ? { ...state.status, ...delta, delta: false } : delta;
    // the status names our ship: a respawn we did not hear about still gets followed
    if (msg.ship !== undefined && state.me && Number(msg.ship) > 0 && Number(msg.ship) !== state.ship) {
      if (state.dead && !state.dead.respawned) respawned(msg.ship, 0);
      else return; // a status of a ship we left (sent before the switch): ignore it
    }
    state.setStatus(msg, now);
    aboard?.onStatus(msg);
    weapons.update(msg, now);
    if (msg.mining !== null && msg.mining !== undefined) miningAsked = null;
    if (msg.target && msg.target.gone && Number(msg.target.id) === state.target) setTarget(0);
  },
  fx(msg) {
    // `fx` happened at the server's present; the view is ~100 ms behind: hold the effects back
    const c = state.clock;
    const delayMs = c.delay === null ? 100 : (c.delay / c.tickHz) * 1000;
    effects.add(msg, performance.now(), delayMs, state.ship);
    setTimeout(() => playFx(msg), Math.min(250, Math.max(0, delayMs))); // heard when it is seen
    // the locked target blew up: let go of it (its wreck can be targeted next)
    if (state.target && Array.isArray(msg.fx) && msg.fx.some((f) => f?.k === "boom" && Number(f.ship) === state.target)) {
      setTarget(0);
    }
  },
  crew: (msg) => crew?.onCrew(msg),
  invite: (msg) => aboard?.onInvite(msg),
  party: (msg) => party?.onParty(msg),
  partyInvite: (msg) => party?.onInvite(msg),
  aboard: (msg) => aboard?.onAboard(msg),
  chat: (msg) => crew?.onChat(msg),
  missions: (msg) => missions?.onMessage(msg),
  market(msg) {
    state.setMarket(msg, performance.now());
    station.onMarket(msg);
  },
  receipt(msg) {
    if (!station.onReceipt(msg) && msg.ok === false) hud.error(String(msg.message || "request refused"));
  },
  status(status, detail) {
    if (!hud) return;
    if (status === "reconnecting") {
      const what = state.me ? "Connection lost — reconnecting…" : "Cannot reach the server — retrying…";
      hud.banner(`${what}${detail ? ` (${detail})` : ""}`, { label: "Retry now", fn: () => net.retryNow() });
    } else if (status === "stalled") {
      hud.banner("Server not responding — waiting…");
    } else if (status === "replaced") {
      hud.banner("This pilot is now flying in another window.", { label: "Play here", fn: () => net.retryNow() });
    } else if (status === "connecting" && !state.me) {
      hud.banner("");
    } else if (status === "online") {
      hud.banner("");
    }
  },
  fatal(code, message) {
    session.clear();
    showLogin(message);
  },
});

// ---------------------------------------------------------------------------- events, errors
function onEvent(msg) {
  if (worlds.event(msg)) return;
  if (travel?.onEvent(msg)) return;
  const now = performance.now();
  switch (msg.kind) {
    case "destroyed":
      if (msg.ship !== undefined && state.ship && Number(msg.ship) !== state.ship && !state.dead) break;
      state.destroyed(msg.by, now);
      controls.releaseAll();
      station.close();
      weapons.reset();
      miningAsked = null;
      hud.showDeath(msg.by ?? null);
      hud.log(msg.by ? `Destroyed by ${msg.by}` : "Your ship was destroyed", "bad");
      return;
    case "view": // aboard another's ship (or back on ours): act for and watch that ship
      viewShip(msg.ship);
      return;
    case "respawned":
      respawned(msg.ship, Number(msg.insurance) || 0);
      return;
    case "crime": {
      const secs = Number(msg.seconds);
      const text = Number.isFinite(secs) && secs > 0
        ? `Crime! You are a criminal for ${Math.round(secs / 60)} min — lawful stations will fire on you`
        : "Crime! You are flagged criminal — lawful stations will fire on you";
      hud.log(text, "bad"); // the warnings row and the ship panel show the timer
      return;
    }
    case "mined": {
      const qty = Number(msg.qty) || 0;
      const ore = String(msg.ore ?? "ore");
      hud.minedTotals.set(ore, (hud.minedTotals.get(ore) ?? 0) + qty);
      hud.logMerge(`mined:${ore}`, (total) => `Mined +${total} ${ore.replace(/_/g, " ")}`, qty, "good");
      return;
    }
    case "looted": {
      const text = describeItems(msg.items);
      hud.log(text ? `Looted: ${text}` : "The wreck held nothing you could take", text ? "good" : "warn");
      lastLooted = { items: msg.items ?? null, wreck: msg.wreck ?? null, at: Date.now() };
      return;
    }
    case "fuel_empty":
      hud.log("Fuel tank empty — drifting. H calls for help.", "bad");
      hud.error("Fuel tank empty — thrust and brakes are dead");
      return;
    case "distress": {
      if (String(msg.from ?? "") === state.me?.name) return; // our own call: logged when sent
      const call = state.addDistress(msg, now);
      if (!call) return;
      const own = state.ownRecord();
      const where = own ? ` · ${fmtDistance(Math.hypot(call.x - own.x, call.y - own.y))} away` : "";
      hud.log(`SOS from ${call.from}${where}`, "sos");
      return;
    }
    case "mining_stopped": {
      miningAsked = null;
      const why = MINING_STOPPED[msg.reason] ?? String(msg.reason ?? "");
      hud.log(`Mining stopped${why ? `: ${why}` : ""}`, "warn");
      return;
    }
    case "bounty":
      hud.log(`Bounty collected: ${Number(msg.amount) || 0} cr`, "good");
      return;
    case "frozen": // a game master stopped this system (issue 18)
      controls.releaseAll();
      hud.log("A game master froze this system: nothing moves until it is unfrozen", "warn");
      hud.error("System frozen by a game master");
      return;
    case "unfrozen":
      hud.log("The game master unfroze this system", "good");
      return;
    default:
      break;
  }
  state.event(msg, now);
  if (Number(msg.ship) !== state.ship) return;
  if (msg.kind === "docked") sound.dock(false);
  if (msg.kind === "undocked") {
    sound.dock(true);
    controls.resync();
  }
  if (msg.kind === "jump_charging" && state.jump) {
    state.jump.name = galaxy.systems.get(secKey(...state.jump.to))?.name;
  }
  if (msg.kind === "collided") hud.error(`Collision with ${msg.what} at ${Math.round(msg.speed)} m/s`);
}

function viewShip(ship) {
  if (!state.me || Number(ship) === state.ship) return;
  state.me = { ...state.me, ship: Number(ship) };
  net.ship = Number(ship);
  weapons.reset();
  controls.resync();
}

function respawned(ship, insurance) {
  const now = performance.now();
  if (Number(ship) === state.ship && (!state.dead || state.dead.respawned)) {
    if (insurance > 0) hud.showRespawned(insurance); // the event after a status got there first
    return;
  }
  state.respawned(ship, now);
  net.ship = Number(ship);
  weapons.reset();
  controls.resync();
  hud.showRespawned(insurance);
  hud.log("A new ship is ready at your home station", "good");
}

let lastHintAt = new Map();
/** A throttled notice (the same text at most every 1.5 s). */
function hint(text) {
  const now = performance.now();
  if (now - (lastHintAt.get(text) ?? -Infinity) < 1500) return;
  lastHintAt.set(text, now);
  if (lastHintAt.size > 50) lastHintAt = new Map([[text, now]]);
  hud.error(text);
}

function onError(msg) {
  if (station.onError(msg)) {
    if (!station.isOpen) hud.error(String(msg.message || msg.code));
    return;
  }
  if (travel?.onError(msg)) return;
  const code = String(msg.code ?? "");
  if (msg.ref === "fire" || (msg.ref === undefined && FIRE_CODES.has(code))) {
    weapons.noteRefused(code, performance.now(), String(msg.message ?? ""));
    hint(String(msg.message || code));
    return;
  }
  if (msg.ref === "target") return; // a target that left the zone: nothing to tell
  if (msg.ref === "mine") miningAsked = null;
  hint(msg.ref ? `${msg.message} (${msg.ref})` : String(msg.message || msg.code));
}

function describeItems(items) {
  if (!items) return "";
  const pairs = Array.isArray(items)
    ? items.map((i) => [i?.item ?? i?.key ?? i?.name ?? "?", i?.qty ?? i?.quantity ?? 1])
    : Object.entries(items);
  return pairs.filter(([, q]) => Number(q) > 0).map(([k, q]) => `${q} × ${String(k).replace(/_/g, " ")}`).join(", ");
}

// ---------------------------------------------------------------------------- actions
function sendAction(msg) {
  if (!state.ship || !net.send({ ...msg, ship: state.ship })) {
    hud.error("Not connected — the action was not sent");
    return false;
  }
  return true;
}

function toggleDock() {
  if (!state.system) return;
  if (state.docked) sendAction({ t: "undock" });
  else sendAction({ t: "dock" }); // no station: the server picks the nearest in range
}

function jumpTo([x, y]) {
  const to = [secStr(x), secStr(y)];
  if (state.docked) sendAction({ t: "undock" });
  if (sendAction({ t: "jump", to })) {
    const name = galaxy.systems.get(secKey(...to))?.name;
    $("galaxy-status").textContent = `Jump drive charging for ${name || secLabel(...to)}…`;
    closeOverlays();
  }
}

function toggleOverlay(id) {
  const node = $(id);
  const open = node.hidden;
  closeOverlays();
  if (open) {
    station.close(); // the maps go on top of the station screen's place
    node.hidden = false;
    if (id === "galaxy") galaxy.load();
    if (id === "sysmap") $("sysmap-title").textContent = state.system?.name ?? "";
  }
}

function closeOverlays() {
  $("sysmap").hidden = true;
  $("galaxy").hidden = true;
}

/** Escape: close what is open (maps, phone drawer, station screen, death screen), else let go of the target. */
function escape() {
  if (!$("sysmap").hidden || !$("galaxy").hidden) closeOverlays();
  else if (missions?.boardOpen) missions.closeBoard();
  else if (layout.drawerOpen) layout.setDrawer(false);
  else if (station.isOpen) station.close();
  else if (!$("death-screen").hidden && state.dead?.respawned) hud.hideDeath();
  else if (state.target) setTarget(0);
}

// --- targeting
function sendTarget() {
  if (!state.ship) return;
  net.send({ t: "target", ship: state.ship, target: state.target || null });
}

function setTarget(id) {
  if (state.setTarget(id)) sendTarget();
}

function cycleTarget(wrecks) {
  const own = renderer.own ?? state.ownRecord();
  if (!own) return;
  const id = nextTarget(state, own.x, own.y, wrecks ? KIND_WRECK : KIND_SHIP);
  if (!id) hint(wrecks ? "No wrecks in sensor range" : "No ships in sensor range");
  else setTarget(id);
}

// --- weapons
/** How far ahead a shot must aim: half the round trip plus a tick or two (seconds). */
const leadS = () => ((net.rtt ?? 200) / 2 + 100) / 1000;

/**
 * The trigger, checked every 30 ms while held: every selected slot that can hit (see
 * combat.js) and is ready sends one `fire`. Slots that cannot hit are skipped without asking
 * the server; only when none can fire does the player hear why.
 */
function fireTick() {
  if (!inGame || !controls.firing || !state.status || !state.ship) return;
  if (state.dead && !state.dead.respawned) return;
  if (state.docked) {
    // a click in the view while docked is not a request to fire: only the key and buttons say so
    if (["key", "button", "touch"].some((k) => controls.trigger.has(k))) hint("Docked — undock (F) to use your weapons");
    return;
  }
  if (!net.online) return;
  if (aboard?.blocks("fire")) {
    hint("Only the gunner fires this ship's weapons");
    return;
  }
  const now = performance.now();
  weapons.rttMs = net.rtt ?? 200;
  const own = state.ownRecord();
  if (!own) return;
  const slots = weapons.selection();
  if (!slots.length) {
    hint("No weapons fitted — buy a module at a shipyard");
    return;
  }
  const tgt = aimAt(state, own, leadS());
  let live = 0; // slots firing or cooling: the trigger is doing something
  let why = "";
  for (const i of slots) {
    const reason = slotBlock(weapons, i, tgt);
    if (reason) {
      why ||= reason;
      continue;
    }
    live += 1;
    if (!weapons.ready(i, now)) continue;
    const msg = { t: "fire", ship: state.ship, slot: i, target: tgt ? tgt.id : null };
    if (net.send(msg)) weapons.noteFired(i, now, tgt ? tgt.bearing : null);
  }
  if (!live && why) hint(why);
}

/** Each slot's verdict on the locked target ("" = can hit), for the weapons panel. */
function assessWeapons() {
  const own = state.ownRecord();
  const tgt = own ? aimAt(state, own, leadS()) : null;
  weapons.verdicts = weapons.weapons.map((_, i) => (state.target && tgt ? slotBlock(weapons, i, tgt) : ""));
}

function selectSlot(i) {
  const before = weapons.selected;
  const got = weapons.select(i);
  if (i >= 0 && got !== i && before !== i) hint(`No weapon in slot ${i + 1}`);
}

/** Sounds for an `fx` message: shots by the weapon's kind, hits, explosions. */
function playFx(msg) {
  for (const f of Array.isArray(msg?.fx) ? msg.fx : []) {
    if (!f || typeof f !== "object") continue;
    if (f.k === "beam" || f.k === "shot") {
      const c = weapons.content[f.weapon] ?? {};
      const kind = c.kind ?? (f.k === "beam" ? "hitscan" : "projectile");
      sound.weapon(kind, Array.isArray(f.from) ? f.from : null, Number(c.cooldown) >= 0.7);
    } else if (f.k === "hit") sound.hit(Array.isArray(f.at) ? f.at : null, !!f.shield);
    else if (f.k === "boom") sound.explosion(Array.isArray(f.at) ? f.at : null);
  }
}

// --- mining, loot, distress
let miningAsked = null; // {rock, at}: asked, not yet in a status
function toggleMining() {
  if (!state.system || !state.ship) return;
  if (state.docked) {
    hint("Undock (F) to mine");
    return;
  }
  const now = performance.now();
  const recent = miningAsked && now - miningAsked.at < 3000 ? miningAsked.rock : null;
  const active = state.status?.mining ?? recent;
  if (active !== null && active !== undefined) {
    if (sendAction({ t: "mine", rock: null })) {
      miningAsked = null;
      hud.log("Mining stopped", "");
    }
    return;
  }
  const own = renderer.own ?? state.ownRecord();
  if (!own) return;
  const near = state.nearestRock(own.x, own.y);
  const speed = Math.hypot(own.vx, own.vy);
  if (!near) hint("No asteroids in this system");
  else if (near.gap > MINING_RANGE) {
    hint(`Nearest asteroid is ${fmtDistance(near.gap)} away — fly within ${MINING_RANGE} m to mine`);
  } else if (speed >= MINING_MAX_SPEED) hint(`Slow below ${MINING_MAX_SPEED} m/s to mine`);
  else if (sendAction({ t: "mine", rock: near.rock.index })) {
    miningAsked = { rock: near.rock.index, at: now };
    hud.log(`Mining ${near.rock.ore ? near.rock.ore.replace(/_/g, " ") : "ore"}…`, "");
  }
}

let lastLooted = null;
function loot() {
  const id = state.target;
  if (!id || state.kindOf(id) !== KIND_WRECK) {
    hint("Target a wreck first (click it, or Shift+T)");
    return;
  }
  const own = renderer.own ?? state.ownRecord();
  const w = state.tracks.get(id)?.last;
  if (!own || !w) {
    hint("The wreck is out of sensor range");
    return;
  }
  const dist = Math.hypot(w.x - own.x, w.y - own.y);
  if (dist > LOOT_RANGE) hint(`Fly within ${LOOT_RANGE} m of the wreck to loot it (${fmtDistance(dist)})`);
  else if (Math.hypot(own.vx, own.vy) >= LOOT_MAX_SPEED) hint(`Slow below ${LOOT_MAX_SPEED} m/s to loot`);
  else if (sendAction({ t: "loot", wreck: id })) hud.log(`Looting ${state.nameOf(id) || "the wreck"}…`, "");
}

let lastDistress = -Infinity;
function distress() {
  if (!state.system || !state.ship) return;
  const now = performance.now();
  if (now - lastDistress < DISTRESS_EVERY_MS) {
    hint("Distress call already sent — wait a few seconds");
    return;
  }
  if (sendAction({ t: "distress" })) {
    lastDistress = now;
    hud.log("Distress call sent to everyone in the system", "sos");
  }
}

// ---------------------------------------------------------------------------- controls, view
const controls = new Controls({
  send(c) {
    if (!net.online || !state.ship || !state.system) return false;
    if (state.docked || (state.dead && !state.dead.respawned)) return true; // nothing to steer
    if (aboard?.blocks("input")) return true; // another member flies this ship
    return net.send({ t: "input", ship: state.ship, thrust: c.thrust, turn: c.turn, brake: c.brake });
  },
  enabled: () => inGame,
  onAction(action, arg) {
    if (action === "dock") toggleDock();
    else if (action === "galaxy") toggleOverlay("galaxy");
    else if (action === "sysmap") {
      toggleOverlay("sysmap");
      if (!$("sysmap").hidden) travel.focusList(); // ↑ ↓ Enter choose and fly
    }
    else if (action === "close") escape();
    else if (action === "zoomIn") renderer.zoomBy(1.25);
    else if (action === "zoomOut") renderer.zoomBy(0.8);
    else if (action === "station") {
      if (state.docked) {
        closeOverlays();
        station.toggle(true);
      } else hint("Dock at a station (F) to trade");
    } else if (action.startsWith("slot")) selectSlot(action === "slotAll" ? -1 : Number(action.slice(4)) - 1);
    else if (action === "target") cycleTarget(!!arg); // arg: Shift held (wrecks)
    else if (action === "pick") setTarget(arg || 0); // arg: the entity clicked, or 0
    else if (action === "loot") loot();
    else if (action === "mine") toggleMining();
    else if (action === "distress") distress();
    else if (action === "mute") setMuted(!sound.muted);
    else if (action === "cruise") travel.toggleCruise();
    else if (action === "autopilotOff") travel.cancel();
    else if (action === "flyTarget") {
      if (!travel.flyToTarget()) toggleOverlay("sysmap"); // no target: choose on the map
    }
  },
});
controls.onRelease = () => touch?.release();

const renderer = new Renderer($("view"), state);
renderer.effects = effects;
renderer.weapons = weapons;
const sysmap = new SystemMap($("sysmap-canvas"), state);
const galaxy = new GalaxyMap($("galaxy-canvas"), state, jumpTo);
hud = new Hud(state, net);
hud.weapons = weapons;
hud.onWarning = (key) => {
  if (["low-fuel", "no-fuel", "hull", "attacked", "criminal"].includes(key)) sound.warning();
};
hud.effects = effects;
hud.onSelectSlot = (i) => selectSlot(i);
hud.onLayout = () => station?.isOpen && station.layout();
station = new StationScreen(state, {
  // `bounty` is about an account, not our ship: it goes without `ship`
  send: (msg) => (msg.t === "bounty" ? net.send(msg) : !!state.ship && net.send({ ...msg, ship: state.ship })),
  onUndock: () => toggleDock(),
  notify: (text, cls) => hud.log(text, cls),
});

aboard = new AboardPanel({
  send: (msg) => net.send(msg),
  ship: () => state.ship,
  status: () => state.status,
});

travel = new Travel({
  state,
  send: (msg) => {
    if (!net.online || !state.ship) return false;
    if (aboard?.blocks("input")) {
      hud.error("Only the pilot flies this ship");
      return false;
    }
    return net.send({ ...msg, ship: state.ship });
  },
  notify: (text, cls) => hud.log(text, cls),
  toast: (text) => hud.error(text),
  sectorName: ([x, y]) => galaxy.systems.get(secKey(x, y))?.name ?? "",
  party: () => party?.members() ?? [],
});
travel.onOpenMap = () => toggleOverlay("sysmap");
// off-screen markers: party members in this system and where the autopilot flies
renderer.extraMarkers = (own) => {
  const out = [];
  const here = state.sector ? secKey(state.sector[0], state.sector[1]) : "";
  for (const m of party?.members() ?? []) {
    if (!m.system || secKey(m.system[0], m.system[1]) !== here || m.x === null) continue;
    const live = m.ship ? state.tracks.get(Number(m.ship))?.last : null; // fresher when in view
    const x = live ? live.x : m.x;
    const y = live ? live.y : m.y;
    out.push({ kind: "party", x, y, colour: "#8cffb8", strong: true,
      caption: `◆ ${m.name} · ${fmtDistance(Math.hypot(x - own.x, y - own.y))}` });
  }
  const dest = travel?.current();
  if (dest && Number.isFinite(dest.x) && dest.kind !== "ship" && dest.kind !== "station") {
    out.push({ kind: "destination", x: dest.x, y: dest.y, colour: "#78ffb4", hollow: true,
      caption: `→ ${dest.name} · ${fmtDistance(Math.hypot(dest.x - own.x, dest.y - own.y))}` });
  }
  return out;
};
travel.onFuelWarning = () => sound.warning();
travel.onFlying = () => {
  if (layout.mode === "phone") $("sysmap").hidden = true; // the map covers a phone's screen
};
sysmap.layers = [
  (ctx, X, Y, scale, text) => travel.drawGates(ctx, X, Y, text),
  (ctx, X, Y) => travel.drawOnMap(ctx, X, Y),
  (ctx, X, Y, scale, text) => party.drawSystem(ctx, X, Y, scale, text),
];
galaxy.layers = [(ctx, pos, text, nowMs) => party.drawGalaxy(ctx, pos, text, nowMs)];
// a click or tap on the system map flies there (what is under it, or that point in space)
$("sysmap-canvas").addEventListener("click", (e) => {
  const r = e.currentTarget.getBoundingClientRect();
  const dest = travel.pickOnMap(e.clientX - r.left, e.clientY - r.top, sysmap.view);
  if (dest && travel.flyTo(dest)) travel.onFlying?.(dest);
});

party = new PartyPanel({
  send: (msg) => net.online && net.send(msg),
  api,
  state,
  flyTo: (dest) => travel.flyTo(dest),
  systemName: ([x, y]) => galaxy.systems.get(secKey(x, y))?.name ?? "",
  notify: (text, cls) => hud.log(text, cls),
});
party.systemSummary = ([x, y]) => galaxy.systems.get(secKey(x, y)) ?? null;

missions = new MissionsPanel({
  send: (msg) => !!state.ship && net.send({ ...msg, ship: state.ship }),
  state, renderer, hud,
});

crew = new CrewPanel({
  send: (msg) => !!state.ship && net.send({ ...msg, ship: state.ship }),
  target: () => state.target || 0,
});

// ---------------------------------------------------------------------------- layout, touch, sound
const layout = new Layout();
let touch = null;
touch = new TouchControls($("touch"), {
  controls,
  // the newest server record: the stick steers from where the ship really points
  heading: () => state.ownRecord()?.angle ?? null,
  onAction: (action) => controls.onAction(action),
});
const syncLayout = () => {
  hud.touch = layout.touch;
  travel.touch = layout.touch;
  if (station?.isOpen) station.layout();
};
layout.onChange(syncLayout);
syncLayout();

// the crew and the shared-ship panels: shown when they have something to show (panels.js)
const optional = [
  new OptionalPanel(crew.root, $("chip-crew"), () => {
    const last = crew.last;
    return (last?.crew?.length ?? 0) > 0 || (state.docked && (last?.candidates?.length ?? 0) > 0)
      || performance.now() - crew.lastChatAt < 30000;
  }),
  new OptionalPanel(aboard.root, $("chip-aboard"), () => aboard.invites.length > 0 || aboard.station !== null
    || (aboard.info?.members?.length ?? 0) > 1 || !aboard.boardBtn.disabled),
  new OptionalPanel(party.root, $("chip-party"), () => party.relevant()),
];
for (const o of optional) o.onAttention = () => layout.badge(true);

function setMuted(m) {
  sound.setMuted(m);
}
sound.listener = () => renderer.own;
sound.onChange = () => {
  const b = $("btn-mute");
  b.textContent = sound.muted ? "♪ Off" : "♪ On";
  b.setAttribute("aria-pressed", String(sound.muted));
  b.title = sound.muted ? "Sound off — click (or U) to turn it on" : "Sound on — click (or U) to mute";
  $("sound-volume").value = String(Math.round(sound.volume * 100));
};
sound.onChange(sound);
$("btn-mute").addEventListener("click", () => setMuted(!sound.muted));
$("sound-volume").addEventListener("input", (e) => {
  sound.setVolume(Number(e.target.value) / 100);
  if (sound.muted && sound.volume > 0) setMuted(false);
});
// a quiet click for the game's buttons (not the ones held down to fly or fire)
document.addEventListener("click", (e) => {
  const b = e.target?.closest?.("button");
  if (b && !b.matches("[data-ctl], #btn-fire, #btn-t-fire") && b.closest("#hud, .overlay, #death-screen")) sound.click();
});

// the station screen follows docking: open on docking, closed on leaving
state.onChange((what) => {
  if (what !== "docked") return;
  if (state.docked && inGame) {
    if ($("sysmap").hidden && $("galaxy").hidden) station.open(false);
  } else {
    station.close();
  }
});

// ---------------------------------------------------------------------------- screens
function showLogin(message = "") {
  inGame = false;
  closeOverlays();
  station.close();
  hud.hideDeath();
  hud.banner("");
  $("hud").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  const name = $("login-name");
  if (!name.value) name.value = session.name;
  (name.value ? $("login-password") : name).focus();
  loadStartChoices();
}

// ---------------------------------------------------------------------------- where to start
// issue 16: a new pilot chooses a home system, or follows a friend's invite link (?invite=code)
const inviteCode = new URLSearchParams(location.search).get("invite");
let startsLoaded = false;
async function loadStartChoices() {
  if (startsLoaded) return;
  startsLoaded = true;
  const note = $("login-invite");
  if (inviteCode) {
    $("login-home-row").hidden = true;
    try {
      const inv = await api.invite(inviteCode);
      note.textContent = `${inv.from} invites you: register to start at ${inv.home.station_name}`
        + ` in ${inv.home.name}, where they live.`;
    } catch (e) {
      note.textContent = `This invite link does not work: ${e.message || e}. You can still register.`;
      note.classList.add("bad");
      $("login-home-row").hidden = false;
    }
    note.hidden = false;
  }
  try {
    const { homes } = await api.homes();
    const select = $("login-home");
    for (const h of homes) {
      const who = h.players ? ` · ${h.players} online` : "";
      select.append(el("option", { text: `${h.name} — ${h.station_name} (${h.faction})${who}`,
        attrs: { value: h.system.join(",") } }));
    }
  } catch { /* the server chooses */ }
}

/** The registration's start: the invite, else the chosen home, else nothing. */
function startChoice() {
  if (inviteCode && $("login-invite").classList.contains("bad") === false) return { invite: inviteCode };
  const home = $("login-home").value;
  return home ? { home: home.split(",") } : {};
}

function startGame(token) {
  $("login").hidden = true;
  $("hud").hidden = false;
  $("login-password").value = "";
  inGame = true;
  net.start(token);
}

async function submitLogin(register) {
  const name = $("login-name").value.trim();
  const password = $("login-password").value;
  const err = $("login-error");
  if (!name || !password) {
    err.textContent = "Enter a pilot name and a password.";
    return;
  }
  for (const b of ["btn-login", "btn-register"]) $(b).disabled = true;
  err.textContent = register ? "Registering…" : "Logging in…";
  try {
    const data = register ? await api.register(name, password, startChoice()) : await api.login(name, password);
    if (register && inviteCode) history.replaceState(null, "", location.pathname); // used
    session.save(data.token, data.account?.name ?? name);
    err.textContent = "";
    startGame(data.token);
  } catch (e) {
    err.textContent = e.message || String(e);
  } finally {
    for (const b of ["btn-login", "btn-register"]) $(b).disabled = false;
  }
}

async function logout() {
  net.stop();
  const token = session.token;
  state.me = null;
  state.system = null;
  state.tracks.clear();
  state.status = null;
  state.market = null;
  state.target = 0;
  state.dead = null;
  if (token) api.logout().catch(() => {}); // best effort; the token is forgotten either way
  session.clear();
  showLogin("Logged out.");
}

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  submitLogin(false);
});
$("btn-register").addEventListener("click", () => submitLogin(true));
$("btn-logout").addEventListener("click", logout);
$("btn-dock").addEventListener("click", toggleDock);
$("btn-station").addEventListener("click", () => station.toggle(false));
$("btn-jump").addEventListener("click", () => toggleOverlay("galaxy"));
$("btn-sysmap").addEventListener("click", () => toggleOverlay("sysmap"));
$("btn-zoom-in").addEventListener("click", () => renderer.zoomBy(1.25));
$("btn-zoom-out").addEventListener("click", () => renderer.zoomBy(0.8));
$("btn-fire-all").addEventListener("click", () => selectSlot(weapons.selected === -1 ? 0 : -1));
$("btn-mine").addEventListener("click", toggleMining);
$("btn-distress").addEventListener("click", distress);
$("btn-loot").addEventListener("click", loot);
$("btn-untarget").addEventListener("click", () => setTarget(0));
$("btn-death-continue").addEventListener("click", () => hud.hideDeath());
for (const b of document.querySelectorAll("[data-close]")) {
  b.addEventListener("click", () => {
    if (b.dataset.close === "station-screen") station.close();
    else $(b.dataset.close).hidden = true;
  });
}
// buttons clicked with a mouse keep no focus, so Space/Enter cannot re-trigger them while
// flying (or buy twice); keyboard users keep their focus
document.addEventListener("mouseup", (e) => {
  const b = e.target?.closest?.("button");
  if (b && b.closest("#hud, .overlay")) b.blur();
});
controls.bindPad($("pad"));
controls.bindTrigger($("btn-fire"));
controls.bindView($("view"), (x, y) => renderer.pick(x, y));

// the trigger: checked often, independent of the frame rate
setInterval(() => {
  try {
    fireTick();
  } catch (err) {
    console.error(err);
  }
}, 30);

// ---------------------------------------------------------------------------- the loop
let lastHud = 0;
let lastLinks = -Infinity;

/** The touch buttons follow the game: Dock / Undock (lit in docking range), Station while docked. */
function updateTouchButtons() {
  if (!layout.touch) return;
  const dock = $("btn-t-dock");
  const label = state.docked ? "Undock" : "Dock";
  if (dock.textContent !== label) dock.textContent = label;
  dock.classList.toggle("ready", $("hud-hint").classList.contains("ready"));
  $("btn-t-fire").hidden = state.docked;
  $("btn-t-station").hidden = !state.docked;
}

/** The engine follows our ship's thrust and speed; the mining laser hums while it cuts. */
function updateSound() {
  const own = renderer.own;
  if (!own || state.docked || (state.dead && !state.dead.respawned)) {
    sound.setEngine(0, 0, false);
    return;
  }
  const c = controls.controls();
  const thrusting = (own.flags & F_THRUSTING) !== 0 ? Math.max(c.thrust, 0.6) : 0;
  const mining = state.status?.mining !== null && state.status?.mining !== undefined;
  sound.setEngine(thrusting, Math.hypot(own.vx, own.vy) / 300, mining || (own.flags & F_MINING) !== 0);
}

/** The current system's jump links as directions across the galaxy, for the edge markers. */
function jumpLinks() {
  const sys = state.system;
  if (!sys || !Array.isArray(sys.links)) return [];
  const [hx, hy] = galaxyPos(sys);
  return galaxy.links().map(([x, y]) => {
    const s = galaxy.systems.get(secKey(x, y));
    const [gx, gy] = galaxyPos(s ?? { x, y });
    return { name: s?.name || secLabel(x, y), dx: Number(gx - hx), dy: Number(gy - hy) };
  });
}
function frame(now) {
  if (!inGame) {
    renderer.cam.x = now * 0.03; // a slow drift behind the login card
    renderer.cam.y = now * 0.008;
  }
  try {
    renderer.draw(now);
    if (!$("sysmap").hidden) sysmap.draw(now);
    if (!$("galaxy").hidden) galaxy.draw(now);
    if (inGame && now - lastHud > 100) {
      lastHud = now;
      if (state.target && state.targetLostMs && now - state.targetLostMs > TARGET_LOST_MS) setTarget(0);
      assessWeapons();
      hud.update(now, renderer.own);
      hud.unveil(renderer.stationLabels);
      for (const o of optional) o.update();
      missions?.update();
      updateTouchButtons();
      updateSound();
      if (now - lastLinks > 1000) {
        lastLinks = now;
        renderer.links = jumpLinks();
      }
      if (station.isOpen) station.header();
      travel.updateStrip(now);
      if (!$("sysmap").hidden) travel.renderList();
      party.render();
      $("btn-fire").classList.toggle("held", controls.firing);
    }
  } catch (err) {
    console.error(err); // one bad frame must not stop the loop
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

installReport(net, state); // the Report button on the target panel (issue 6, report.js)

// ---------------------------------------------------------------------------- debug hook
// Tests read this with page.evaluate("window.callister.snapshot()") and the getters below.
window.callister = {
  state, net, renderer, hud, galaxy, effects, sysmap,
  weaponSlots: weapons, // the objects behind the weapons() and station() getters
  stationScreen: station,
  /** The worlds panel: {world, worlds: [names], ending: seconds or null}. */
  worlds: () => worlds.snapshot(),
  snapshot: () => ({
    ...state.summary(net),
    inGame,
    lastError: hud.lastError?.message ?? null,
    banners: [...hud.bannerLog],
    reconnects: net.stats.reconnects,
    deltas: net.stats.deltas,
    protocol: net.version,
    zoom: renderer.zoom,
    fps: Math.round(renderer.stats.fps),
  }),
  /** The newest `status` message (null before the first). */
  status: () => (state.status ? { ...state.status } : null),
  /** The locked target: {id, kind, name, dist, info: status.target or null}, or null. */
  target: () => {
    const id = state.target;
    if (!id) return null;
    const t = state.tracks.get(id)?.last;
    const own = state.ownRecord();
    const info = state.status?.target && Number(state.status.target.id) === id ? state.status.target : null;
    return {
      id, kind: state.kindOf(id), name: state.nameOf(id) || info?.name || "",
      dist: t && own ? Math.hypot(t.x - own.x, t.y - own.y) : info?.dist ?? null, info,
    };
  },
  /** The newest `market` message (null when none yet or after leaving the system). */
  market: () => (state.market ? { ...state.market } : null),
  /** The station screen: {open, tab, receipts, last: {rid, ok, text, code}, pending: [rid]}. */
  station: () => station.summary(),
  /** Weapon slots: {selected, sent, slots: [{key, remaining, awaiting, shots, cooldown}]}. */
  weapons: () => weapons.summary(performance.now()),
  /** Effects received ({beam, hit, boom}) and alive now. */
  fx: () => ({ ...effects.counts, live: effects.items.length }),
  /** What the event log shows, oldest first. */
  events: () => hud.logItems.map((i) => i.li.textContent),
  looted: () => lastLooted,
  /** The crew panel: {crew, candidates, chat: [{from, text, kind, action}]}. */
  crew: () => crew.snapshot(),
  /** Shared ship: {station, invites, members, ship}. */
  aboard: () => aboard.snapshot(),
  /** The layout: {mode: desktop/compact/phone, touch, drawer}. */
  layout: () => layout.snapshot(),
  /** The sound: {state, muted, volume, engine, counts, skipped, voices}. */
  audio: () => sound.snapshot(),
  /** The toasts on screen: [{text, count}]. */
  toasts: () => hud.toastList(),
  /** The stations' names drawn in the view in the last frame: [{name, x0, y0, x1, y1}]. */
  stationLabels: () => renderer.stationLabels.map((l) => ({ ...l })),
  /** The edge markers drawn in the last frame: [{kind, name, x, y}]. */
  markers: () => renderer.markers.map((m) => ({ ...m })),
  /** The touch stick: {held, deflection, analog}; the controls being sent. */
  touch: () => ({ ...touch.snapshot(), controls: controls.controls() }),
  /** The optional panels: {crew, aboard, party} (open or not). */
  panels: () => ({ crew: optional[0].open, aboard: optional[1].open, party: optional[2].open }),
  /** Travel: {autopilot, asked, cruise, fuel_warning, arrivals, lastArrived, destinations}. */
  travel: () => travel.snapshot(),
  /** The party: {party, leader, members, invites, link, open}. */
  party: () => party.snapshot(),
  /** Missions: {tutorial, objective, missions, board, boardOpen, rescue, rescueShown, ...}. */
  missions: () => missions.snapshot(),
  /** Hulls drawn in the last frame: {id: {hull, source, points, size}}. */
  hulls: () => Object.fromEntries(renderer.hullsDrawn),
};

// ---------------------------------------------------------------------------- start
if (session.token) startGame(session.token);
else showLogin();
