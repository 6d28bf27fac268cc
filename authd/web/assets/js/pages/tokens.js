// API tokens: the account's own (GET/POST/DELETE /1/me/tokens) and, for
// those the policy lets, the current organization's. A new token is shown
// once.
import { api } from "../api.js";
import { h, field, form, checkbox, render, alert, when, table, errorText } from "../ui.js";

const SCOPES = ["account:read", "account:write", "organizations:read", "organizations:write", "billing:read", "billing:write"];

export async function page(ctx) {
  await tokensPage(ctx, "me/tokens", "API tokens", SCOPES);
}

export async function org(ctx) {
  await tokensPage(ctx, `organizations/${ctx.org.id}/tokens`, `API tokens of ${ctx.org.name}`,
    SCOPES.filter((s) => s.startsWith("organizations:")));
}

let fresh = null;

async function tokensPage(ctx, path, title, scopes) {
  const list = (await api("GET", path)).tokens;
  const status = h("div", { id: "page-status", tabindex: "-1" });
  if (ctx.notice) status.append(alert("ok", ctx.notice));
  ctx.notice = null;
  const rows = list.map((t) => {
    const b = h("button", { type: "button", class: "danger", "aria-label": `Revoke ${t.name}, made ${when(t.created_at)}` }, "Revoke");
    b.addEventListener("click", async () => {
      try {
        await api("DELETE", `${path}/${t.id}`);
        ctx.notice = `${t.name} is revoked.`;
        await ctx.reload();
      } catch (e) { status.replaceChildren(alert("error", errorText(e))); }
    });
    return [t.name, t.scopes.join(", "), when(t.created_at), t.last_used_at ? when(t.last_used_at) : "never",
      t.expires_at ? when(t.expires_at) : "never", b];
  });
  const shown = h("div", {});
  if (fresh) {
    // The new token, once: shown above the list it joined, then forgotten.
    shown.append(h("div", { class: "card" }, h("h2", { tabindex: "-1", id: "new-token-title" }, `Your token ${fresh.name}`),
      alert("info", "Copy it now: it is shown only once."), h("p", { class: "mono", id: "new-token-value" }, fresh.token)));
    fresh = null;
  }
  render("API tokens", h("h1", {}, title), status, shown,
    h("section", { class: "card", "aria-labelledby": "new-token" },
      h("h2", { id: "new-token" }, "New token"),
      h("p", {}, "A token acts for you in programs, within its scopes, at most 60 requests a minute. It cannot change your password or second factors."),
      form({
        label: "New API token",
        submit: "Create the token",
        async onsubmit(v) {
          const chosen = scopes.filter((s) => v["scope:" + s]);
          fresh = await api("POST", path, { name: v.name.trim(), scopes: chosen });
          await ctx.reload();
        },
      }, field({ name: "name", label: "Name", maxlength: 64 }),
      h("fieldset", {}, h("legend", {}, "Scopes"), scopes.map((s) => checkbox("scope:" + s, s, s.endsWith(":read")))))),
    h("div", { class: "card" }, list.length ? table(["Name", "Scopes", "Created", "Last used", "Expires", ""], rows, "API tokens")
      : h("p", {}, "No token.")));
  const t = document.getElementById("new-token-title");
  if (t) t.focus();
}
