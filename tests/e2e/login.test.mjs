// Sign up, turn on an authenticator app by scanning the page's QR code, and
// sign in with a TOTP code and with a backup code, as a person would in
// Chromium.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, PASSWORD, launch, open, checkpoint, done, unique, totp, now, advance, scanQr } from "./lib.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

async function signup(page, email) {
  await page.goto(BASE + "/signup");
  await checkpoint(page, "signup", "Create an account");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Your name").fill("Ada Browser");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await checkpoint(page, "console-overview", "Your account");
}

async function enrolTotp(page) {
  await page.getByRole("link", { name: "Two-step sign-in" }).click();
  await checkpoint(page, "security", "Two-step sign-in");
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  const qr = page.locator("#totp-qr");
  await qr.waitFor();
  const uri = await scanQr(qr);
  const secret = new URL(uri).searchParams.get("secret");
  assert.match(uri, /^otpauth:\/\/totp\//);
  await checkpoint(page, "totp-qr");
  await page.getByLabel("Then type the 6-digit code it shows").fill(totp(secret, await now()));
  await page.getByRole("button", { name: "Turn on" }).click();
  await page.getByRole("heading", { name: "Your backup codes" }).waitFor();
  await checkpoint(page, "backup-codes");
  const codes = await page.locator("#backup-codes li").allTextContents();
  assert.equal(codes.length, 10);
  return { secret, codes };
}

async function logout(page) {
  await page.getByRole("button", { name: "Sign out" }).first().click();
  await checkpoint(page, "login", "Sign in");
}

async function password(page, email) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Confirm it is you" }).waitFor();
}

test("sign up, enrol TOTP from the QR code, sign in with TOTP and with a backup code", async () => {
  const page = await open(browser, "login-totp");
  const email = unique("totp");
  await signup(page, email);
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
  await page.getByText("That code is wrong").waitFor();
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
  await page.getByText(/code was already used|code is wrong/).waitFor();
  await checkpoint(page, "backup-reused");
  await done(page);
});
