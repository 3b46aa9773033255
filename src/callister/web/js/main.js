// Entry point: the login screen, then the game (connection, state, view, HUD, maps, controls),
// one animation loop, and the `window.callister` debug hook that browser tests read.

import { api, session } from "./api.js";
import { Hud } from "./hud.js";
import { Controls } from "./input.js";
import { GalaxyMap, SystemMap } from "./maps.js";
import { Net } from "./net.js";
import { Renderer } from "./render.js";
import { GameState } from "./state.js";
import { $, secKey, secLabel, secStr } from "./util.js";

const state = new GameState();
let hud = null;
let inGame = false;

const net = new Net({
  welcome(msg) {
    state.welcome(msg);
    controls.resync();
  },
  system(msg) {
    state.enterSystem(msg);
    controls.resync();
    $("sysmap-title").textContent = state.system?.name ?? "";
    if (!$("galaxy").hidden) galaxy.load();
    else galaxy.renderJumpList();
  },
  ents: (msg) => state.addNames(msg),
  event(msg) {
    state.event(msg, performance.now());
    if (Number(msg.ship) !== state.ship) return;
    if (msg.kind === "undocked") controls.resync();
    if (msg.kind === "jump_charging" && state.jump) {
      state.jump.name = galaxy.systems.get(secKey(...state.jump.to))?.name;
    }
    if (msg.kind === "collided") hud.error(`Collision with ${msg.what} at ${Math.round(msg.speed)} m/s`);
  },
  error(msg) {
    hud.error(msg.ref ? `${msg.message} (${msg.ref})` : String(msg.message || msg.code));
  },
  snapshot: (snap, view) => state.applySnapshot(snap, view, performance.now()),
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
    node.hidden = false;
    if (id === "galaxy") galaxy.load();
    if (id === "sysmap") $("sysmap-title").textContent = state.system?.name ?? "";
  }
}

function closeOverlays() {
  $("sysmap").hidden = true;
  $("galaxy").hidden = true;
}

const controls = new Controls({
  send(c) {
    if (!net.online || !state.ship || !state.system) return false;
    if (state.docked) return true; // nothing to steer; sent again on undocking (resync)
    return net.send({ t: "input", ship: state.ship, thrust: c.thrust, turn: c.turn, brake: c.brake });
  },
  enabled: () => inGame,
  onAction(action) {
    if (action === "dock") toggleDock();
    else if (action === "galaxy") toggleOverlay("galaxy");
    else if (action === "sysmap") toggleOverlay("sysmap");
    else if (action === "close") closeOverlays();
    else if (action === "zoomIn") renderer.zoomBy(1.25);
    else if (action === "zoomOut") renderer.zoomBy(0.8);
  },
});

const renderer = new Renderer($("view"), state);
const sysmap = new SystemMap($("sysmap-canvas"), state);
const galaxy = new GalaxyMap($("galaxy-canvas"), state, jumpTo);
hud = new Hud(state, net);

// ---------------------------------------------------------------------------- screens
function showLogin(message = "") {
  inGame = false;
  closeOverlays();
  hud.banner("");
  $("hud").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  const name = $("login-name");
  if (!name.value) name.value = session.name;
  (name.value ? $("login-password") : name).focus();
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
    const data = register ? await api.register(name, password) : await api.login(name, password);
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
$("btn-jump").addEventListener("click", () => toggleOverlay("galaxy"));
$("btn-sysmap").addEventListener("click", () => toggleOverlay("sysmap"));
$("btn-zoom-in").addEventListener("click", () => renderer.zoomBy(1.25));
$("btn-zoom-out").addEventListener("click", () => renderer.zoomBy(0.8));
for (const b of document.querySelectorAll("[data-close]")) {
  b.addEventListener("click", () => { $(b.dataset.close).hidden = true; });
}
// buttons keep no focus, so Space/Enter cannot re-trigger them while flying
for (const b of document.querySelectorAll("#hud button, .overlay button")) {
  b.addEventListener("mouseup", () => b.blur());
}
controls.bindPad($("pad"));

// ---------------------------------------------------------------------------- the loop
let lastHud = 0;
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
      hud.update(now, renderer.own);
    }
  } catch (err) {
    console.error(err); // one bad frame must not stop the loop
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

// ---------------------------------------------------------------------------- debug hook
// Tests read this with page.evaluate("window.callister.snapshot()").
window.callister = {
  state, net, renderer, hud, galaxy,
  snapshot: () => ({
    ...state.summary(net),
    inGame,
    lastError: hud.lastError?.message ?? null,
    banners: [...hud.bannerLog],
    reconnects: net.stats.reconnects,
    deltas: net.stats.deltas,
    zoom: renderer.zoom,
    fps: Math.round(renderer.stats.fps),
  }),
};

// ---------------------------------------------------------------------------- start
if (session.token) startGame(session.token);
else showLogin();
