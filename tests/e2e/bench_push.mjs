// The browser half of tests/bench/page_push_bench.py: one sign-in page in
// Chromium, driven by JSON lines on stdin ({"email"}, then {"approved"}),
// answering on stdout with times taken in the page itself
// (performance.timeOrigin + performance.now(), epoch milliseconds):
//   {"number", "click"}  the number shown, and when "Log in" was pressed
//   {"console"}          when the console's first page was on screen
import { createInterface } from "node:readline";
import { launch } from "./lib.mjs";

const BASE = process.env.AUTHD_URL;
const PASSWORD = process.env.BENCH_PASSWORD;
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async () => JSON.parse((await lines.next()).value);
const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const browser = await launch();
const context = await browser.newContext();
const page = await context.newPage();
for (;;) {
  const { email, end } = await next();
  if (end) break;
  await page.goto(BASE + "/login");
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.evaluate(() => {
    const now = () => performance.timeOrigin + performance.now();
    window.benchTimes = {};
    document.querySelector("main form button[type=submit]").addEventListener("click", () => {
      window.benchTimes.click = now();
    }, { capture: true, once: true });
    new MutationObserver((_, obs) => {
      const h1 = document.querySelector("main h1");
      if (h1 && h1.textContent === "Your account") {
        window.benchTimes.console = now();
        obs.disconnect();
      }
    }).observe(document.getElementById("main"), { childList: true, subtree: true });
  });
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator("#push-number").waitFor();
  const number = Number(await page.locator("#push-number").textContent());
  say({ number, click: await page.evaluate(() => window.benchTimes.click) });
  await next(); // approved on the phone
  await page.waitForFunction(() => window.benchTimes.console !== undefined, null, { timeout: 10000 });
  say({ console: await page.evaluate(() => window.benchTimes.console) });
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
}
await browser.close();
process.exit(0); // stdin stays open: the lines reader would hold the process
