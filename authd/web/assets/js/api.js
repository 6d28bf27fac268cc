// The API as the pages call it: JSON over fetch on /1/, the session cookie
// sent by the browser, and the CSRF token the login answered (kept for this
// tab in sessionStorage, read again from GET /1/me after a reload).

const CSRF_KEY = "authd.csrf";

export class ApiError extends Error {
  constructor(status, body, headers) {
    super((body && (body.detail || body.title)) || `request failed (${status})`);
    this.status = status;
    this.code = (body && body.code) || "http_" + status;
    this.field = body && body.field;
    this.body = body || {};
    const retry = headers && headers.get("Retry-After");
    this.retryAfter = retry ? parseInt(retry, 10) : 0;
  }
}

export function setCsrf(token) {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

// One call: method, path under /1/, an optional JSON body. Resolves to the
// parsed body (null for 204); rejects with ApiError.
export async function api(method, path, body, extra = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    const csrf = sessionStorage.getItem(CSRF_KEY);
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  Object.assign(headers, extra.headers || {});
  let res;
  try {
    res = await fetch("/1/" + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, { code: "network", title: "the server could not be reached" });
  }
  let data = null;
  const type = res.headers.get("Content-Type") || "";
  if (res.status !== 204 && type.includes("json")) data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data, res.headers);
  if (data && data.csrf_token) setCsrf(data.csrf_token);
  return data;
}

// The signed-in account (GET /1/me), or null when no session is live.
export async function me() {
  try {
    const m = await api("GET", "me");
    if (m.session && m.session.csrf_token) setCsrf(m.session.csrf_token);
    return m;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}
