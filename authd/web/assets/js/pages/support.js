// Support access: the organization lets the operator's support staff reach
// one kind of content for 7 days; each grant can be revoked at any time.
import { api } from "../api.js";
import { h, field, form, render, alert, when, table, errorText } from "../ui.js";

const KINDS = [["mail", "Mail"], ["drive", "Drive folders"], ["chat", "Chat"]];
const may = (ctx, act) => ctx.org.allowed.includes(act);

export async function page(ctx) {
  const base = `organizations/${ctx.org.id}/support-grants`;
  const list = (await api("GET", base)).support_grants;
  const status = h("div", { id: "page-status", tabindex: "-1" });
  if (ctx.notice) status.append(alert("ok", ctx.notice));
  ctx.notice = null;
  const rows = list.map((g) => {
    let act = "";
    if (g.state === "active" && may(ctx, "org_support_revoke")) {
      act = h("button", { type: "button", class: "danger",
        "aria-label": `Revoke the ${g.kind} grant${g.request ? " for " + g.request : ""} ending ${when(g.expires_at)}` }, "Revoke");
      act.addEventListener("click", async () => {
        try {
          await api("DELETE", `${base}/${g.id}`);
          ctx.notice = `Support access to ${g.kind} is revoked.`;
          await ctx.reload();
        } catch (e) { status.replaceChildren(alert("error", errorText(e))); }
      });
    }
    return [g.kind, g.request || "", when(g.created_at), when(g.expires_at), g.state, act];
  });
  const grant = may(ctx, "org_support_grant") ? h("section", { class: "card", "aria-labelledby": "grant-title" },
    h("h2", { id: "grant-title" }, "Let support in"),
    h("p", {}, "Support staff handling your request reach only this kind of content, for 7 days. Every use is recorded in the audit trail."),
    form({ label: "Grant support access", submit: "Grant access", async onsubmit(v) {
      const body = { kind: v.kind };
      if (v.request.trim()) body.request = v.request.trim();
      await api("POST", base, body);
      ctx.notice = `Support may reach your ${v.kind} for 7 days.`;
      await ctx.reload();
    } }, field({ name: "kind", type: "select", label: "Content", options: KINDS, value: "mail" }),
    field({ name: "request", label: "Support request number (optional)", required: false, maxlength: 64 }))) : null;
  render("Support access", h("h1", {}, "Support access"), status, grant,
    h("div", { class: "card" }, list.length ? table(["Content", "Request", "Granted", "Ends", "State", ""], rows, "Support grants")
      : h("p", {}, "Support has no access.")));
}
