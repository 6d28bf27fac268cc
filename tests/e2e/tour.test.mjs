// Every console page, once, as a legal representative sees it (each one
// checked by axe-core and kept as a screenshot), with the acts that have no
// test of their own: an API token made and shown once, then revoked; an
// organization token; a partner added and the relation ended; the
// activity and the audit trail.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, open, checkpoint, done, unique, signup, nav, asPage, remember } from "./lib.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

test("a tour of the console", async () => {
  const partner = await open(browser, "tour-partner");
  await signup(partner, unique("agency"), "Agency Partner");
  const agency = (await asPage(partner, "/1/organizations")).organizations[0].id;
  await done(partner);

  const page = await open(browser, "tour");
  await signup(page, unique("tour"), "Tom Tour");
  await nav(page, "Activity", "Recent activity");
  assert.match(await page.locator("table").textContent(), /sign ?in|login/i);

  await nav(page, "API tokens");
  await page.getByLabel("Name", { exact: true }).fill("backup script");
  await page.getByRole("button", { name: "Create the token" }).click();
  await page.getByRole("heading", { name: "Your token backup script" }).waitFor();
  assert.match(remember(await page.locator("#new-token-value").textContent()), /^authd_tok_/);
  await checkpoint(page, "token-shown");
  await page.getByRole("button", { name: "Revoke backup script" }).click();
  await page.locator("main").getByText("backup script is revoked.").waitFor();
  await checkpoint(page, "token-revoked", "API tokens");

  await nav(page, "Organization tokens", "API tokens of Tom Tour");
  await page.getByLabel("Name", { exact: true }).fill("provisioning");
  await page.getByRole("button", { name: "Create the token" }).click();
  await page.getByRole("heading", { name: "Your token provisioning" }).waitFor();
  await checkpoint(page, "org-token-shown");

  await nav(page, "Partners");
  await page.getByLabel("The partner organization's id", { exact: true }).fill(agency);
  await page.getByRole("button", { name: "Add the partner" }).click();
  await page.locator("main").getByText("The partner is added.").waitFor();
  await checkpoint(page, "partner-added", "Partners");
  await page.getByRole("button", { name: `End the relation with ${agency}` }).click();
  await page.locator("main").getByText("The relation has ended.").waitFor();
  await checkpoint(page, "partner-ended", "Partners");

  for (const [name, heading] of [["Users", "Users of Tom Tour"], ["Invitations"], ["Teams"], ["Products"],
    ["Billing"], ["Support access"], ["Overview", "Your account"], ["Two-step sign-in"],
    ["Sessions"], ["Account settings"], ["Audit trail"]]) {
    await nav(page, name, heading || name);
  }
  assert.match(await page.locator("table").textContent(), /partner/i);
  await done(page);
});
