// Sign up, turn on an authenticator app by scanning the page's QR code, and
// sign in with a TOTP code and with a backup code, as a person would in
// Chromium.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, PASSWORD, launch, open, checkpoint, done, unique, totp, now, advance, scanQr, call, signup, logout, remember } from "./lib.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

async function enrolTotp(page) {
  await page.getByRole("link", { name: "Two-step sign-in" }).click();
  await checkpoint(page, "security", "Two-step sign-in");
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  const qr = page.locator("#totp-qr");
  await qr.waitFor();
  const uri = await scanQr(qr);
  const secret = remember(new URL(uri).searchParams.get("secret"));
  assert.match(uri, /^otpauth:\/\/totp\//);
  await checkpoint(page, "totp-qr");
  await page.getByLabel("Then type the 6-digit code it shows", { exact: true }).fill(totp(secret, await now()));
  await page.getByRole("button", { name: "Turn on" }).click();
  await page.getByRole("heading", { name: "Your backup codes" }).waitFor();
  await checkpoint(page, "backup-codes");
  const codes = await page.locator("#backup-codes li").allTextContents();
  assert.equal(codes.length, 10);
  codes.forEach(remember);
  return { secret, codes };
}

async function password(page, email) {
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Confirm it is you" }).waitFor();
}

test("sign up, enrol TOTP from the QR code, sign in with TOTP and with a backup code", async () => {
  const page = await open(browser, "login-totp");
  const email = unique("totp");
  await signup(page, email, "Ada Browser");
  const { secret, codes } = await enrolTotp(page);
  await page.getByRole("link", { name: "Overview" }).click();
  await checkpoint(page, "overview-2fa-on", "Your account");
  assert.match(await page.locator("#two-factor-state").textContent(), /^On/);
  await logout(page);

  // TOTP: a wrong code first, then the right one (the next step: the
  // enrolment used this one).
  await password(page, email);
  await checkpoint(page, "second-factor-totp", "Confirm it is you");
  await page.getByRole("textbox", { name: "6-digit code" }).fill("000000");
  await page.getByRole("button", { name: "Verify" }).click();
  await page.locator("main").getByText("That code is wrong").waitFor();
  await checkpoint(page, "totp-wrong");
  const t = await advance(30);
  await page.getByRole("textbox", { name: "6-digit code" }).fill(totp(secret, t));
  await page.getByRole("button", { name: "Verify" }).click();
  await checkpoint(page, "signed-in-totp", "Your account");
  await logout(page);

  // A backup code, once.
  await password(page, email);
  await page.getByRole("button", { name: "Use a backup code" }).click();
  await checkpoint(page, "second-factor-backup");
  await page.getByRole("textbox", { name: "Backup code" }).fill(codes[0]);
  await page.getByRole("button", { name: "Verify" }).click();
  await checkpoint(page, "signed-in-backup", "Your account");
  await logout(page);
  await password(page, email);
  await page.getByRole("button", { name: "Use a backup code" }).click();
  await page.getByRole("textbox", { name: "Backup code" }).fill(codes[0]);
  await page.getByRole("button", { name: "Verify" }).click();
  await page.locator("main").getByText(/code was already used|code is wrong/).waitFor();
  await checkpoint(page, "backup-reused");
  await done(page);
});

async function noSideScroll(page) {
  const [content, view] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(content <= view, `the page is ${content} px wide on a ${view} px screen`);
}

test("keyboard only, on a phone-sized screen: focus order, a visible error, then in", async () => {
  const email = unique("keys");
  assert.equal((await call("POST", "/1/accounts", { email, password: PASSWORD, name: "Kim Keys" })).status, 201);
  const page = await open(browser, "keyboard-phone", { phone: true });
  await page.goto(BASE + "/login");
  await checkpoint(page, "login-phone", "Sign in");
  await noSideScroll(page);
  // A new page starts at its heading; the fields come next, in order.
  assert.equal(await page.evaluate(() => document.activeElement.tagName), "H1");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.name), "email");
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.name), "password");
  await page.keyboard.type("not the password");
  await page.keyboard.press("Enter");
  await page.locator("main").getByText("The email or password is wrong.").waitFor();
  // The error takes the focus, so a screen reader reads it out.
  assert.ok(await page.evaluate(() => document.activeElement.closest(".form-alert") !== null));
  await checkpoint(page, "login-error-phone");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.name), "password");
  await page.keyboard.press("Control+A");
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await checkpoint(page, "console-phone", "Your account");
  await noSideScroll(page);
  // The console's navigation works from the keyboard too.
  await page.getByRole("link", { name: "Sessions" }).focus();
  await page.keyboard.press("Enter");
  await checkpoint(page, "sessions-phone", "Sessions");
  await noSideScroll(page);
  await done(page);
});

test("wrong passwords: the wait is shown in words, with the time to wait", async () => {
  const email = unique("slow");
  assert.equal((await call("POST", "/1/accounts", { email, password: PASSWORD, name: "Sol Slow" })).status, 201);
  const page = await open(browser, "throttled");
  await page.goto(BASE + "/login");
  await checkpoint(page, "login", "Sign in");
  await page.getByLabel("Email", { exact: true }).fill(email);
  let text = "";
  for (let i = 0; i < 6 && !/Too many attempts/.test(text); i++) {
    await page.getByLabel("Password", { exact: true }).fill("wrong password " + i);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator(".form-alert .alert").waitFor();
    text = await page.locator(".form-alert").textContent();
  }
  assert.match(text, /^Too many attempts\. Wait \d+ seconds before trying again\.$/);
  await checkpoint(page, "throttled");
  await done(page);
});

test("sessions: two browsers, one ends the other", async () => {
  const email = unique("two");
  assert.equal((await call("POST", "/1/accounts", { email, password: PASSWORD, name: "Tess Two" })).status, 201);
  const here = await open(browser, "sessions-here");
  const there = await open(browser, "sessions-there");
  for (const p of [there, here]) {
    await p.goto(BASE + "/login");
    await p.getByLabel("Email", { exact: true }).fill(email);
    await p.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await p.getByRole("button", { name: "Log in" }).click();
    await checkpoint(p, "signed-in", "Your account");
  }
  await here.getByRole("link", { name: "Sessions" }).click();
  await checkpoint(here, "sessions", "Sessions");
  assert.equal(await here.locator("tbody tr").count(), 2);
  await here.getByRole("button", { name: "End every other session" }).click();
  await here.locator("main").getByText("1 other session ended.").waitFor();
  await checkpoint(here, "others-ended", "Sessions");
  assert.equal(await here.locator("tbody tr").count(), 1);
  // The other browser is out at its next step.
  await there.getByRole("link", { name: "Sessions" }).click();
  await checkpoint(there, "signed-out", "Sign in");
  await done(here);
  await done(there);
});
