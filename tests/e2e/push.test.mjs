// Link a phone from the console's QR code (the reference authenticator
// scans it), then sign in by approving on the phone with the number the
// page shows typed in: over the wait WebSocket, and over the long poll when
// the WebSocket cannot open. A denial on the phone is shown as one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { PASSWORD, launch, open, checkpoint, done, unique, scanQr, Phone, advance, signup, logout, remember } from "./lib.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

async function linkPhone(page, phone) {
  await page.getByRole("link", { name: "Two-step sign-in" }).click();
  await checkpoint(page, "security", "Two-step sign-in");
  await page.getByRole("button", { name: "Link a phone" }).click();
  const qr = page.locator("#link-qr");
  await qr.waitFor();
  await checkpoint(page, "link-qr");
  const uri = await scanQr(qr);
  assert.match(uri, /^authd:\/\/link\?/);
  remember(new URL(uri).searchParams.get("secret"));
  phone.link(uri, "Grace's phone");
  await page.locator("#link-state").getByText("Linked: Grace's phone").waitFor();
  await checkpoint(page, "linked");
  // The first factor came with the backup codes, shown once.
  assert.equal(await page.locator("#backup-codes li").count(), 10);
  await page.getByRole("cell", { name: "Grace's phone", exact: true }).waitFor();
  await checkpoint(page, "device-list", "Two-step sign-in");
}

// The password, then the push step: resolves to the challenge the phone got
// and the number the page shows.
async function passwordThenPush(page, phone, email, label) {
  const challenge = phone.waitChallenge();
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Approve on your phone" }).waitFor();
  const number = (await page.locator("#push-number").textContent()).trim();
  assert.match(number, /^\d{2}$/);
  await checkpoint(page, label);
  const ch = await challenge;
  assert.equal(ch.account, email);
  return { ch, number };
}

test("link a phone from the QR code, sign in by push over the WebSocket and the long poll, see a denial", async () => {
  const page = await open(browser, "push");
  const phone = new Phone();
  const email = unique("push");
  await signup(page, email, "Grace Phone");
  await linkPhone(page, phone);
  await logout(page);

  // Approved with the number typed: the page learns it over the WebSocket.
  let sockets = 0;
  page.on("websocket", (ws) => { if (ws.url().endsWith("/1/login/wait")) sockets += 1; });
  let { ch, number } = await passwordThenPush(page, phone, email, "push-wait");
  phone.answer(ch.id, "approve", number);
  await checkpoint(page, "signed-in-push", "Your account");
  assert.equal(sockets, 1);
  await logout(page);

  // Denied on the phone.
  ({ ch, number } = await passwordThenPush(page, phone, email, "push-wait-2"));
  phone.answer(ch.id, "deny");
  await page.locator("main").getByText("The request was denied on your phone").waitFor();
  await checkpoint(page, "push-denied");

  // No WebSocket (a proxy that refuses upgrades): the long poll.
  await page.routeWebSocket(/\/1\/login\/wait$/, (ws) => ws.close());
  await page.getByRole("link", { name: "Start again" }).click();
  await checkpoint(page, "login-again", "Sign in");
  ({ ch, number } = await passwordThenPush(page, phone, email, "push-wait-poll"));
  phone.answer(ch.id, "approve", number);
  await checkpoint(page, "signed-in-poll", "Your account");

  // Nobody answers: the request expires, and the page says so.
  await logout(page);
  await passwordThenPush(page, phone, email, "push-wait-expiring");
  await advance(150);
  await page.locator("main").getByText("The request has expired.").waitFor();
  await checkpoint(page, "push-expired");

  // Signed in again, the phone is removed from the list: no more pushes.
  await page.getByRole("link", { name: "Start again" }).click();
  ({ ch, number } = await passwordThenPush(page, phone, email, "push-wait-last"));
  phone.answer(ch.id, "approve", number);
  await checkpoint(page, "signed-in-last", "Your account");
  await page.getByRole("link", { name: "Two-step sign-in" }).click();
  await page.getByRole("button", { name: "Remove Grace's phone" }).click();
  await page.locator("main").getByText("Grace's phone is removed.").waitFor();
  await page.locator("main").getByText("No phone is linked.").waitFor();
  await checkpoint(page, "device-removed", "Two-step sign-in");
  await done(page);
});
