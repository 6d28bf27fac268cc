// Sign-in: the password, then a second factor when the account has one:
// push approval (the number to type on the phone shown large, the answer
// learned over the wait WebSocket, or by long poll when that fails), a
// code from an authenticator app, a code by SMS, or a backup code.
import { api, setCsrf } from "../api.js";
import { navigate } from "../app.js";
import { h, field, form, render, alert, errorText } from "../ui.js";

const NAMES = {
  push: "Approve on your phone",
  totp: "Use a code from your authenticator app",
  sms: "Get a code by SMS",
  backup_code: "Use a backup code",
};

// Where to go once signed in: a path of this site only.
function nextPath(params) {
  const n = params.get("next") || "";
  try {
    const u = new URL(n, location.origin);
    if (n.startsWith("/") && u.origin === location.origin) return u.pathname + u.search;
  } catch (e) { /* not a URL */ }
  return "/console";
}

export async function page(_path, params) {
  stopWaiting(); // a push step left by Back or a link
  setCsrf(null);
  const notice = params.get("notice");
  render("Sign in", h("div", { class: "narrow" },
    h("div", { class: "card" },
      h("h1", {}, "Sign in"),
      notice === "expired" ? alert("info", "Your session has ended. Sign in again.") : null,
      notice === "reauth" ? alert("info", "This change needs a recent sign-in: sign in again to confirm it is you.") : null,
      form({
        label: "Sign in",
        submit: "Log in",
        async onsubmit(v) {
          const r = await api("POST", "login", { email: v.email.trim(), password: v.password });
          if (r.state === "done") return done(params);
          secondFactor(r, params);
        },
      },
      field({ name: "email", type: "text", inputmode: "email", label: "Email", autocomplete: "username" }),
      field({ name: "password", type: "password", label: "Password", autocomplete: "current-password" })),
      h("p", {}, h("a", { href: "/forgot-password", "data-nav": true }, "Forgot your password?"),
        " · ", h("a", { href: "/forgot-login", "data-nav": true }, "Forgot your login email?")),
      h("p", {}, "No account yet? ", h("a", { href: "/signup", "data-nav": true }, "Create one")))));
}

function done(params) {
  navigate(nextPath(params), true);
}

let stopWaiting = () => {};

function secondFactor(login, params) {
  const methods = login.methods || [];
  const body = h("div", { id: "factor" });
  const others = h("div", { class: "methods", role: "group", "aria-label": "Other ways to sign in" });
  const choose = (m) => {
    stopWaiting();
    others.replaceChildren(...methods.filter((x) => x !== m).map((x) =>
      h("button", { type: "button", class: "link", onclick: () => choose(x) }, NAMES[x])));
    body.replaceChildren();
    STEPS[m](body, login, params);
    // The button pressed is gone: the step's heading takes the focus.
    const h2 = body.querySelector("h2");
    if (h2 && !body.querySelector("input")) {
      h2.setAttribute("tabindex", "-1");
      h2.focus();
    }
  };
  render("Second step", h("div", { class: "narrow" }, h("div", { class: "card" },
    h("h1", {}, "Confirm it is you"), body, others,
    h("p", {}, h("a", { href: "/login", "data-nav": true, onclick: () => stopWaiting() }, "Start again")))));
  if (methods.length === 0) {
    body.append(alert("error", "This account has no second factor that works here. Recover it through ",
      h("a", { href: "/forgot-password", "data-nav": true }, "a forgotten password"), "."));
    return;
  }
  choose(methods[0]);
}

function codeStep(body, login, params, opts) {
  body.append(h("h2", {}, opts.title), opts.before || null, form({
    label: opts.title,
    submit: "Verify",
    async onsubmit(v) {
      await api("POST", opts.path, { login_id: login.login_id, code: v.code.replace(/\s+/g, "") });
      done(params);
    },
  }, field({ name: "code", label: opts.label, hint: opts.hint, inputmode: opts.inputmode,
    autocomplete: "one-time-code", maxlength: opts.maxlength })));
  body.querySelector("input").focus();
}

const STEPS = {
  totp(body, login, params) {
    codeStep(body, login, params, {
      title: "Authenticator code", path: "login/totp", label: "6-digit code",
      hint: "Open your authenticator app and type the code it shows for this account.",
      inputmode: "numeric", maxlength: 8,
    });
  },
  backup_code(body, login, params) {
    codeStep(body, login, params, {
      title: "Backup code", path: "login/backup-code", label: "Backup code",
      hint: "One of the codes you saved when you turned on two-step sign-in, like abcd-efgh-jkmn-pqrs. Each works once.",
      maxlength: 40,
    });
  },
  sms(body, login, params) {
    const status = h("div", { role: "status" });
    const send = h("button", { type: "button", class: "secondary" }, "Send a code");
    body.append(h("h2", {}, "Code by SMS"), status, send);
    send.addEventListener("click", async () => {
      send.disabled = true;
      try {
        await api("POST", "login/sms", { login_id: login.login_id });
        status.replaceChildren(alert("ok", "A code is on its way to your phone."));
        send.textContent = "Send another code";
        if (!body.querySelector("form")) {
          codeStep(body, login, params, {
            title: "Type the code", path: "login/sms", label: "Code from the SMS",
            inputmode: "numeric", maxlength: 10,
          });
        }
      } catch (e) {
        status.replaceChildren(alert("error", errorText(e)));
      } finally {
        send.disabled = false;
      }
    });
  },
  push(body, login, params) {
    pushStep(body, login, params);
  },
};

async function pushStep(body, login, params) {
  const status = h("div", { role: "status", "aria-live": "polite" });
  body.append(h("h2", {}, "Approve on your phone"), status);
  let ch;
  try {
    ch = await api("POST", "login/push", { login_id: login.login_id });
  } catch (e) {
    status.replaceChildren(alert("error", errorText(e)));
    return;
  }
  if (!document.body.contains(status)) return; // another method was chosen meanwhile
  const retry = h("button", { type: "button", class: "secondary", onclick: () => {
    stopWaiting();
    body.replaceChildren();
    pushStep(body, login, params);
  } }, "Send a new request");
  status.before(h("p", {}, "We sent a request to your phone. Type this number there to approve:"),
    h("p", { class: "number" }, h("span", { class: "visually-hidden" }, "Number "),
      h("span", { id: "push-number" }, String(ch.number))));
  status.replaceChildren(h("p", {}, h("span", { class: "spinner", "aria-hidden": "true" }), " Waiting for your answer…"));
  const finish = async (msg) => {
    if (msg.state === "approved") {
      status.replaceChildren(alert("ok", "Approved. Signing you in…"));
      if (msg.session) {
        // From the WebSocket: the session comes without its cookie.
        await api("POST", "session/cookie", undefined, { headers: { Authorization: "Bearer " + msg.session } });
      }
      done(params);
    } else if (msg.state === "denied") {
      status.replaceChildren(alert("error", "The request was denied on your phone. If it was not you who denied it, start again."));
    } else if (msg.state === "expired") {
      status.replaceChildren(alert("error", "The request has expired."), retry);
    }
  };
  waitFor(login.login_id, finish, (e) => {
    status.replaceChildren(alert("error", errorText(e)), retry);
  });
}

// Learns the push answer: the WebSocket first; on a socket that cannot open
// or breaks, the long poll.
function waitFor(loginId, onEnd, onError) {
  let stopped = false;
  let ws = null;
  stopWaiting = () => {
    stopped = true;
    if (ws) ws.close();
  };
  const poll = async () => {
    while (!stopped) {
      let r;
      try {
        r = await api("POST", "login/wait", { login_id: loginId, timeout: 25 });
      } catch (e) {
        if (!stopped) onError(e);
        return;
      }
      if (stopped) return;
      if (r.state !== "pending") return onEnd(r).catch((e) => onError(e));
    }
  };
  let ended = false;
  try {
    ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/1/login/wait`,
      "authd-login-wait.v1");
  } catch (e) {
    poll();
    return;
  }
  ws.onopen = () => ws.send(JSON.stringify({ login_id: loginId }));
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch (e) { return; }
    if (msg.state === "pending") return;
    ended = true;
    if (msg.state === "error") onError({ code: msg.code, message: msg.code });
    else onEnd(msg).catch((e) => onError(e));
  };
  ws.onclose = () => {
    ws = null;
    if (!ended && !stopped) poll();
  };
}
