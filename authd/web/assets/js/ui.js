// DOM helpers for the pages: elements are built with h() (text is always
// set as text, never parsed as HTML), forms get labels, hints and error
// messages tied to their fields, and each page sets its title and moves
// the focus to its heading.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// A labelled input. opts: type, name, label, hint, autocomplete, required,
// value, inputmode, pattern, maxlength, min, max, step.
export function field(opts) {
  const id = nextId(opts.name);
  const hintId = opts.hint ? id + "-hint" : null;
  const errId = id + "-error";
  const attrs = {
    id, name: opts.name, type: opts.type || "text", autocomplete: opts.autocomplete || "off",
    required: opts.required !== false, inputmode: opts.inputmode, pattern: opts.pattern,
    maxlength: opts.maxlength, min: opts.min, max: opts.max, step: opts.step,
    value: opts.value, spellcheck: opts.type === "text" ? "false" : undefined,
    "aria-describedby": [hintId, errId].filter(Boolean).join(" "),
  };
  let input;
  if (opts.type === "select") {
    delete attrs.type;
    input = h("select", attrs, (opts.options || []).map(([v, t]) =>
      h("option", { value: v, selected: v === opts.value }, t)));
  } else {
    input = h("input", attrs);
  }
  return h("div", { class: "field" },
    h("label", { for: id }, opts.label),
    hintId ? h("p", { class: "hint", id: hintId }, opts.hint) : null,
    input,
    h("p", { class: "field-error", id: errId, hidden: true }));
}

export function checkbox(name, label, checked) {
  const id = nextId(name);
  return h("div", { class: "field" }, h("label", { class: "check", for: id },
    h("input", { type: "checkbox", id, name, checked }), label));
}

// A form whose submit runs handler(values, form); errors it throws are
// shown (on the field they name, or above the form) and the focus goes to
// them. The button is disabled while the handler runs.
export function form(opts, ...fields) {
  // The error inside carries role=alert; the box itself is no live region
  // (nested ones read the message twice).
  const alertBox = h("div", { class: "form-alert" });
  const button = h("button", { type: "submit" }, opts.submit || "Continue");
  const f = h("form", { novalidate: true, "aria-label": opts.label, class: opts.class },
    alertBox, ...fields, h("div", {}, button, opts.after || null));
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const values = {};
    for (const el of f.elements) {
      if (!el.name) continue;
      values[el.name] = el.type === "checkbox" ? el.checked : el.value;
    }
    for (const el of f.elements) {
      if (el.required && el.name && el.type !== "checkbox" && !el.value.trim()) {
        showFieldError(f, el.name, "This field is required.");
        return;
      }
    }
    button.disabled = true;
    try {
      await opts.onsubmit(values, f);
    } catch (e) {
      showError(f, e);
    } finally {
      button.disabled = false;
    }
  });
  return f;
}

export function clearErrors(f) {
  const a = f.querySelector(".form-alert");
  if (a) a.replaceChildren();
  for (const p of f.querySelectorAll(".field-error")) { p.hidden = true; p.textContent = ""; }
  for (const el of f.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

export function showFieldError(f, name, text) {
  const el = f.elements.namedItem(name);
  if (!el || !el.id) return false;
  const p = document.getElementById(el.id + "-error");
  el.setAttribute("aria-invalid", "true");
  p.textContent = text;
  p.hidden = false;
  el.focus();
  return true;
}

// Shows an error (an ApiError or a message) in form f.
export function showError(f, e, fieldMap = {}) {
  const text = typeof e === "string" ? e : errorText(e);
  const name = e && e.field ? (fieldMap[e.field] || e.field) : null;
  if (name && showFieldError(f, name, text)) return;
  const a = f.querySelector(".form-alert");
  a.replaceChildren(alert("error", text));
  a.setAttribute("tabindex", "-1");
  a.focus();
}

export function alert(kind, ...text) {
  return h("div", { class: "alert " + kind, role: kind === "error" ? "alert" : "status" }, ...text);
}

export function waitText(seconds) {
  if (seconds <= 1) return "a second";
  if (seconds < 90) return `${seconds} seconds`;
  const m = Math.ceil(seconds / 60);
  if (m < 90) return `${m} minutes`;
  return `${Math.ceil(m / 60)} hours`;
}

const MESSAGES = {
  network: "The server could not be reached. Check your connection and try again.",
  invalid_credentials: "The email or password is wrong.",
  invalid_code: "That code is wrong. Check it and try again.",
  code_reused: "That code was already used. Wait for the next one.",
  code_expired: "That code has expired. Ask for a new one.",
  login_expired: "This sign-in has expired. Start again.",
  session_expired: "Your session has expired. Sign in again.",
  unauthenticated: "Sign in to continue.",
  second_factor_locked: "Codes from your authenticator are locked after too many wrong ones. Use a backup code.",
  push_paused: "Push approval is paused on this account for a while. Use a code instead.",
  too_many_pushes: "Too many approval requests were sent. Use a code instead, or wait.",
  too_many_messages: "Too many messages were sent to this number today.",
  email_taken: "An account with this email exists already. Sign in instead.",
  password_too_short: "The password is too short.",
  password_blocklisted: "This password is too common or too easy to guess. Choose another.",
  wrong_password: "The current password is wrong.",
  reauth_required: "Confirm it is you: sign in again with your second factor, then retry.",
  forbidden: "You are not allowed to do this.",
  csrf_failed: "This page is out of date. Reload it and try again.",
  store_unavailable: "The service is busy. Try again in a moment.",
  overloaded: "The service is busy. Try again in a moment.",
};

export function errorText(e) {
  if (!e) return "Something went wrong.";
  if (MESSAGES[e.code] && e.retryAfter > 0) return `${MESSAGES[e.code]} Try again in ${waitText(e.retryAfter)}.`;
  if (MESSAGES[e.code]) return MESSAGES[e.code];
  if (e.status === 429 || e.code === "too_many_attempts" || e.code === "rate_limited") {
    const wait = e.retryAfter || 0;
    return wait > 0
      ? `Too many attempts. Wait ${waitText(wait)} before trying again.`
      : "Too many attempts. Wait a moment before trying again.";
  }
  if (MESSAGES[e.code]) return MESSAGES[e.code];
  // The API's own message: lowercase, no period. Make it a sentence.
  const m = e.message || "Something went wrong";
  return m.charAt(0).toUpperCase() + m.slice(1) + ".";
}

// Renders a page: title, content, focus on its heading (for screen readers
// and keyboards, a new page starts at its top).
export function render(title, ...content) {
  document.title = `${title} · Console`;
  const main = document.getElementById("main");
  main.replaceChildren(...content);
  const h1 = main.querySelector("h1");
  if (h1) {
    h1.setAttribute("tabindex", "-1");
    h1.focus({ preventScroll: true });
  }
  document.getElementById("announce").textContent = title;
}

// Says text to screen readers (a page's notice after its redraw).
export function announce(text) {
  const a = document.getElementById("announce");
  a.textContent = "";
  setTimeout(() => { a.textContent = text; }, 50);
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

export function table(headers, rows, caption) {
  return h("div", { class: "table-wrap" }, h("table", {},
    caption ? h("caption", { class: "visually-hidden" }, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))))));
}

// Saves text as a file the browser downloads.
export function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
