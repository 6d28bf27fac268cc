// The current organization's pages: people and roles, invitations, teams,
// products and who may use them, partners, the audit trail and the
// organization's API tokens. What each page offers follows `allowed`, the
// policy's answer for this session in GET /1/organizations.
import { api } from "../api.js";
import { h, field, form, checkbox, render, alert, when, table, errorText } from "../ui.js";

export const ROLES = [["collaborator", "Collaborator"], ["administrator", "Administrator"],
  ["legal_representative", "Legal representative"], ["external", "External user"]];
const roleName = (r) => (ROLES.find((x) => x[0] === r) || [r, r])[1];

function button(text, onclick, cls = "secondary", label) {
  const b = h("button", { type: "button", class: cls, "aria-label": label }, text);
  b.addEventListener("click", async () => {
    b.disabled = true;
    try { await onclick(); } finally { b.disabled = false; }
  });
  return b;
}

// Runs act, shows its error in status, reloads the page on success.
function acting(ctx, status, act, ok) {
  return async () => {
    try {
      await act();
      ctx.notice = typeof ok === "function" ? ok() : ok;
      await ctx.reload();
    } catch (e) {
      status.replaceChildren(alert("error", errorText(e)));
      status.focus();
    }
  };
}

function statusBox(ctx) {
  const s = h("div", { id: "page-status", tabindex: "-1" });
  if (ctx.notice) s.append(alert("ok", ctx.notice));
  ctx.notice = null;
  return s;
}

const may = (ctx, act) => ctx.org.allowed.includes(act);
const base = (ctx) => `organizations/${ctx.org.id}`;

export async function members(ctx) {
  const list = (await api("GET", base(ctx) + "/members")).members;
  const status = statusBox(ctx);
  const rows = list.map((m) => {
    const cells = [[m.name || "", h("br"), h("span", { class: "mono" }, m.email)], roleName(m.role), m.billing ? "Yes" : "No"];
    const acts = [];
    if (may(ctx, "org_member_change") && m.account_id !== ctx.account.account_id) {
      const id = `role-${m.account_id}`;
      const sel = h("select", { id, "aria-label": `Role of ${m.email}` },
        ROLES.map(([v, t]) => h("option", { value: v, selected: v === m.role }, t)));
      acts.push(sel, button("Change", acting(ctx, status, () => api("PATCH", `${base(ctx)}/members/${m.account_id}`, { role: sel.value }),
        () => `${m.email} is now ${roleName(sel.value)}.`), "secondary", `Change the role of ${m.email}`));
    }
    if (may(ctx, "org_member_remove") && m.account_id !== ctx.account.account_id) {
      acts.push(button("Remove", acting(ctx, status, () => api("DELETE", `${base(ctx)}/members/${m.account_id}`),
        `${m.email} is removed.`), "danger", `Remove ${m.email}`));
    }
    return [...cells, h("div", { class: "actions" }, acts)];
  });
  render("Users", h("h1", {}, `Users of ${ctx.org.name}`), status,
    h("div", { class: "card" }, table(["Person", "Role", "Billing", ""], rows, "Users and roles")));
}

export async function invitations(ctx) {
  const list = may(ctx, "org_invites_read") ? (await api("GET", base(ctx) + "/invitations")).invitations : [];
  const status = statusBox(ctx);
  const rows = list.map((i) => [i.email, roleName(i.role), i.billing ? "Yes" : "No", when(i.expires_at),
    may(ctx, "org_invite") ? button("Withdraw", acting(ctx, status, () => api("DELETE", `${base(ctx)}/invitations/${i.id}`),
      `The invitation to ${i.email} is withdrawn.`), "secondary", `Withdraw the invitation to ${i.email}`) : ""]);
  const invite = may(ctx, "org_invite") ? h("section", { class: "card", "aria-labelledby": "invite-title" },
    h("h2", { id: "invite-title" }, "Invite someone"),
    form({
      label: "Invite someone",
      submit: "Send the invitation",
      async onsubmit(v) {
        await api("POST", base(ctx) + "/invitations", { email: v.email.trim(), role: v.role, billing: v.billing });
        ctx.notice = `An invitation is on its way to ${v.email.trim()}.`;
        await ctx.reload();
      },
    },
    field({ name: "email", type: "email", label: "Email", autocomplete: "off" }),
    field({ name: "role", type: "select", label: "Role", options: ROLES.filter((r) => r[0] !== "legal_representative"), value: "collaborator" }),
    checkbox("billing", "May see and pay invoices (billing rights)"))) : null;
  render("Invitations", h("h1", {}, "Invitations"), status, invite,
    h("section", { class: "card", "aria-labelledby": "pending-title" }, h("h2", { id: "pending-title" }, "Waiting for an answer"),
      list.length ? table(["Email", "Role", "Billing", "Expires", ""], rows, "Pending invitations") : h("p", {}, "None.")));
}

// The organization's people by account id (for names in lists), when the
// policy lets this session see them.
async function people(ctx) {
  if (!may(ctx, "org_members_read")) return new Map();
  const list = (await api("GET", base(ctx) + "/members")).members;
  return new Map(list.map((m) => [m.account_id, m]));
}

const who = (byId, id) => (byId.get(id) ? byId.get(id).email : id.slice(0, 12));

export async function teams(ctx) {
  const [list, byId] = await Promise.all([api("GET", base(ctx) + "/teams").then((r) => r.teams), people(ctx)]);
  const status = statusBox(ctx);
  const manage = may(ctx, "org_team_manage");
  const cards = list.map((t) => {
    const members = t.members || [];
    const rows = members.map((id) => [who(byId, id), t.leader === id ? "leader" : "",
      manage ? button("Remove", acting(ctx, status, () => api("DELETE", `${base(ctx)}/teams/${t.id}/members/${id}`),
        `${who(byId, id)} left ${t.name}.`), "secondary", `Remove ${who(byId, id)} from ${t.name}`) : ""]);
    const others = [...byId.values()].filter((m) => !members.includes(m.account_id));
    const addSel = h("select", { "aria-label": `Person to add to ${t.name}` }, others.map((m) => h("option", { value: m.account_id }, m.email)));
    const leadSel = h("select", { "aria-label": `New leader of ${t.name}` }, members.map((id) =>
      h("option", { value: id, selected: t.leader === id }, who(byId, id))));
    return h("section", { class: "card", "aria-label": `Team ${t.name}` },
      h("h2", {}, t.name),
      members.length ? table(["Member", "", ""], rows, `Members of ${t.name}`) : h("p", {}, "No member yet."),
      manage ? h("div", { class: "actions" },
        others.length ? [addSel, button("Add", acting(ctx, status, () => api("PUT", `${base(ctx)}/teams/${t.id}/members/${addSel.value}`),
          () => `${who(byId, addSel.value)} joined ${t.name}.`), "secondary", `Add to ${t.name}`)] : null,
        members.length ? [leadSel, button("Make leader", acting(ctx, status, () => api("PATCH", `${base(ctx)}/teams/${t.id}`, { leader: leadSel.value }),
          () => `${who(byId, leadSel.value)} leads ${t.name}.`), "secondary", `Make leader of ${t.name}`)] : null,
        button("Delete the team", acting(ctx, status, () => api("DELETE", `${base(ctx)}/teams/${t.id}`),
          `The team ${t.name} is deleted.`), "danger", `Delete the team ${t.name}`)) : null);
  });
  const add = manage ? h("section", { class: "card", "aria-labelledby": "team-title" },
    h("h2", { id: "team-title" }, "New team"),
    form({ label: "New team", submit: "Create the team", async onsubmit(v) {
      await api("POST", base(ctx) + "/teams", { name: v.name.trim() });
      ctx.notice = `The team ${v.name.trim()} is created.`;
      await ctx.reload();
    } }, field({ name: "name", label: "Team name", maxlength: 100 }))) : null;
  render("Teams", h("h1", {}, "Teams"), status, add, ...(cards.length ? cards : [h("div", { class: "card" }, h("p", {}, "No team yet."))]));
}

export const KINDS = [["mail", "Mail"], ["drive", "Drive"], ["chat", "Chat"], ["hosting", "Web hosting"], ["domain", "Domain"], ["other", "Other"]];

export async function products(ctx) {
  const list = (await api("GET", base(ctx) + "/products")).products;
  const status = statusBox(ctx);
  const rows = list.map((p) => [p.name, p.kind, p.expires_at ? when(p.expires_at) : "—",
    p.blocked_at ? h("span", { class: "badge" }, "blocked") : "",
    h("div", { class: "actions" },
      may(ctx, "org_grants_read") ? h("a", { href: `/console/organization/products?grants=${p.id}`, "data-nav": true,
        "aria-label": `Access to ${p.name}` }, "Access") : "",
      may(ctx, "org_product_manage") ? button("Remove", acting(ctx, status, () => api("DELETE", `${base(ctx)}/products/${p.id}`),
        `${p.name} is removed.`), "secondary", `Remove ${p.name}`) : "")]);
  const add = may(ctx, "org_product_manage") ? h("section", { class: "card", "aria-labelledby": "product-title" },
    h("h2", { id: "product-title" }, "Add a product"),
    form({ label: "Add a product", submit: "Add", async onsubmit(v) {
      await api("POST", base(ctx) + "/products", { kind: v.kind, name: v.name.trim() });
      ctx.notice = `${v.name.trim()} is added.`;
      await ctx.reload();
    } }, field({ name: "kind", type: "select", label: "Kind", options: KINDS, value: "mail" }),
    field({ name: "name", label: "Name", maxlength: 100 }))) : null;
  const grantsOf = new URLSearchParams(location.search).get("grants");
  let grants = null;
  // Only a product of the list: the parameter never shapes a request path.
  const p = grantsOf ? list.find((x) => x.id === grantsOf) : null;
  if (p && may(ctx, "org_grants_read")) {
    grants = await grantsCard(ctx, p, status);
  }
  render("Products", h("h1", {}, "Products"), status, grants, add,
    h("div", { class: "card" }, list.length ? table(["Product", "Kind", "Expires", "", ""], rows, "Products") : h("p", {}, "No product yet.")));
}

export async function partners(ctx) {
  const r = await api("GET", base(ctx) + "/partners");
  const status = statusBox(ctx);
  const line = (p, side) => [h("span", { class: "mono" }, p.organization_id),
    Array.isArray(p.products) ? `${p.products.length} product(s)` : "all products", p.billing ? "with billing" : "without billing",
    may(ctx, "org_partner_end") ? button("End", acting(ctx, status, () => api("DELETE", `${base(ctx)}/partners/${p.organization_id}`),
      "The relation has ended."), "secondary", `End the relation with ${p.organization_id}`) : ""];
  const add = may(ctx, "org_partner_add") ? h("section", { class: "card", "aria-labelledby": "partner-title" },
    h("h2", { id: "partner-title" }, "Let a partner manage your products"),
    form({ label: "Add a partner", submit: "Add the partner", async onsubmit(v) {
      await api("POST", base(ctx) + "/partners", { partner_organization_id: v.partner.trim(), products: "all", billing: v.billing });
      ctx.notice = "The partner is added.";
      await ctx.reload();
    } }, field({ name: "partner", label: "The partner organization's id", maxlength: 64 }),
    checkbox("billing", "With billing"))) : null;
  render("Partners", h("h1", {}, "Partners"), status, add,
    h("section", { class: "card", "aria-labelledby": "p-title" }, h("h2", { id: "p-title" }, "Our partners"),
      r.partners.length ? table(["Organization", "Products", "Billing", ""], r.partners.map((p) => line(p, "partner")), "Partners") : h("p", {}, "None.")),
    h("section", { class: "card", "aria-labelledby": "c-title" }, h("h2", { id: "c-title" }, "Organizations we manage"),
      r.clients.length ? table(["Organization", "Products", "Billing", ""], r.clients.map((p) => line(p, "client")), "Clients") : h("p", {}, "None.")));
}

export async function audit(ctx) {
  const list = (await api("GET", base(ctx) + "/audit")).audit || [];
  render("Audit", h("h1", {}, "Audit trail"), h("div", { class: "card" },
    list.length ? table(["When", "What", "By", "About", "Address"], list.map((e) => [when(e.at), e.action.replace(/_/g, " "),
      h("span", { class: "mono" }, e.actor.slice(0, 12)), e.subject ? h("span", { class: "mono" }, e.subject.slice(0, 12)) : "", e.ip || ""]),
    "Audit trail") : h("p", {}, "Nothing yet.")));
}

// Who may use one product: each member's or team's rights ("use",
// "manage"), given, changed and taken back by those the policy lets.
async function grantsCard(ctx, p, status) {
  const manage = may(ctx, "org_grant_manage");
  const [g, byId, teamList] = await Promise.all([
    api("GET", `${base(ctx)}/products/${p.id}/grants`).then((r) => r.grants),
    people(ctx),
    may(ctx, "org_teams_read") ? api("GET", base(ctx) + "/teams").then((r) => r.teams) : [],
  ]);
  const teamName = new Map(teamList.map((t) => [t.id, t.name]));
  const name = (x) => (x.subject === "team" ? `team ${teamName.get(x.subject_id) || x.subject_id.slice(0, 12)}` : who(byId, x.subject_id));
  const rows = g.map((x) => [name(x), (x.rights || []).join(", "),
    manage ? button("Take back", acting(ctx, status, () => api("DELETE", `${base(ctx)}/products/${p.id}/grants/${x.subject_id}`),
      `${name(x)} no longer has access to ${p.name}.`), "secondary", `Take back the access of ${name(x)}`) : ""]);
  let give = null;
  if (manage) {
    const options = [...[...byId.values()].filter((m) => m.role === "collaborator" || m.role === "external")
      .map((m) => [`member:${m.account_id}`, m.email]), ...teamList.map((t) => [`team:${t.id}`, `team ${t.name}`])];
    give = options.length ? form({
      label: `Give access to ${p.name}`,
      submit: "Give access",
      async onsubmit(v) {
        const [subject, id] = v.subject.split(":");
        const rights = ["use", "manage"].filter((r) => v["right:" + r]);
        await api("PUT", `${base(ctx)}/products/${p.id}/grants/${id}`, { subject, rights });
        ctx.notice = `Access to ${p.name} is given.`;
        await ctx.reload();
      },
    }, field({ name: "subject", type: "select", label: "To", options, value: options[0][0] }),
    h("fieldset", {}, h("legend", {}, "Rights"), checkbox("right:use", "Use it", true), checkbox("right:manage", "Manage it", false))) : null;
  }
  return h("section", { class: "card", "aria-labelledby": "grants-title" },
    h("h2", { id: "grants-title" }, `Who may use ${p.name}`),
    h("p", {}, "Legal representatives and administrators may use and manage every product."),
    g.length ? table(["Who", "Rights", ""], rows, "Grants") : h("p", {}, "Nobody else yet."), give);
}
