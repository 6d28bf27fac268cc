// The pages the links of authd's emails open: a new login email confirmed,
// an account closed (only on a press of the button: a mail scanner that
// opens the link closes nothing), an invitation seen and accepted (by the
// signed-in invitee, or with a new account). Each token leaves the address
// bar at once.
import { api, me, setCsrf } from "../api.js";
import { navigate } from "../app.js";
import { h, field, form, render, alert, errorText } from "../ui.js";

const INVITE_KEY = "authd.invitation";

function card(title, ...content) {
  render(title, h("div", { class: "narrow" }, h("div", { class: "card" }, h("h1", {}, title), ...content)));
}

// The link's token, then a clean address.
function takeToken(path, params) {
  const token = params.get("token");
  if (token) history.replaceState(null, "", path);
  return token;
}

export async function page(path, params) {
  if (path === "/email/verify") return emailVerify(takeToken(path, params));
  if (path === "/account/close") return accountClose(takeToken(path, params));
  let token = takeToken(path, params);
  if (token) sessionStorage.setItem(INVITE_KEY, token);
  else token = sessionStorage.getItem(INVITE_KEY);
  return invitation(token);
}

// On a press of the button: a mail scanner that opens the link changes
// nothing.
function emailVerify(token) {
  if (!token) return card("Confirm your new login email", alert("error", "This link is incomplete. Open it again from the email."));
  card("Confirm your new login email",
    h("p", {}, "Confirm that this address becomes the email you sign in with."),
    form({
      label: "Confirm the new login email",
      submit: "Confirm",
      async onsubmit() {
        try {
          const r = await api("POST", "email/verify", { token });
          card("Login email changed", alert("ok", `Your login is now ${r.email}. Sign in with it and your usual password.`),
            h("p", {}, h("a", { class: "button", href: "/login", "data-nav": true }, "Sign in")));
        } catch (e) {
          if (e.code === "code_expired") throw new Error("This link has expired or was used already");
          throw e;
        }
      },
    }));
}

function accountClose(token) {
  if (!token) return card("Close your account", alert("error", "This link is incomplete. Open it again from the email."));
  card("Close your account",
    alert("error", "Closing deletes your account and everything in it at once: sessions, second factors, devices, recovery options. It cannot be undone."),
    form({
      label: "Close your account",
      submit: "Close my account for good",
      class: "danger-form",
      async onsubmit() {
        await api("POST", "account/close", { token });
        setCsrf(null);
        card("Account closed", alert("ok", "Your account is closed and its data deleted."));
      },
    }));
}

const ROLES = { legal_representative: "legal representative", administrator: "administrator", collaborator: "collaborator", external: "external user" };

async function invitation(token) {
  if (!token) return card("Invitation", alert("error", "This link is incomplete. Open it again from the email."));
  let inv;
  try {
    inv = await api("POST", "invitations/view", { token });
  } catch (e) {
    sessionStorage.removeItem(INVITE_KEY);
    const why = { invitation_used: "This invitation was accepted already.", invitation_revoked: "This invitation was withdrawn.",
      invitation_expired: "This invitation has expired. Ask for a new one.", invitation_not_found: "This invitation does not exist (a newer one may have replaced it)." };
    return card("Invitation", alert("error", why[e.code] || errorText(e)));
  }
  const orgName = inv.organization ? inv.organization.name : inv.organization_name;
  const what = h("p", {}, `${inv.invited_by || "Someone"} invites ${inv.email} to join `, h("strong", {}, orgName),
    ` as ${ROLES[inv.role] || inv.role}${inv.billing ? ", with billing rights" : ""}.`);
  if (inv.account_exists) {
    const account = await me();
    if (!account) {
      return card("Invitation", what, h("p", {}, "Sign in with this address to accept."),
        h("p", {}, h("a", { class: "button", href: "/login?next=/invitations/accept", "data-nav": true }, "Sign in to accept")));
    }
    if (account.email !== inv.email) {
      return card("Invitation", what, alert("error", `You are signed in as ${account.email}. Sign in as ${inv.email} to accept.`));
    }
    return card("Invitation", what, form({
      label: "Accept the invitation",
      submit: "Accept",
      async onsubmit() {
        await api("POST", "invitations/accept", { token });
        sessionStorage.removeItem(INVITE_KEY);
        navigate("/console?joined=1", true);
      },
    }));
  }
  card("Invitation", what, h("p", {}, "Create your account to accept."), form({
    label: "Create your account",
    submit: "Create account and join",
    async onsubmit(v) {
      await api("POST", "invitations/signup", { token, name: v.name.trim(), password: v.password });
      sessionStorage.removeItem(INVITE_KEY);
      await api("POST", "login", { email: inv.email, password: v.password });
      navigate("/console", true);
    },
  },
  field({ name: "name", label: "Your name", autocomplete: "name", maxlength: 100 }),
  field({ name: "password", type: "password", label: "Password", autocomplete: "new-password",
    hint: "At least 8 characters; longer is better. Common passwords are refused." })));
}
