// Billing as its people use it: a billing address, a product ordered (its
// pro-forma price shown first), a deposit paid at the provider's checkout,
// the invoice paid from the prepaid balance, its PDF; auto-renewal turned
// on. Then support access granted and revoked, seen in the audit trail.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, open, checkpoint, done, unique, signup, nav, providerPaid, asPage } from "./lib.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

test("order, deposit, pay an invoice with the prepaid balance, turn on auto-renewal", async () => {
  const page = await open(browser, "billing");
  await signup(page, unique("billing"), "Bea Billing");
  await nav(page, "Billing");
  await page.getByLabel("Name or company", { exact: true }).fill("Bea Billing SA");
  await page.getByLabel("Street and number", { exact: true }).fill("Rue du Marché 1");
  await page.getByLabel("Postal code", { exact: true }).fill("1204");
  await page.getByLabel("City", { exact: true }).fill("Genève");
  await page.getByLabel("Country", { exact: true }).selectOption("CH");
  await page.getByRole("button", { name: "Add the address" }).click();
  await page.locator("main").getByText("The address is added.").waitFor();
  await checkpoint(page, "address", "Billing");

  await page.getByLabel("Product", { exact: true }).selectOption("mail");
  await page.getByLabel("Its name", { exact: true }).fill("bea.example");
  await page.getByLabel("For", { exact: true }).selectOption("12");
  await page.getByRole("button", { name: "Show the price" }).click();
  await page.locator("main").getByText(/Pro-forma: 60.00 CHF, tax 4.86: total 64.86 CHF/).waitFor();
  await checkpoint(page, "pro-forma");
  await page.getByRole("button", { name: "Order", exact: true }).click();
  await page.locator("main").getByText(/Invoice \d+ for 64.86 CHF is open/).waitFor();
  await checkpoint(page, "ordered", "Billing");

  // A deposit: the provider's checkout, then its webhook.
  await page.getByLabel("Amount in CHF", { exact: true }).fill("100.00");
  await page.getByRole("button", { name: "Add money" }).click();
  const checkout = await page.locator("#checkout").getAttribute("href");
  await checkpoint(page, "deposit-checkout");
  const ref = checkout.split("/").pop();
  const orgs = await asPage(page, "/1/organizations");
  const org = orgs.organizations.find((o) => o.current).id;
  const payments = await asPage(page, `/1/organizations/${org}/billing/payments`);
  const deposit = payments.payments.find((p) => p.kind === "deposit" && p.status === "pending");
  await providerPaid(deposit, ref);
  await page.reload();
  await checkpoint(page, "deposited", "Billing");
  assert.equal((await page.locator("#balance").textContent()).trim(), "100.00 CHF");

  // The invoice, paid from the balance.
  await page.getByRole("button", { name: /^Pay invoice/ }).click();
  await page.locator("main").getByText(/Invoice \d+ is paid\./).waitFor();
  await checkpoint(page, "paid", "Billing");
  assert.equal((await page.locator("#balance").textContent()).trim(), "35.14 CHF");
  assert.match(await page.locator("table").nth(1).textContent(), /paid/);

  // Its PDF, as the link downloads it.
  const pdfHref = await page.getByRole("link", { name: /^PDF of invoice/ }).getAttribute("href");
  const pdf = await page.evaluate(async (href) => {
    const res = await fetch(href);
    return { type: res.headers.get("Content-Type"), head: new TextDecoder().decode((await res.arrayBuffer()).slice(0, 5)) };
  }, pdfHref);
  assert.deepEqual(pdf, { type: "application/pdf", head: "%PDF-" });

  // Paying made the product, with its expiry: auto-renewal can go on.
  await page.getByRole("button", { name: "Turn on auto-renewal of bea.example" }).click();
  await page.locator("main").getByText("Auto-renewal of bea.example is on.").waitFor();
  await checkpoint(page, "auto-renewal", "Billing");
  await done(page);
});

test("grant support access to mail, see it in the audit trail, revoke it", async () => {
  const page = await open(browser, "support");
  await signup(page, unique("support"), "Sam Support");
  await nav(page, "Support access");
  await page.getByLabel("Content", { exact: true }).selectOption("mail");
  await page.getByLabel("Support request number (optional)", { exact: true }).fill("REQ-4711");
  await page.getByRole("button", { name: "Grant access" }).click();
  await page.locator("main").getByText("Support may reach your mail for 7 days.").waitFor();
  await checkpoint(page, "granted", "Support access");
  const row = page.getByRole("row", { name: /REQ-4711/ });
  assert.match(await row.textContent(), /active/);
  await row.getByRole("button", { name: "Revoke the mail grant" }).click();
  await page.locator("main").getByText("Support access to mail is revoked.").waitFor();
  await checkpoint(page, "revoked", "Support access");
  assert.match(await page.getByRole("row", { name: /REQ-4711/ }).textContent(), /revoked/);
  await nav(page, "Audit trail");
  const trail = await page.locator("table").textContent();
  assert.match(trail, /support grant/i);
  await done(page);
});
