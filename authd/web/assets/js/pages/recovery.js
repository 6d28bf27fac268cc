// Getting back in: a forgotten password (a code by SMS or a link by email,
// then a new password with the second factor when the account has one), a
// forgotten login email (sent to the account's own channels), and an
// identity-verification case with its documents for whom no option helps.
// Answers never say whether an account exists.
import { api, setCsrf } from "../api.js";
import { h, field, form, render, alert, errorText } from "../ui.js";

const back = () => h("p", {}, h("a", { href: "/login", "data-nav": true }, "Back to sign-in"));

export async function page(path, params) {
  setCsrf(null);
  if (path === "/forgot-password") return forgotPassword();
  if (path === "/recovery/reset") return resetLink(params);
  if (path === "/forgot-login") return forgotLogin();
  return verify(params);
}

function card(title, ...content) {
  render(title, h("div", { class: "narrow" }, h("div", { class: "card" }, h("h1", {}, title), ...content)));
}

function forgotPassword() {
  const next = h("div", {});
  card("Forgotten password",
    h("p", {}, "We send a code by SMS to your recovery number, or a link to your recovery email."),
    form({
      label: "Forgotten password",
      submit: "Send",
      async onsubmit(v, f) {
        const login = v.login.trim();
        await api("POST", "recovery/password", { login });
        f.hidden = true;
        next.replaceChildren(
          alert("ok", "If the account has a recovery option, a code or a link is on its way. The link works for 24 hours, the code for 10 minutes."),
          h("h2", {}, "Got a code by SMS?"),
          form({
            label: "Code from the SMS",
            submit: "Check the code",
            async onsubmit(c) {
              const g = await api("POST", "recovery/password/verify", { login, code: c.code.replace(/\s+/g, "") });
              newPassword(g);
            },
          }, field({ name: "code", label: "Code from the SMS", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 12 })));
        next.querySelector("h2").setAttribute("tabindex", "-1");
        next.querySelector("h2").focus();
      },
    }, field({ name: "login", type: "email", label: "Login email", autocomplete: "username",
      hint: "Or the recovery login you received by SMS." })),
    next,
    h("p", {}, "No recovery option? ", h("a", { href: "/verify?reason=password_reset", "data-nav": true }, "Verify your identity")),
    back());
}

async function resetLink(params) {
  const token = params.get("token");
  // The token is a credential: off the address bar and the history at once.
  history.replaceState(null, "", "/recovery/reset");
  if (!token) {
    card("Reset your password", alert("error", "This link is incomplete. Open it again from the email."), back());
    return;
  }
  try {
    newPassword(await api("POST", "recovery/password/verify", { token }));
  } catch (e) {
    card("Reset your password", alert("error", e.code === "code_expired"
      ? "This link has expired or was used already. Ask for a new one."
      : errorText(e)), h("p", {}, h("a", { href: "/forgot-password", "data-nav": true }, "Ask for a new link")));
  }
}

function newPassword(grant) {
  const methods = grant.second_factor || [];
  const fields = [field({ name: "new_password", type: "password", label: "New password", autocomplete: "new-password",
    hint: "At least 8 characters; longer is better. Common passwords are refused." })];
  if (grant.second_factor_required && methods.includes("totp")) {
    fields.push(field({ name: "code", label: "Code from your authenticator app or phone", inputmode: "numeric",
      autocomplete: "one-time-code", maxlength: 8, required: false,
      hint: methods.includes("backup_code") ? "Or leave it empty and give a backup code below." : undefined }));
  }
  if (grant.second_factor_required && methods.includes("backup_code")) {
    fields.push(field({ name: "backup_code", label: "Backup code", maxlength: 40, required: false }));
  }
  card("Choose a new password",
    grant.second_factor_required ? h("p", {}, "Your account has two-step sign-in: recovery still asks for it.") : null,
    form({
      label: "Choose a new password",
      submit: "Set the password",
      async onsubmit(v) {
        const body = { reset_token: grant.reset_token, new_password: v.new_password };
        if (v.code) body.code = v.code.trim();
        if (v.backup_code) body.backup_code = v.backup_code.trim();
        await api("POST", "recovery/password/reset", body);
        card("Password changed", alert("ok", "Your password is changed, and every session of your account has ended."),
          h("p", {}, h("a", { class: "button", href: "/login", "data-nav": true }, "Sign in")));
      },
    }, ...fields));
}

function forgotLogin() {
  const done = h("div", {});
  card("Forgotten login email",
    h("p", {}, "We send your login to your account's own phone and email, never to this page."),
    form({
      label: "Forgotten login email",
      submit: "Send my login",
      async onsubmit(v, f) {
        const body = { phone: v.phone.trim() };
        if (v.email.trim()) body.email = v.email.trim();
        await api("POST", "recovery/login", body);
        f.hidden = true;
        done.replaceChildren(alert("ok", "If an account has this recovery number, its login is on its way to the account's own channels."));
      },
    },
    field({ name: "phone", type: "tel", label: "Recovery mobile number", autocomplete: "tel", hint: "With the country code, like +41 79 123 45 67." }),
    field({ name: "email", type: "email", label: "Recovery email (when the account has one)", autocomplete: "email", required: false })),
    done,
    h("p", {}, "Nothing arrives? ", h("a", { href: "/verify?reason=login_forgotten", "data-nav": true }, "Verify your identity")),
    back());
}

const REASONS = [
  ["password_reset", "I forgot my password and no recovery option works"],
  ["login_forgotten", "I forgot my login email"],
  ["unlock", "My account is locked"],
];

function verify(params) {
  const reason = REASONS.some((r) => r[0] === params.get("reason")) ? params.get("reason") : "password_reset";
  const after = h("div", {});
  card("Verify your identity",
    h("p", {}, "A person checks your documents (an ID document, a photo of you holding it) and answers by email. Documents are deleted 72 hours after upload if nobody processed them."),
    form({
      label: "Open an identity-verification case",
      submit: "Open the case",
      async onsubmit(v, f) {
        const body = { reason: v.reason, contact_email: v.contact_email.trim() };
        if (v.reason !== "login_forgotten") body.login = v.login.trim();
        if (v.details.trim()) body.details = v.details.trim();
        const c = await api("POST", "verification/cases", body);
        f.hidden = true;
        upload(after, c);
      },
    },
    field({ name: "reason", type: "select", label: "What happened", options: REASONS, value: reason }),
    field({ name: "login", type: "text", label: "The account's login email", autocomplete: "username", required: false,
      hint: "Leave empty when you forgot it." }),
    field({ name: "contact_email", type: "email", label: "Where we answer you", autocomplete: "email" }),
    field({ name: "details", type: "text", label: "Anything that helps us (optional)", required: false, maxlength: 500 })),
    after, back());
}

function upload(where, c) {
  const list = h("ul", { id: "documents" });
  const status = h("div", { role: "status" });
  const input = h("input", { type: "file", id: "document", accept: "image/jpeg,image/png,image/heic,application/pdf" });
  const send = h("button", { type: "button" }, "Upload");
  send.addEventListener("click", async () => {
    const file = input.files[0];
    if (!file) {
      status.replaceChildren(alert("error", "Choose a file first."));
      return;
    }
    send.disabled = true;
    try {
      const res = await fetch(`/1/verification/cases/${c.case_id}/documents`, {
        method: "POST",
        headers: { Authorization: "Bearer " + c.case_token, "Content-Type": file.type || "application/octet-stream" },
        body: file,
      });
      if (!res.ok) {
        const b = await res.json().catch(() => ({}));
        throw Object.assign(new Error(b.title || "upload failed"), { code: b.code, status: res.status });
      }
      list.append(h("li", {}, file.name));
      status.replaceChildren(alert("ok", `${file.name} is uploaded.`));
      input.value = "";
    } catch (e) {
      status.replaceChildren(alert("error", errorText(e)));
    } finally {
      send.disabled = false;
    }
  });
  where.replaceChildren(
    alert("ok", "Your case is open. We wrote to you at the address you gave."),
    h("p", {}, "Your case number: ", h("strong", { class: "mono", id: "case-id" }, c.case_id)),
    h("h2", {}, "Add your documents"),
    h("p", {}, `Up to ${c.documents_max} files (JPEG, PNG, HEIC or PDF), each at most ${Math.floor(c.document_max_bytes / 1024)} KiB.`),
    h("label", { for: "document" }, "Document"), input, send, status,
    h("h3", {}, "Uploaded"), list);
  where.querySelector("h2").setAttribute("tabindex", "-1");
  where.querySelector("h2").focus();
}
