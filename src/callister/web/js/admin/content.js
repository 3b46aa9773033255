// A world's content pack in the admin console (issue 18): load the world's current pack into
// one text box per file, edit or fill them from .toml files on disk, save (a new version: the
// server loads it over the base content exactly as the world will run it, and a refused pack
// lists every problem with its file, entry and field), or clear it. A running world restarts
// into the new content within seconds. Text from the server is set with textContent / value.

const FILES = ["pack.toml", "hulls.toml", "weapons.toml", "commodities.toml", "ores.toml",
  "factions.toml", "npc_roles.toml"];
const $ = (id) => document.getElementById(id);

let world = null; // the world the editor shows
let auth = () => null;
let say = () => {};

function path() {
  return `/api/admin/worlds/${encodeURIComponent(world)}/content`;
}

async function request(method, body) {
  const headers = { Authorization: `Bearer ${auth()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path(), {
    method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await resp.json().catch(() => null);
  return { ok: resp.ok, status: resp.status, json };
}

function boxes() {
  const wrap = $("admin-content-files");
  if (wrap.childElementCount) return;
  for (const name of FILES) {
    const label = document.createElement("label");
    label.className = "content-file";
    const title = document.createElement("span");
    title.textContent = name;
    const area = document.createElement("textarea");
    area.dataset.testid = `content-file-${name}`;
    area.dataset.file = name;
    area.rows = 8;
    area.spellcheck = false;
    label.append(title, area);
    wrap.append(label);
  }
}

function showProblems(problems) {
  const list = $("admin-content-problems");
  list.replaceChildren();
  for (const p of problems || []) {
    const li = document.createElement("li");
    li.dataset.testid = "content-problem";
    li.textContent = p.message || `${p.file} [${p.entry}] ${p.field}: ${p.reason}`;
    list.append(li);
  }
}

function describe(json) {
  const pack = json.pack;
  const head = pack
    ? `version ${json.version}: ${pack.name} ${pack.version} (digest ${pack.digest.slice(0, 12)}…)`
    : `version ${json.version}: no pack (the base content)`;
  const running = json.running_version == null ? "" : ` · running version ${json.running_version}`;
  return `${head}${running} · ${json.history.length} version(s) kept`;
}

/** Load world `name`'s pack into the editor. */
export async function openContent(name) {
  world = name;
  boxes();
  $("admin-content").hidden = false;
  $("admin-content-world").textContent = name;
  showProblems([]);
  const got = await request("GET");
  if (!got.ok) {
    say(got.json?.error?.message || `HTTP ${got.status}`, false);
    return;
  }
  $("admin-content-summary").textContent = describe(got.json);
  const files = got.json.pack ? got.json.pack.files : {};
  for (const area of $("admin-content-files").querySelectorAll("textarea")) {
    area.value = files[area.dataset.file] ?? "";
  }
}

async function save(body) {
  const put = await request("PUT", body);
  if (!put.ok) {
    showProblems(put.json?.problems || [{ message: put.json?.error?.message || `HTTP ${put.status}` }]);
    say(`${world}: pack refused (${(put.json?.problems || []).length} problem(s)); nothing stored`, false);
    return;
  }
  say(`${world}: content version ${put.json.version} stored`);
  await openContent(world);
}

function saveFiles() {
  const files = {};
  for (const area of $("admin-content-files").querySelectorAll("textarea")) {
    if (area.value.trim()) files[area.dataset.file] = area.value;
  }
  return save({ files });
}

async function loadFromDisk(ev) {
  for (const file of ev.target.files) {
    const area = $("admin-content-files").querySelector(`textarea[data-file="${CSS.escape(file.name)}"]`);
    if (area) area.value = await file.text();
    else say(`${file.name} is not a pack file (${FILES.join(", ")})`, false);
  }
}

/** Wire the editor: `getToken()` gives the session token, `report(text, ok)` the status line. */
export function initContent(getToken, report) {
  auth = getToken;
  say = report;
  $("admin-content-save").addEventListener("click", () => saveFiles());
  $("admin-content-clear").addEventListener("click", () => save({ clear: true }));
  $("admin-content-upload").addEventListener("change", loadFromDisk);
  $("admin-content-close").addEventListener("click", () => { $("admin-content").hidden = true; });
}

export const contentEditor = { world: () => world };
