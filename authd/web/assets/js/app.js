// The pages' router: one shell (index.html) answers every page path, and
// this picks the page module by location.pathname. Links with data-nav
// move without reloading.
import { h, render, alert, errorText } from "./ui.js";

const ROUTES = [
  ["/", () => import("./pages/home.js")],
  ["/login", () => import("./pages/login.js")],
  ["/signup", () => import("./pages/signup.js")],
  ["/forgot-password", () => import("./pages/recovery.js")],
  ["/forgot-login", () => import("./pages/recovery.js")],
  ["/recovery/reset", () => import("./pages/recovery.js")],
  ["/verify", () => import("./pages/recovery.js")],
  ["/email/verify", () => import("./pages/links.js")],
  ["/account/close", () => import("./pages/links.js")],
  ["/invitations/accept", () => import("./pages/links.js")],
  ["/console", () => import("./pages/console.js")],
];

function pick(path) {
  for (const [p, load] of ROUTES) if (p === path) return load;
  if (path.startsWith("/console/")) return ROUTES.find((r) => r[0] === "/console")[1];
  return null;
}

let generation = 0;

export async function show() {
  const gen = ++generation;
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const load = pick(path);
  if (!load) {
    render("Not found", h("div", { class: "card narrow" }, h("h1", {}, "Page not found"),
      h("p", {}, h("a", { href: "/", "data-nav": true }, "Go to the start page"))));
    return;
  }
  if (!path.startsWith("/console")) {
    // Outside the console nobody is shown as signed in.
    document.getElementById("topnav").replaceChildren();
    document.getElementById("sidenav").hidden = true;
  }
  try {
    const mod = await load();
    if (gen !== generation) return;
    await mod.page(path, new URLSearchParams(location.search));
  } catch (e) {
    render("Error", h("div", { class: "card narrow" }, h("h1", {}, "Something went wrong"),
      alert("error", errorText(e))));
  }
}

export function navigate(path, replace = false) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  show();
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[data-nav]");
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
  ev.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", show);
show();
