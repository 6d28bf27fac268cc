// The organization's billing, for those with billing rights: the prepaid
// balance (a deposit goes through the payment provider's checkout), the
// products with their expiry and auto-renewal, and the invoices (PDF, pay
// from the balance and the provider for the rest).
import { api } from "../api.js";
import { h, field, form, render, alert, when, table, errorText } from "../ui.js";

const base = (ctx) => `organizations/${ctx.org.id}/billing`;
const may = (ctx, act) => ctx.org.allowed.includes(act);

function key() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

const COUNTRIES = [["CH", "Switzerland"], ["LI", "Liechtenstein"], ["DE", "Germany"], ["FR", "France"],
  ["AT", "Austria"], ["IT", "Italy"], ["BE", "Belgium"], ["LU", "Luxembourg"], ["NL", "Netherlands"], ["ES", "Spain"]];
const KINDS = [["mail", "Mail"], ["drive", "Drive"], ["chat", "Chat"], ["hosting", "Web hosting"], ["domain", "Domain"], ["other", "Other"]];

export async function page(ctx) {
  const [bal, inv, prods, addr] = await Promise.all([
    api("GET", base(ctx) + "/balance"),
    api("GET", base(ctx) + "/invoices"),
    api("GET", `organizations/${ctx.org.id}/products`),
    api("GET", base(ctx) + "/addresses"),
  ]);
  const status = h("div", { id: "page-status", tabindex: "-1" });
  if (ctx.notice) status.append(alert("ok", ctx.notice));
  ctx.notice = null;
  const manage = may(ctx, "org_billing_manage");
  const fail = (e) => { status.replaceChildren(alert("error", errorText(e))); status.focus(); };

  // One key per invoice and per deposit form while the page is drawn: a
  // retry after a lost answer is the same payment, never a second one.
  const keys = new Map();
  const keyOf = (what) => {
    if (!keys.has(what)) keys.set(what, key());
    return keys.get(what);
  };
  const pay = async (i, b) => {
    b.disabled = true;
    try {
      const p = await api("POST", base(ctx) + "/payments", { invoices: [i.id], use_balance: true },
        { headers: { "Idempotency-Key": keyOf("invoice:" + i.id) } });
      if (p.checkout_url) {
        status.replaceChildren(alert("info", "The balance paid part; pay the rest at the payment provider: ",
          h("a", { href: p.checkout_url, rel: "noopener noreferrer" }, "continue to payment"), "."));
      } else {
        ctx.notice = `Invoice ${i.number} is paid.`;
        await ctx.reload();
      }
    } catch (e) { fail(e); } finally { b.disabled = false; }
  };
  const invoiceRows = inv.invoices.map((i) => {
    const payB = h("button", { type: "button", "aria-label": `Pay invoice ${i.number}` }, "Pay");
    payB.addEventListener("click", () => pay(i, payB));
    return [String(i.number), i.product_name, `${i.total} ${i.currency}`, i.status, when(i.due_at),
      h("div", { class: "actions" },
        h("a", { href: `/1/${base(ctx)}/invoices/${i.id}.pdf`, "aria-label": `PDF of invoice ${i.number}`, download: `invoice-${i.number}.pdf` }, "PDF"),
        // An invoice with a payment under way is paid by that payment.
        i.payment_id && i.status !== "paid" ? h("span", { class: "badge" }, "payment under way")
          : manage && (i.status === "open" || i.status === "overdue") ? payB : "")];
  });
  const productRows = prods.products.map((p) => {
    let renew = p.auto_renew ? "On" : "Off";
    if (manage && p.expires_at) {
      const b = h("button", { type: "button", class: "secondary", "aria-label": `Turn ${p.auto_renew ? "off" : "on"} auto-renewal of ${p.name}` },
        p.auto_renew ? "Turn off" : "Turn on");
      b.addEventListener("click", async () => {
        try {
          await api("PUT", `organizations/${ctx.org.id}/products/${p.id}/auto-renewal`, { enabled: !p.auto_renew });
          ctx.notice = `Auto-renewal of ${p.name} is ${p.auto_renew ? "off" : "on"}.`;
          await ctx.reload();
        } catch (e) { fail(e); }
      });
      renew = h("span", {}, renew, " ", b);
    }
    return [p.name, p.expires_at ? when(p.expires_at) : "—", renew, p.blocked_at ? "blocked" : "active"];
  });
  const deposit = manage ? form({
    label: "Add to the balance",
    submit: "Add money",
    async onsubmit(v) {
      const p = await api("POST", base(ctx) + "/deposits", { amount: v.amount.trim() },
        { headers: { "Idempotency-Key": keyOf("deposit:" + v.amount.trim()) } });
      status.replaceChildren(alert("info", `Pay ${p.amount} ${p.currency} at the payment provider: `,
        h("a", { href: p.checkout_url, rel: "noopener noreferrer", id: "checkout" }, "continue to payment"), "."));
      status.focus();
    },
  }, field({ name: "amount", label: `Amount${bal.currency ? " in " + bal.currency : ""}`, inputmode: "decimal",
    hint: "From 0.10 to 9999.00.", maxlength: 8 })) : null;
  const addresses = h("section", { class: "card", "aria-labelledby": "addresses-title" },
    h("h2", { id: "addresses-title" }, "Billing addresses"),
    addr.addresses.length ? table(["Name", "Address", "Currency", ""], addr.addresses.map((x) => [x.name,
      [x.line1, x.line2 ? ", " + x.line2 : "", `, ${x.postal_code} ${x.city}, ${x.country}`], x.currency, x.default ? "default" : ""]),
    "Billing addresses") : h("p", {}, "None yet. The default address decides the currency."),
    manage ? h("details", { open: addr.addresses.length === 0 }, h("summary", {}, "Add an address"), form({
      label: "Add a billing address",
      submit: "Add the address",
      async onsubmit(v) {
        const body = { name: v.name.trim(), line1: v.line1.trim(), postal_code: v.postal_code.trim(), city: v.city.trim(),
          country: v.country, default: addr.addresses.length === 0 };
        await api("POST", base(ctx) + "/addresses", body);
        ctx.notice = "The address is added.";
        await ctx.reload();
      },
    }, field({ name: "name", label: "Name or company", autocomplete: "organization", maxlength: 100 }),
    field({ name: "line1", label: "Street and number", autocomplete: "address-line1", maxlength: 100 }),
    h("div", { class: "row" }, field({ name: "postal_code", label: "Postal code", autocomplete: "postal-code", maxlength: 16 }),
      field({ name: "city", label: "City", autocomplete: "address-level2", maxlength: 100 })),
    field({ name: "country", type: "select", label: "Country", options: COUNTRIES, value: "CH" }))) : null);
  const preview = h("div", { role: "status", id: "order-preview" });
  const order = manage && addr.addresses.length ? h("section", { class: "card", "aria-labelledby": "order-title" },
    h("h2", { id: "order-title" }, "Order a product"),
    form({
      label: "Order a product",
      submit: "Order",
      async onsubmit(v) {
        const body = { product: { kind: v.kind, name: v.name.trim() }, months: parseInt(v.months, 10) };
        if (v.voucher.trim()) body.voucher = v.voucher.trim();
        const i = await api("POST", base(ctx) + "/orders", body);
        ctx.notice = `Invoice ${i.number} for ${i.total} ${i.currency} is open: pay it below.`;
        await ctx.reload();
      },
      after: h("button", { type: "button", class: "secondary", onclick: async (ev) => {
        const f = ev.target.closest("form");
        const body = { product: { kind: f.elements.kind.value, name: f.elements.name.value.trim() || "preview" },
          months: parseInt(f.elements.months.value, 10), preview: true };
        if (f.elements.voucher.value.trim()) body.voucher = f.elements.voucher.value.trim();
        try {
          const p = await api("POST", base(ctx) + "/orders", body);
          preview.replaceChildren(alert("info", `Pro-forma: ${p.subtotal} ${p.currency}`,
            p.discount && p.discount !== "0.00" ? `, less ${p.discount}` : "", `, tax ${p.tax}: total ${p.total} ${p.currency}.`));
        } catch (e) { preview.replaceChildren(alert("error", errorText(e))); }
      } }, "Show the price"),
    },
    field({ name: "kind", type: "select", label: "Product", options: KINDS, value: "mail" }),
    field({ name: "name", label: "Its name", maxlength: 100, hint: "A mailbox domain, a drive's name…" }),
    field({ name: "months", type: "select", label: "For", options: [["1", "1 month"], ["12", "1 year"], ["24", "2 years"], ["36", "3 years"]], value: "12" }),
    field({ name: "voucher", label: "Promotion code (optional)", required: false, maxlength: 32 })), preview) : null;
  render("Billing", h("h1", {}, "Billing"), status, addresses, order,
    h("section", { class: "card", "aria-labelledby": "balance-title" },
      h("h2", { id: "balance-title" }, "Prepaid balance"),
      h("p", { id: "balance" }, bal.currency ? `${bal.balance} ${bal.currency}` : "No billing address yet: add one to pay."),
      deposit),
    h("section", { class: "card", "aria-labelledby": "invoices-title" },
      h("h2", { id: "invoices-title" }, "Invoices"),
      inv.invoices.length ? table(["Number", "For", "Total", "Status", "Due", ""], invoiceRows, "Invoices") : h("p", {}, "No invoice yet.")),
    h("section", { class: "card", "aria-labelledby": "renew-title" },
      h("h2", { id: "renew-title" }, "Products and renewal"),
      h("p", {}, "With auto-renewal on, the renewal is ordered and paid from the balance 14 days before the expiry."),
      prods.products.length ? table(["Product", "Expires", "Auto-renewal", "State"], productRows, "Products and renewal") : h("p", {}, "No product.")));
}
