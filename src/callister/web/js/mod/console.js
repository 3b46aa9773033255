// The moderator's console (issue 6): the queue of reports and flags, the replay viewer, the
// entity inspector and the actions. Every request carries the token; the server checks the
// role on each. Everything players wrote (report text, names, chat) is shown with textContent.

import { api, session } from "../api.js";
import { LiveViewer } from "./live.js";
import { ReplayViewer } from "./replay.js";

const $ = (id) => document.getElementById(id);

function li(text, onClick) {
  const node = document.createElement("li");
  node.textContent = text;
  if (onClick) node.addEventListener("click", onClick);
  return node;
}

function item(text, onClick) {
  const node = document.createElement("div");
  node.className = "mod-item";
  node.textContent = text;
  node.addEventListener("click", () => {
    for (const n of document.querySelectorAll(".mod-item.sel")) n.classList.remove("sel");
    node.classList.add("sel");
    onClick();
  });
  return node;
}

async function authFetch(path, options = {}) {
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${session.token}` };
  const resp = await fetch(path, { ...options, headers, cache: "no-store" });
  if (resp.status === 401) showLogin("log in as a moderator");
  if (!resp.ok) {
    let message = `HTTP ${resp.status}`;
    try {
      const body = await resp.clone().json();
      message = body?.error?.message ?? message;
    } catch { message = (await resp.text()).slice(0, 200) || message; }
    throw new Error(message);
  }
  return resp;
}

const json = (path, options) => authFetch(path, options).then((r) => r.json());
const post = (path, body) => json(path, {
  method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
});

const viewer = new ReplayViewer($("mod-view"), authFetch);
const live = new LiveViewer($("mod-live"));
let events = [];
const consoleState = { report: null, footage: null, loaded: false };

function showLogin(message) {
  $("mod-login").hidden = false;
  $("mod-login-error").textContent = message || "";
}

$("mod-login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const out = await api.login($("mod-name").value, $("mod-password").value);
    if (!["moderator", "admin"].includes(out.account.role)) {
      $("mod-login-error").textContent = "this account is not a moderator";
      return;
    }
    session.save(out.token, out.account.name);
    $("mod-login").hidden = true;
    await refresh();
  } catch (err) {
    $("mod-login-error").textContent = err.message;
  }
});

async function refresh() {
  const q = await json("/api/mod/queue");
  const reports = $("mod-reports");
  reports.replaceChildren(...q.reports.map((r) => item(
    `#${r.id} ${r.reason} — ${r.target_kind} ${r.target}`, () => openReport(r.id))));
  if (!q.reports.length) reports.textContent = "No open reports.";
  const flags = $("mod-flags");
  flags.replaceChildren(...q.flags.map((f) => item(
    `${f.detector} ${(f.score * 100).toFixed(0)}% — account ${f.account_id}${f.subject ? ` (${f.subject})` : ""}`,
    () => openFlag(f))));
  if (!q.flags.length) flags.textContent = "No open flags.";
  $("mod-who").textContent = `Signed in as ${session.name}`;
  consoleState.loaded = true;
}

async function openReport(id) {
  const r = await json(`/api/mod/reports/${id}`);
  consoleState.report = r;
  const box = $("mod-report");
  const lines = [
    `Report #${r.id} (${r.status}) — ${new Date(r.at * 1000).toLocaleString()}`,
    `Reason: ${r.reason}`, `Target: ${r.target_kind} ${r.target}` +
      (r.target_account ? ` (account ${r.target_account})` : ""),
    `By account ${r.reporter_id} in ${r.zone || "?"} at tick ${r.tick}`,
  ];
  const text = document.createElement("blockquote");
  text.id = "mod-report-text";
  text.textContent = r.text; // literal text, whatever it contains
  box.replaceChildren(...lines.map((l) => { const p = document.createElement("div"); p.textContent = l; return p; }), text);
  $("mod-chat").replaceChildren(...(r.chat || []).map((c) =>
    li(`${new Date(c.at * 1000).toLocaleTimeString()} ${c.kind}: ${c.from ?? c.by ?? ""} ${c.text ?? c.target ?? ""}`)));
  if (r.target_account) {
    $("mod-account").value = String(r.target_account);
    inspect();
  }
  if (r.footage_id) await openFootage(r.footage_id);
}

function openFlag(f) {
  $("mod-report").replaceChildren(Object.assign(document.createElement("pre"), {
    textContent: `${f.detector} score ${f.score}\naccount ${f.account_id} ${f.subject}\n${JSON.stringify(f.evidence, null, 1)}`,
  }));
  $("mod-account").value = String(f.account_id);
  inspect();
}

async function openFootage(id) {
  if (live.active) stopWatching(); // footage plays on the replay canvas
  consoleState.footage = id;
  const meta = await viewer.open(id);
  const scrub = $("mod-scrub");
  scrub.min = String(viewer.start);
  scrub.max = String(viewer.end);
  scrub.value = String(viewer.start);
  const follow = $("mod-follow");
  follow.replaceChildren(follow.options[0]);
  for (const e of viewer.entities()) {
    const o = document.createElement("option");
    o.value = String(e.id);
    o.textContent = e.name;
    follow.append(o);
  }
  const target = consoleState.report?.target;
  if (target && [...follow.options].some((o) => o.value === target)) {
    follow.value = target;
    viewer.setFollow(target);
  } else if (follow.options.length > 1) {
    follow.selectedIndex = 1;
    viewer.setFollow(follow.value);
  }
  const ev = await json(`/api/mod/footage/${id}/events`);
  events = ev.events.concat((meta.marks || []).map((m) => ({ ...m, type: m.kind })));
  events.sort((a, b) => a.tick - b.tick);
  const names = meta.names || {};
  const nameOf = (v) => (v === undefined ? "" : names[String(v)] || String(v));
  $("mod-timeline").replaceChildren(...events.slice(0, 500).map((e) =>
    li(`${((e.tick - meta.start_tick) / meta.tick_hz).toFixed(1)} s  ${e.type}` +
      `${e.ship !== undefined ? ` ${nameOf(e.ship)}` : ""}${e.target !== undefined ? ` → ${nameOf(e.target)}` : ""}` +
      `${e.by !== undefined ? ` by ${e.by}` : ""}${e.from !== undefined ? ` from ${e.from}` : ""}`,
    () => viewer.seek(e.tick))));
}

viewer.onChange((v) => {
  if (!v.meta) return;
  $("mod-scrub").value = String(Math.round(v.tick));
  const t = (v.tick - v.meta.start_tick) / v.meta.tick_hz;
  const total = (v.end - v.meta.start_tick) / v.meta.tick_hz;
  $("mod-time").textContent = `${t.toFixed(1)} / ${total.toFixed(1)} s${v.playing ? " ▶" : ""}`;
});

async function inspect() {
  const id = $("mod-account").value.trim();
  if (!/^\d+$/.test(id)) return;
  try {
    const out = await json(`/api/mod/accounts/${id}`);
    $("mod-inspector").textContent = JSON.stringify(out, null, 1);
  } catch (err) {
    $("mod-inspector").textContent = err.message;
  }
}

async function act() {
  const body = {
    action: $("mod-action").value,
    reason: $("mod-reason").value,
  };
  const account = $("mod-account").value.trim();
  if (/^\d+$/.test(account)) body.account = Number(account);
  const hours = $("mod-hours").value.trim();
  if (hours) body.hours = Number(hours);
  const clone = $("mod-clone").value.trim();
  if (clone) body.clone = Number(clone);
  const address = $("mod-address").value.trim();
  if (address) body.address = address;
  try {
    const out = await post("/api/mod/actions", body);
    $("mod-result").textContent = `Done: ${out.action}${out.closed ? " (connection closed)" : ""}`;
    if (consoleState.report && ["ban", "kick", "warn", "mute"].includes(out.action)) {
      await post(`/api/mod/reports/${consoleState.report.id}/status`, { status: "closed" });
    }
    inspect();
    refresh();
  } catch (err) {
    $("mod-result").textContent = `Refused: ${err.message}`;
  }
}

// ------------------------------------------------------------------ live spectating
async function spectate() {
  const id = $("mod-account").value.trim();
  let follow = 0;
  if (/^\d+$/.test(id)) {
    try {
      const out = await json(`/api/mod/accounts/${id}`);
      if (out.online && out.ship) follow = Number(out.ship);
      else $("mod-result").textContent = `${out.account.name} is not in space: watching the first active system`;
    } catch (err) {
      $("mod-result").textContent = `Refused: ${err.message}`;
      return;
    }
  }
  viewer.pause();
  $("mod-view").hidden = true;
  $("mod-live").hidden = false;
  $("mod-live-stop").disabled = false;
  live.start(session.token, follow);
}

function stopWatching() {
  live.stop();
  $("mod-live").hidden = true;
  $("mod-view").hidden = false;
  $("mod-live-stop").disabled = true;
}

function liveBar() {
  const select = $("mod-live-follow");
  const ships = live.active ? live.ships() : [];
  const want = ["0", ...ships.map((s) => String(s.id))];
  const have = [...select.options].map((o) => o.value);
  if (want.join() !== have.join()) {
    select.replaceChildren(select.options[0], ...ships.map((s) => {
      const o = document.createElement("option");
      o.value = String(s.id);
      o.textContent = s.mod ? `${s.name} (MOD)` : s.name; // names are text, never markup
      return o;
    }));
  }
  if (document.activeElement !== select) select.value = String(live.follow);
  const where = live.camera?.sector ? ` in [${live.camera.sector.join(", ")}]` : "";
  const who = live.follow ? live.state.nameOf(live.follow) || `#${live.follow}` : "nobody";
  $("mod-live-status").textContent = !live.active
    ? (live.error ? `refused: ${live.error.message}` : "not watching")
    : `${live.net.status}: following ${who}${where}` + (live.error ? ` — ${live.error.message}` : "");
}
live.onChange(liveBar);
setInterval(liveBar, 1000);

$("mod-spectate").addEventListener("click", () => spectate());
$("mod-live-stop").addEventListener("click", () => stopWatching());
$("mod-live-follow").addEventListener("change", (e) => live.setFollow(e.target.value));

$("mod-play").addEventListener("click", () => viewer.play());
$("mod-pause").addEventListener("click", () => viewer.pause());
$("mod-speed").addEventListener("change", (e) => viewer.setSpeed(e.target.value));
$("mod-follow").addEventListener("change", (e) => viewer.setFollow(e.target.value));
$("mod-scrub").addEventListener("input", (e) => viewer.seek(e.target.value));
$("mod-refresh").addEventListener("click", () => refresh());
$("mod-detect").addEventListener("click", async () => { await post("/api/mod/detect", {}); refresh(); });
$("mod-inspect").addEventListener("click", () => inspect());
$("mod-do").addEventListener("click", () => act());
$("mod-save-footage").addEventListener("click", async () => {
  const account = Number($("mod-account").value);
  try {
    const out = await post("/api/mod/footage", { account });
    $("mod-result").textContent = `Footage #${out.id} saved`;
  } catch (err) { $("mod-result").textContent = `Refused: ${err.message}`; }
});

// tests read this (page.evaluate is not subject to the page's CSP)
window.callisterMod = {
  viewer,
  live: () => live.summary(),
  summary: () => ({
    loaded: consoleState.loaded,
    report: consoleState.report?.id ?? null,
    footage: consoleState.footage,
    frames: viewer.frames.length,
    tick: viewer.tick,
    playing: viewer.playing,
    follow: viewer.follow,
    drawn: viewer.renderer.frame,
    poses: viewer.renderer.poses.size,
    timeline: events.length,
    target: consoleState.report?.target ?? null,
    options: [...document.getElementById("mod-follow").options].map((o) => o.value),
  }),
};

if (session.token) refresh().catch(() => showLogin());
else showLogin();
