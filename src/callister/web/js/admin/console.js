// The admin console (admin role): worlds with population and size; create, fork, invite,
// delete with the confirmation flow (type the name; a second admin approves when configured).
// On a cluster gateway: the live workers with their systems, and moving a system live.
// Everything shown that came from users is set with textContent, never innerHTML.

import { contentEditor, initContent, openContent } from "./content.js";

const TOKEN_KEY = "callister.admin.token";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(TOKEN_KEY);
let deleting = null; // the world the confirmation dialog is for
let data = { worlds: [], settings: {} };

async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
  });
  const text = await resp.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!resp.ok) {
    const message = (json && json.error && json.error.message) || text.split("\n")[0] || `HTTP ${resp.status}`;
    const err = new Error(message);
    err.status = resp.status;
    throw err;
  }
  return json;
}

function say(text, ok = true) {
  const msg = $("admin-msg");
  msg.textContent = text;
  msg.className = ok ? "ok" : "bad";
}

async function login(ev) {
  ev.preventDefault();
  const resp = await fetch("/api/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: $("admin-name").value, password: $("admin-password").value }),
  });
  const json = await resp.json().catch(() => null);
  if (!resp.ok || !json) {
    say((json && json.error && json.error.message) || "login failed", false);
    return;
  }
  if (json.account.role !== "admin") {
    say("this console needs an administrator account", false);
    return;
  }
  token = json.token;
  sessionStorage.setItem(TOKEN_KEY, token);
  start();
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

function button(label, testid, onclick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.dataset.testid = testid;
  b.addEventListener("click", onclick);
  return b;
}

function input(testid, placeholder) {
  const i = document.createElement("input");
  i.dataset.testid = testid;
  i.placeholder = placeholder;
  return i;
}

function render() {
  const s = data.settings || {};
  $("admin-kill-settings").textContent =
    `Deletion: ${s.countdown_s ?? "?"} s countdown` +
    (s.approval
      ? `; a world with players or data needs a second administrator's approval within ${s.approval_s} s`
      : "; the two-person rule is off (kill_switch_two_person = false)");
  const body = $("admin-worlds");
  const typed = new Map(); // keep what the admin is typing across the 1 s refresh
  for (const i of body.querySelectorAll("input")) typed.set(i.dataset.testid, i.value);
  const focused = document.activeElement?.dataset?.testid;
  body.replaceChildren();
  for (const w of data.worlds) {
    const tr = document.createElement("tr");
    tr.dataset.testid = `world-row-${w.name}`;
    cell(tr, w.name + (w.public ? " (public)" : ""));
    cell(tr, w.visibility);
    cell(tr, w.seed);
    const r = w.rules || {};
    cell(tr, `PvP ${r.pvp === false ? "off" : "on"}, dmg ×${r.damage_multiplier ?? 1}, ` +
      `fuel ×${r.fuel_multiplier ?? 1}, price ×${r.price_multiplier ?? 1}`);
    cell(tr, String(w.players)).dataset.testid = `players-${w.name}`;
    cell(tr, String(w.characters));
    cell(tr, String(w.systems));
    cell(tr, String(w.rows));
    const job = w.job;
    const jobCell = cell(tr, job ? job.state : "—");
    jobCell.dataset.testid = `job-${w.name}`;
    const actions = document.createElement("td");
    const guest = input(`invite-input-${w.name}`, "account");
    actions.append(guest, button("Invite", `invite-${w.name}`, async () => {
      try {
        await call("POST", `/api/worlds/${encodeURIComponent(w.name)}/invite`, { account: guest.value });
        say(`invited ${guest.value} into ${w.name}`);
      } catch (e) { say(e.message, false); }
    }));
    const forkName = input(`fork-name-${w.name}`, "new name");
    actions.append(forkName, button("Fork", `fork-${w.name}`, async () => {
      try {
        const out = await call("POST", `/api/admin/worlds/${encodeURIComponent(w.name)}/fork`,
          { name: forkName.value });
        say(`forked ${w.name} into ${out.world}`);
        refresh();
      } catch (e) { say(e.message, false); }
    }));
    actions.append(button("Content…", `content-${w.name}`, () => openContent(w.name)));
    if (!job) {
      actions.append(button("Delete…", `delete-${w.name}`, () => openDelete(w)));
    } else {
      if (job.state === "approval") {
        actions.append(button("Approve deletion", `approve-${w.name}`, async () => {
          try { await call("POST", `/api/admin/worlds/${encodeURIComponent(w.name)}/approve`); say("approved"); refresh(); }
          catch (e) { say(e.message, false); }
        }));
      }
      if (job.state !== "deleting") {
        actions.append(button("Cancel deletion", `cancel-${w.name}`, async () => {
          try { await call("POST", `/api/admin/worlds/${encodeURIComponent(w.name)}/cancel`); say("cancelled"); refresh(); }
          catch (e) { say(e.message, false); }
        }));
      }
    }
    tr.append(actions);
    body.append(tr);
  }
  for (const i of body.querySelectorAll("input")) {
    if (typed.has(i.dataset.testid)) i.value = typed.get(i.dataset.testid);
    if (i.dataset.testid === focused) i.focus();
  }
}

function openDelete(w) {
  deleting = w;
  $("admin-delete-world").textContent = w.name;
  $("admin-delete-confirm").value = "";
  $("admin-delete-override").checked = false;
  $("admin-delete-override-row").hidden = !w.public;
  $("admin-delete-dialog").showModal();
}

async function submitDelete(ev) {
  ev.preventDefault();
  const w = deleting;
  $("admin-delete-dialog").close();
  if (!w) return;
  try {
    const out = await call("POST", `/api/admin/worlds/${encodeURIComponent(w.name)}/delete`, {
      confirm: $("admin-delete-confirm").value, override: $("admin-delete-override").checked,
    });
    say(out.state === "approval"
      ? `deletion of ${w.name} waits for a second administrator`
      : `${w.name} will be deleted after a ${out.countdown_s} s countdown`);
    refresh();
  } catch (e) { say(e.message, false); }
}

async function create(ev) {
  ev.preventDefault();
  const num = (id) => Number($(id).value);
  const body = {
    name: $("admin-create-name").value,
    visibility: $("admin-create-visibility").value,
    player_limit: num("admin-create-limit"),
    rules: {
      pvp: $("admin-create-pvp").checked,
      damage_multiplier: num("admin-create-damage"),
      fuel_multiplier: num("admin-create-fuel"),
      price_multiplier: num("admin-create-price"),
      yield_multiplier: num("admin-create-yield"),
    },
  };
  if ($("admin-create-seed").value) body.seed = $("admin-create-seed").value;
  try {
    const out = await call("POST", "/api/worlds", body);
    say(`created ${out.name}`);
    refresh();
  } catch (e) { say(e.message, false); }
}

function renderCluster() {
  const body = $("admin-workers");
  body.replaceChildren();
  for (const w of cluster.workers || []) {
    const tr = document.createElement("tr");
    tr.dataset.testid = `worker-row-${w.name}`;
    cell(tr, w.name + (w.draining ? " (draining)" : ""));
    cell(tr, String(w.players));
    const t = w.tick_ms || {};
    cell(tr, `${(t.p50 ?? 0).toFixed(1)} / ${(t.p99 ?? 0).toFixed(1)} ms`);
    const zones = Object.entries(w.zones || {}).map(([z, n]) => `${z} (${n})`).join(", ");
    cell(tr, zones || "—").dataset.testid = `worker-zones-${w.name}`;
    body.append(tr);
  }
}

async function moveZone(ev) {
  ev.preventDefault();
  const zone = $("admin-move-zone").value.trim();
  const to = $("admin-move-to").value.trim();
  say(`moving ${zone}…`);
  try {
    const out = await call("POST", "/api/admin/cluster/move", {
      zone, to: to || null, reason: $("admin-move-reason").value || "rebalance",
    });
    say(`moved ${zone} to ${out.to} in ${Math.round(out.ms)} ms`);
    refresh();
  } catch (e) { say(e.message, false); }
}

let cluster = null; // the gateway's view of the workers (a cluster); null on a single process
// What this server answers, learnt from the first refresh: a cluster gateway serves
// /api/admin/cluster and not the worlds; a single process the other way round. A 404 says the
// server has no such endpoint, and a server does not grow one while the page is open, so it is
// not asked again (it was asked every second, each a 404 in the server's log and the console).
const has = { cluster: true, worlds: true };

let refreshing = false; // one refresh at a time: a slow answer must not be asked for twice

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    if (has.cluster) {
      try {
        cluster = await call("GET", "/api/admin/cluster");
      } catch (e) {
        if (e.status !== 404) throw e;
        cluster = null;
        has.cluster = false;
      }
    }
    $("admin-cluster").hidden = cluster === null;
    if (cluster) renderCluster();
    if (has.worlds) {
      try {
        data = await call("GET", "/api/admin/worlds");
        $("admin-worlds-section").hidden = false;
        render();
      } catch (e) {
        if (e.status !== 404 || cluster === null) throw e;
        has.worlds = false;
        $("admin-worlds-section").hidden = true; // worlds are managed by `callister serve`
      }
    }
  } catch (e) {
    if (e.status === 401 || e.status === 403) {
      $("admin-main").hidden = true;
      $("admin-login").hidden = false;
    }
    say(e.message, false);
  } finally {
    refreshing = false;
  }
}

function start() {
  $("admin-login").hidden = true;
  $("admin-main").hidden = false;
  refresh();
}

$("admin-login-form").addEventListener("submit", login);
$("admin-create-form").addEventListener("submit", create);
$("admin-move-form").addEventListener("submit", moveZone);
$("admin-delete-submit").addEventListener("click", submitDelete);
initContent(() => token, say);
setInterval(() => { if (token && !$("admin-main").hidden) refresh(); }, 1000);
window.callisterAdmin = {
  refresh, data: () => data, cluster: () => cluster, has: () => ({ ...has }), content: contentEditor,
};
if (token) start();
