// HTTP API (docs/protocol.md, "HTTP API"): register, login, logout, me, discovered systems,
// universe look-ups. Every request has a timeout so a slow or absent server never hangs the UI.

const TOKEN_KEY = "callister.token";
const NAME_KEY = "callister.name";
const TIMEOUT_MS = 10000;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get token() {
    try { return localStorage.getItem(TOKEN_KEY); } catch { return null; }
  },
  get name() {
    try { return localStorage.getItem(NAME_KEY) || ""; } catch { return ""; }
  },
  save(token, name) {
    try {
      localStorage.setItem(TOKEN_KEY, token);
      localStorage.setItem(NAME_KEY, name);
    } catch { /* private mode: the session lasts this page only */ }
  },
  clear() {
    try { localStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ }
  },
};

/** One request. Resolves to parsed JSON (or null for 204); rejects with ApiError. */
async function request(method, path, { body, auth = false, timeout = TIMEOUT_MS } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth) {
    const token = session.token;
    if (!token) throw new ApiError(401, "AUTH_REQUIRED", "log in first");
    headers.Authorization = `Bearer ${token}`;
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeout);
  let resp;
  try {
    resp = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: abort.signal, cache: "no-store",
    });
  } catch (err) {
    const timedOut = err && err.name === "AbortError";
    throw new ApiError(0, timedOut ? "TIMEOUT" : "NETWORK",
      timedOut ? "the server did not answer in time" : "cannot reach the server");
  } finally {
    clearTimeout(timer);
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    // JSON errors are {"error": {"code", "message"}}; query/auth errors are plain text
    const err = data && typeof data === "object" && data.error;
    let message = (err && err.message) || text.trim().split("\n")[0].slice(0, 200);
    if (!err && resp.status >= 500) message = `the server failed (HTTP ${resp.status}); try again`;
    if (!message) message = `HTTP ${resp.status}`;
    const code = (err && err.code) || `HTTP_${resp.status}`;
    throw new ApiError(resp.status, code, message);
  }
  return data;
}

export const api = {
  /** extra: {home: [x, y]} or {invite: code} (issue 16: where a new pilot starts). */
  register: (name, password, extra = {}) =>
    request("POST", "/api/register", { body: { name, password, ...extra } }),
  homes: () => request("GET", "/api/homes"),
  invite: (code) => request("GET", `/api/invites/${encodeURIComponent(code)}`),
  createInvite: () => request("POST", "/api/invites", { auth: true }),
  login: (name, password) => request("POST", "/api/login", { body: { name, password } }),
  logout: () => request("POST", "/api/logout", { auth: true, timeout: 4000 }),
  me: () => request("GET", "/api/me", { auth: true }),
  discovered: () => request("GET", "/api/me/discovered", { auth: true }),
  system: (x, y) =>
    request("GET", `/api/universe/system?x=${encodeURIComponent(x)}&y=${encodeURIComponent(y)}`),
  map: (x, y, r = 3) =>
    request("GET", `/api/universe/map?x=${encodeURIComponent(x)}&y=${encodeURIComponent(y)}&r=${r}`),
};
