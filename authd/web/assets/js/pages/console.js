// The console's frame: the signed-in account (or the sign-in page), the
// side navigation, and the sub-page of /console/... . Which organization
// pages the navigation lists comes from the API's answer (the policy's
// decision for this session), not from a rule of this file.
import { api, me, setCsrf } from "../api.js";
import { navigate } from "../app.js";
import { h, render, alert, errorText, announce } from "../ui.js";

const ACCOUNT_PAGES = [
  ["/console", "Overview", () => import("./account.js"), "overview"],
  ["/console/security", "Two-step sign-in", () => import("./security.js"), "page"],
  ["/console/sessions", "Sessions", () => import("./account.js"), "sessions"],
  ["/console/activity", "Activity", () => import("./activity.js"), "page"],
  ["/console/settings", "Account settings", () => import("./settings.js"), "page"],
  ["/console/tokens", "API tokens", () => import("./tokens.js"), "page"],
];

// An organization page is listed when the policy allows one of its acts.
const ORG_PAGES = [
  ["/console/organization/users", "Users", () => import("./orgs.js"), "members", ["org_members_read"]],
  ["/console/organization/invitations", "Invitations", () => import("./orgs.js"), "invitations", ["org_invite", "org_invites_read"]],
  ["/console/organization/teams", "Teams", () => import("./orgs.js"), "teams", ["org_teams_read"]],
  ["/console/organization/products", "Products", () => import("./orgs.js"), "products", ["org_products_read"]],
  ["/console/organization/partners", "Partners", () => import("./orgs.js"), "partners", ["org_partners_read"]],
  ["/console/organization/billing", "Billing", () => import("./billing.js"), "page", ["org_billing_read"]],
  ["/console/organization/support", "Support access", () => import("./support.js"), "page", ["org_support_read"]],
  ["/console/organization/audit", "Audit trail", () => import("./orgs.js"), "audit", ["org_audit_read"]],
  ["/console/organization/tokens", "Organization tokens", () => import("./tokens.js"), "org", ["org_tokens_read"]],
];

let carried = null;

export async function page(path) {
  // The account, its organizations and the page's module, at once: three
  // waits in one.
  const known = ACCOUNT_PAGES.concat(ORG_PAGES).find((p) => p[0] === path);
  const [account, orgList] = await Promise.all([me(), api("GET", "organizations").catch(() => null),
    known ? known[2]() : null]);
  if (!account) {
    navigate("/login?next=" + encodeURIComponent(location.pathname + location.search), true);
    return;
  }
  if (account.session.login_email_required) {
    // Signed in with a recovery login: a new login email comes first.
    topNav(account);
    document.getElementById("sidenav").hidden = true;
    (await import("./settings.js")).newLoginEmail(account);
    return;
  }
  const orgs = orgList ? orgList.organizations : (await api("GET", "organizations")).organizations;
  const org = orgs.find((o) => o.current) || null;
  // A page's message survives its reload ("... is removed.").
  const ctx = { account, org, orgs, path, notice: carried, reload: null };
  const note = carried;
  carried = null;
  ctx.reload = async () => {
    carried = ctx.notice;
    await page(path);
  };
  const orgPages = org ? ORG_PAGES.filter((p) => p[4].some((a) => org.allowed.includes(a))) : [];
  topNav(account);
  sideNav(path, ctx, orgPages);
  const entry = ACCOUNT_PAGES.find((p) => p[0] === path) || orgPages.find((p) => p[0] === path);
  if (!entry) {
    render("Not found", h("h1", {}, "Page not found"),
      h("p", {}, "This page does not exist, or your role in this organization does not show it."));
    return;
  }
  const mod = await entry[2]();
  if ((location.pathname.replace(/\/+$/, "") || "/") !== path) return; // moved on meanwhile
  try {
    await mod[entry[3]](ctx);
    if (note) announce(note);
    return;
  } catch (e) {
    if (e.code === "unauthenticated" || e.code === "session_expired") {
      navigate("/login?notice=expired&next=" + encodeURIComponent(location.pathname), true);
      return;
    }
    render("Error", h("h1", {}, "Something went wrong"), alert("error", errorText(e)));
  }
}

function topNav(account) {
  const out = h("button", { type: "button", class: "secondary", onclick: async () => {
    try { await api("POST", "logout"); } catch (e) { /* gone already */ }
    setCsrf(null);
    navigate("/login", true);
  } }, "Sign out");
  document.getElementById("topnav").replaceChildren(
    h("span", { id: "whoami" }, account.name || account.email), out);
}

function sideNav(path, ctx, orgPages) {
  const nav = document.getElementById("sidenav");
  const link = ([href, text]) => h("li", {}, h("a", { href, "data-nav": true,
    "aria-current": href === path ? "page" : undefined }, text));
  const parts = [h("h2", {}, "Your account"), h("ul", {}, ACCOUNT_PAGES.map(link))];
  if (ctx.org) {
    parts.push(h("h2", { id: "org-heading" }, "Organization"), switcher(ctx), h("ul", {}, orgPages.map(link)));
  }
  nav.replaceChildren(...parts);
  nav.hidden = false;
}

// The organization switcher: instant, no new sign-in (the session's
// current organization changes).
function switcher(ctx) {
  const sel = h("select", { id: "org-switch", "aria-labelledby": "org-heading" },
    ctx.orgs.map((o) => h("option", { value: o.id, selected: o.current }, `${o.name} (${o.role.replace(/_/g, " ")})`)));
  const status = h("div", { role: "status" });
  const go = h("button", { type: "button", class: "secondary" }, "Switch");
  go.addEventListener("click", async () => {
    if (sel.value === ctx.org.id) return;
    try {
      await api("PUT", "session/organization", { organization_id: sel.value });
      navigate(location.pathname.startsWith("/console/organization") ? "/console/organization/users" : location.pathname, true);
    } catch (e) {
      status.replaceChildren(alert("error", errorText(e)));
    }
  });
  return h("div", { class: "switcher" }, sel, ctx.orgs.length > 1 ? go : null, status);
}
