// Recovery as a person does it: add a recovery email in the account
// settings (its code read from the local mail server), then forget the
// password and reset it through the emailed link; the old password stops
// working, the new one signs in.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { BASE, PASSWORD, launch, open, checkpoint, done, unique, signup, logout, nav, waitForMessage, remember, call } from "./lib.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser.close(); });

async function addRecoveryEmail(page, rescue) {
  await nav(page, "Account settings");
  await page.locator("main").getByText("Add one").first().click();
  await page.getByRole("textbox", { name: "Recovery email" }).fill(rescue);
  await page.getByRole("form", { name: "Set the recovery email" }).getByLabel("Your current password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Send a code" }).first().click();
  await page.getByRole("heading", { name: "Enter the code" }).waitFor();
  await checkpoint(page, "recovery-code");
  const mail = await waitForMessage(rescue, /\b\d{6,8}\b/);
  const code = mail.body.match(/\b(\d{6,8})\b/)[1];
  await page.getByRole("textbox", { name: "Code" }).fill(code);
  await page.getByRole("button", { name: "Verify" }).click();
  await page.locator("#recovery-email").getByText(`Verified: ${rescue}`).waitFor();
  await checkpoint(page, "recovery-verified", "Account settings");
}

test("set a recovery email, then reset a forgotten password through the emailed link", async () => {
  const page = await open(browser, "recovery");
  const email = unique("recover");
  const rescue = unique("rescue");
  await signup(page, email, "Rita Recover");
  await addRecoveryEmail(page, rescue);
  await logout(page);

  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await checkpoint(page, "forgot-password", "Forgotten password");
  await page.getByLabel("Login email", { exact: true }).fill(email);
  await page.getByRole("button", { name: "Send" }).click();
  await page.locator("main").getByText("If the account has a recovery option").waitFor();
  await checkpoint(page, "forgot-sent");
  const link = (await waitForMessage(rescue, /\/recovery\/reset\?token=/)).body.match(/(http\S+\/recovery\/reset\?token=[\w-]+)/)[1];
  assert.ok(link.startsWith(BASE), link);
  remember(new URL(link).searchParams.get("token"));

  await page.goto(link);
  await checkpoint(page, "new-password", "Choose a new password");
  assert.equal(new URL(page.url()).search, "", "the token leaves the address bar");
  const fresh = remember("new browser password " + randomBytes(6).toString("hex"));
  await page.getByLabel("New password", { exact: true }).fill(fresh);
  await page.getByRole("button", { name: "Set the password" }).click();
  await checkpoint(page, "password-changed", "Password changed");

  // The old password no longer signs in; the new one does.
  await page.getByRole("link", { name: "Sign in" }).click();
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator("main").getByText("The email or password is wrong.").waitFor();
  await checkpoint(page, "old-password-refused");
  await page.getByLabel("Password", { exact: true }).fill(fresh);
  await page.getByRole("button", { name: "Log in" }).click();
  await checkpoint(page, "signed-in-new-password", "Your account");

  // The link works once.
  await page.goto(link);
  await page.locator("main").getByText("This link has expired or was used already").waitFor();
  await checkpoint(page, "link-used");
  await done(page);
});

test("the login mailbox deleted: sign in with the recovery login, choose a new login email", async () => {
  const page = await open(browser, "recovery-login");
  const email = unique("gone");
  const rescue = unique("rescue");
  const fresh = unique("fresh");
  await signup(page, email, "Lou Lost");
  await addRecoveryEmail(page, rescue);
  await logout(page);
  // The mail service reports the mailbox deleted.
  const r = await call("POST", "/1/service/login-email-deleted", { email },
    { Authorization: "Bearer " + process.env.E2E_SERVICE_CREDENTIAL });
  assert.equal(r.status, 200, r.text);
  const login = (await waitForMessage(rescue, /\b[A-Z]{1,3}-\d{8}\b/)).body.match(/\b([A-Z]{1,3}-\d{8})\b/)[1];

  await page.getByLabel("Email", { exact: true }).fill(login);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await checkpoint(page, "new-login-email", "Choose a new login email");
  assert.equal(await page.getByRole("navigation", { name: "Console" }).isVisible(), false);
  await page.getByLabel("New login email", { exact: true }).fill(fresh);
  await page.getByLabel("Your current password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Send a link" }).click();
  await page.locator("main").getByText(`A link is on its way to ${fresh}`).waitFor();
  await checkpoint(page, "link-sent");

  const link = (await waitForMessage(fresh, /\/email\/verify\?token=/)).body.match(/(http\S+\/email\/verify\?token=[\w-]+)/)[1];
  remember(new URL(link).searchParams.get("token"));
  await page.goto(link);
  await checkpoint(page, "email-confirm", "Confirm your new login email");
  await page.getByRole("button", { name: "Confirm" }).click();
  await checkpoint(page, "email-changed", "Login email changed");
  assert.match(await page.locator("main").textContent(), new RegExp(`Your login is now ${fresh}`));
  await page.getByRole("link", { name: "Sign in" }).click();
  await page.getByLabel("Email", { exact: true }).fill(fresh);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await checkpoint(page, "signed-in-fresh", "Your account");
  await done(page);
});

test("a recovery number, the forgotten login sent to it, and an identity-verification case with a document", async () => {
  const page = await open(browser, "recovery-phone");
  const email = unique("phone");
  const number = "+4179" + String(Math.floor(1000000 + Math.random() * 8999999));
  await signup(page, email, "Pia Phone");
  await nav(page, "Account settings");
  await page.locator("main").getByText("Add one").nth(1).click();
  await page.getByRole("textbox", { name: "Recovery mobile number" }).fill(number);
  await page.getByRole("form", { name: "Set the recovery mobile number" }).getByLabel("Your current password", { exact: true }).fill(PASSWORD);
  await page.getByRole("form", { name: "Set the recovery mobile number" }).getByRole("button", { name: "Send a code" }).click();
  await page.getByRole("heading", { name: "Enter the code" }).waitFor();
  const code = (await waitForMessage(number, /\b\d{6,8}\b/)).body.match(/\b(\d{6,8})\b/)[1];
  await page.getByRole("textbox", { name: "Code" }).fill(code);
  await page.getByRole("button", { name: "Verify" }).click();
  await page.locator("#recovery-phone").getByText(`Verified: ${number}`).waitFor();
  await checkpoint(page, "phone-verified", "Account settings");
  await logout(page);

  await page.getByRole("link", { name: "Forgot your login email?" }).click();
  await checkpoint(page, "forgot-login", "Forgotten login email");
  await page.getByLabel("Recovery mobile number", { exact: true }).fill(number);
  await page.getByRole("button", { name: "Send my login" }).click();
  await page.locator("main").getByText("If an account has this recovery number").waitFor();
  await checkpoint(page, "forgot-login-sent");
  assert.ok((await waitForMessage(number, new RegExp(email.replace(/[.+]/g, "\\$&")))).body.includes(email));

  // Nothing helps: an identity-verification case, and a document for it.
  await page.getByRole("link", { name: "Verify your identity" }).click();
  await checkpoint(page, "verify", "Verify your identity");
  await page.getByLabel("What happened", { exact: true }).selectOption("password_reset");
  await page.getByLabel("The account's login email", { exact: true }).fill(email);
  await page.getByLabel("Where we answer you", { exact: true }).fill(email);
  await page.getByRole("button", { name: "Open the case" }).click();
  await page.getByRole("heading", { name: "Add your documents" }).waitFor();
  await checkpoint(page, "case-open");
  await page.getByLabel("Document", { exact: true }).setInputFiles({ name: "passport.png", mimeType: "image/png",
    buffer: await page.locator("h1").screenshot() });
  await page.getByRole("button", { name: "Upload" }).click();
  await page.locator("main").getByText("passport.png is uploaded.").waitFor();
  await checkpoint(page, "document-uploaded");
  assert.equal(await page.locator("#documents li").count(), 1);
  await done(page);
});
