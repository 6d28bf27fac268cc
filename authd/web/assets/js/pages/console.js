// The console's frame: the signed-in account (or the sign-in page), the
// side navigation, and the sub-page of /console/... . Which organization
// pages the navigation lists comes from the API's answer (the policy's
// decision for this session), not from a rule of this file.
import { api, me, setCsrf } from "../api.js";
import { navigate } from "../app.js";
import { h, render, alert, errorText } from "../ui.js";

const ACCOUNT_PAGES = [
  ["/console", "Overview", () => import("./account.js"), "overview"],
  ["/console/security", "Two-step sign-in", () => import("./security.js"), "page"],
  ["/console/sessions", "Sessions", () => import("./account.js"), "sessions"],
];

export async function page(path) {
  const account = await me();
  if (!account) {
    navigate("/login?next=" + encodeURIComponent(location.pathname + location.search), true);
    return;
  }
  const ctx = { account, path, reload: () => page(path) };
  topNav(account);
  sideNav(path);
  const entry = ACCOUNT_PAGES.find((p) => p[0] === path);
  if (!entry) {
    render("Not found", h("h1", {}, "Page not found"));
    return;
  }
  const mod = await entry[2]();
  try {
    await mod[entry[3]](ctx);
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

function sideNav(path) {
  const nav = document.getElementById("sidenav");
  const link = ([href, text]) => h("li", {}, h("a", { href, "data-nav": true,
    "aria-current": href === path ? "page" : undefined }, text));
  nav.replaceChildren(h("h2", {}, "Your account"), h("ul", {}, ACCOUNT_PAGES.map(link)));
  nav.hidden = false;
}
