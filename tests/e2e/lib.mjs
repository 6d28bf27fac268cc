// What the browser tests share: Debian's chromium under Playwright, a
// checkpoint at every page (a screenshot kept as an artifact, axe-core's
// accessibility check, no console error or CSP violation), the mail and SMS
// spool of stage.py, the test clock, TOTP codes, QR decoding (zbarimg), and
// the reference authenticator (authd-phone).
import { chromium } from "playwright-core";
import { createHmac, randomBytes } from "node:crypto";
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import assert from "node:assert/strict";

export const BASE = process.env.AUTHD_URL;
const ARTIFACTS = process.env.E2E_ARTIFACTS || mkdtempSync(path.join(tmpdir(), "e2e-art-"));
const SPOOL = process.env.E2E_SPOOL;
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

// A secret a test typed: the suite's final check greps every authd log for it.
export function remember(secret) {
  const dir = process.env.AUTHD_TEST_STATE;
  if (dir && secret) appendFileSync(path.join(dir, "secrets.txt"), secret + "\n");
  return secret;
}

export function unique(prefix) {
  // "x" first: the address never holds a run of digits a test could take
  // for a code in a message that names it.
  return `${prefix}-x${randomBytes(4).toString("hex")}@example.com`;
}

export const PASSWORD = remember("browser-test " + randomBytes(6).toString("hex"));

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage"],
  });
}

// A browser tab for one test: its screenshots go to ARTIFACTS/<name>/.
export async function open(browser, name, opts = {}) {
  const context = await browser.newContext({
    viewport: opts.phone ? { width: 390, height: 844 } : { width: 1200, height: 900 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const dir = path.join(ARTIFACTS, name);
  mkdirSync(dir, { recursive: true });
  page.problems = [];
  page.on("console", (m) => {
    // A refused API call (a wrong code, a 401 before sign-in) is logged by
    // the browser as an error: expected. Anything else is a problem.
    const api = (m.location().url || "").includes("/1/");
    if (m.type() === "error" && !(api && /status of 4\d\d/.test(m.text()))) page.problems.push("console: " + m.text());
  });
  // Every document the browser loads carries the strict policy.
  page.on("response", (res) => {
    if (!res.request().isNavigationRequest() || !res.url().startsWith(BASE)) return;
    const csp = res.headers()["content-security-policy"] || "";
    if (!/script-src 'self';/.test(csp) || !/frame-ancestors 'none'/.test(csp) || /unsafe-inline/.test(csp))
      page.problems.push(`weak or missing CSP on ${res.url()}: ${csp}`);
  });
  page.on("pageerror", (e) => page.problems.push("page error: " + e.message));
  page.shots = 0;
  page.dir = dir;
  return page;
}

// One page as the person sees it: waits for its heading, keeps a
// screenshot, and asserts axe-core finds no serious or critical violation.
export async function checkpoint(page, label, heading) {
  if (heading) await page.getByRole("heading", { level: 1, name: heading }).waitFor();
  page.shots += 1;
  const file = path.join(page.dir, `${String(page.shots).padStart(2, "0")}-${label}.png`);
  await page.screenshot({ path: file, fullPage: true });
  // Evaluated through the DevTools protocol: the page's CSP does not apply,
  // and nothing is added to the page's own scripts.
  // Folded parts (<details>) are opened for axe, then folded again: their
  // forms are checked too.
  const result = await page.evaluate(`${AXE}
    ;(async () => {
      const closed = [...document.querySelectorAll("details:not([open])")];
      closed.forEach((d) => { d.open = true; });
      try {
        return await axe.run(document, { resultTypes: ["violations"] });
      } finally {
        closed.forEach((d) => { d.open = false; });
      }
    })()`);
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`), [],
    `accessibility violations on ${label}`);
  assert.deepEqual(page.problems.filter((p) => /Refused to|Content Security Policy/.test(p)), [],
    `CSP violations on ${label}`);
}

export async function done(page) {
  assert.deepEqual(page.problems, [], "console errors, CSP violations or a weak policy");
  await page.context().close();
}

// --- the API, for setting the stage and the test clock ----------------------------

export async function call(method, p, body, headers = {}) {
  const res = await fetch(BASE + p, {
    method, headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: res.status, json, text, headers: res.headers };
}

export async function now() {
  return (await call("POST", "/1/_test/clock", { advance: 0 })).json.now;
}

export async function advance(seconds) {
  return (await call("POST", "/1/_test/clock", { advance: seconds })).json.now;
}

// --- codes -------------------------------------------------------------------------

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, "").toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// The RFC 6238 code of an otpauth URI's secret at unix time t.
export function totp(secretB32, t) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(t / 30)));
  const mac = createHmac("sha1", base32(secretB32)).update(counter).digest();
  const off = mac[19] & 15;
  const bin = mac.readUInt32BE(off) & 0x7fffffff;
  return String(bin % 1000000).padStart(6, "0");
}

// Decodes the QR code an element shows, as the phone's camera would:
// a screenshot of it, read by zbarimg.
export async function scanQr(locator) {
  const dir = mkdtempSync(path.join(tmpdir(), "qr-"));
  const file = path.join(dir, "qr.png");
  await locator.screenshot({ path: file });
  return execFileSync("zbarimg", ["--nodbus", "-q", "--raw", file], { encoding: "utf8" }).trim();
}

// --- mail and SMS ------------------------------------------------------------------

// The messages to `to` so far (mail or SMS), oldest first.
export function messages(to) {
  return readdirSync(SPOOL).filter((f) => f.endsWith(".json")).sort()
    .map((f) => JSON.parse(readFileSync(path.join(SPOOL, f), "utf8")))
    .filter((m) => m.to.includes(to));
}

export async function waitForMessage(to, match, timeout = 10000) {
  const end = Date.now() + timeout;
  for (;;) {
    const m = messages(to).filter((x) => match.test(x.subject + "\n" + x.body));
    if (m.length) return m[m.length - 1];
    if (Date.now() > end) throw new Error(`no message to ${to} matching ${match}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// --- the reference authenticator ------------------------------------------------------

export class Phone {
  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), "phone-"));
    this.state = path.join(this.dir, "state.json");
  }

  run(args, opts = {}) {
    return execFileSync(process.env.AUTHD_PHONE_BIN, ["--state", this.state, ...args],
      { encoding: "utf8", timeout: 30000, ...opts }).trim();
  }

  link(uri, name = "Test phone") {
    return this.run(["link", uri, "--name", name]);
  }

  // The next challenge, once it arrives (runs in the background).
  waitChallenge(timeout = 20) {
    return new Promise((resolve, reject) => {
      const p = spawn(process.env.AUTHD_PHONE_BIN, ["--state", this.state, "wait", "--timeout", String(timeout)]);
      let out = "";
      let err = "";
      p.stdout.on("data", (d) => { out += d; });
      p.stderr.on("data", (d) => { err += d; });
      p.on("close", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n")[0]))
        : reject(new Error(`authd-phone wait exited ${code}: ${err}`))));
    });
  }

  answer(id, decision, number) {
    const args = ["answer", id, decision];
    if (number !== undefined) args.push("--number", String(number));
    return this.run(args);
  }
}

// --- the steps most tests share ---------------------------------------------------------

export async function signup(page, email, name = "Test Person") {
  await page.goto(BASE + "/signup");
  await checkpoint(page, "signup", "Create an account");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Your name", { exact: true }).fill(name);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await checkpoint(page, "console", "Your account");
}

export async function signin(page, email) {
  await page.goto(BASE + "/login");
  await checkpoint(page, "login", "Sign in");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
}

export async function logout(page) {
  await page.getByRole("button", { name: "Sign out" }).first().click();
  await checkpoint(page, "login", "Sign in");
}

// Goes to a console page by its navigation link.
export async function nav(page, name, heading, label) {
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name, exact: true }).click();
  await checkpoint(page, label || name.toLowerCase().replace(/\W+/g, "-"), heading || name);
}

// The payment provider's webhook for a checkout the page sent the payer to:
// signed as the provider signs, at the test clock's time.
export async function providerPaid(payment, ref) {
  const body = JSON.stringify({ id: payment.id, ref, status: "paid", amount: payment.amount, currency: payment.currency });
  const t = await now();
  const sig = createHmac("sha256", process.env.E2E_WEBHOOK_SECRET).update(`${t}.${body}`).digest("hex");
  const res = await fetch(BASE + "/1/billing/webhook", {
    method: "POST", body, headers: { "Content-Type": "application/json", "X-Provider-Signature": `t=${t},v1=${sig}` },
  });
  assert.ok(res.ok, `webhook answered ${res.status}`);
}

// A GET of the API as the page makes it (with its session cookie), parsed.
export async function asPage(page, p) {
  return page.evaluate(async (u) => (await fetch(u)).json(), p);
}
