// The account's activity: sign-ins (time, address, approximate place,
// browser, method) and security events, to check a warning against.
import { api } from "../api.js";
import { h, render, when, table } from "../ui.js";

export async function page() {
  const list = (await api("GET", "me/activity")).activity;
  render("Activity", h("h1", {}, "Recent activity"),
    h("div", { class: "card" }, list.length ? table(["When", "What", "Address", "Place", "Browser", "Method"],
      list.map((e) => [when(e.at), [e.kind.replace(/_/g, " "), e.outcome ? ` (${e.outcome})` : ""], e.ip || "", e.location || "",
        e.browser || "", e.method || ""]), "Recent activity") : h("p", {}, "Nothing yet.")));
}
