// Runs client.test.html in headless Chromium against a test server:
//
//   node run.mjs <server-url> [name-filter]
//
// Each scenario gets a freshly loaded page; any uncaught exception in the
// page fails the scenario. Exits 0 when every scenario passed, 1 otherwise.
//
// Results go to stderr. stdout is the channel to the harness that owns the
// server: a line `@@restart` asks it to restart the server on the same
// port, and it answers with a line on stdin: `ok`, or an error.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { chromium } from "playwright-core";

const base = (process.argv[2] || "").replace(/\/$/, "");
const filter = process.argv[3] || "";
if (!base) {
  console.error("usage: node run.mjs <server-url> [name-filter]");
  process.exit(2);
}

// Not a test threshold: every scenario ends on events well before this; it
// only turns a hang into a failure with a name.
const HANG_GUARD_MS = 60_000;

const say = (line) => process.stderr.write(line + "\n");

const replies = [];
const waiting = [];
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const waiter = waiting.shift();
  if (waiter) waiter(line);
  else replies.push(line);
});
const askHarness = (command) =>
  new Promise((resolve) => {
    if (replies.length) throw new Error("unexpected reply from the harness: " + replies.shift());
    waiting.push(resolve);
    process.stdout.write("@@" + command + "\n");
  });

const guard = (promise, what) => {
  let timer;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${HANG_GUARD_MS} ms`)), HANG_GUARD_MS);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
};

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-chromium-"));
let context;
let failed = 0;
let passed = 0;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  let pageErrors = [];
  let consoleLines = [];
  // An uncaught exception fails the scenario at once, rather than when it
  // hangs for want of the event the exception prevented.
  let onPageError = () => {};
  page.on("pageerror", (error) => {
    pageErrors.push(error);
    onPageError(error);
  });
  page.on("console", (message) => consoleLines.push(`[console.${message.type()}] ${message.text()}`));
  await page.exposeFunction("harness", async (command) => {
    const reply = await askHarness(command);
    if (reply !== "ok") throw new Error(`harness ${command}: ${reply}`);
  });

  const url = base + "/client.test.html";
  await page.goto(url);
  const names = await guard(page.evaluate(() => window.ready), "loading the scenarios");
  const chosen = names.filter((name) => name.includes(filter));
  say(`running ${chosen.length} scenarios against ${base}`);
  for (const name of chosen) {
    pageErrors = [];
    consoleLines = [];
    let result;
    try {
      // A fresh page: nothing left over from the previous scenario.
      await page.goto(url);
      await guard(page.evaluate(() => window.ready), "loading the scenarios");
      const uncaught = new Promise((_, reject) => {
        onPageError = (error) => reject(new Error("uncaught in the page: " + (error.stack || error)));
      });
      result = await guard(Promise.race([page.evaluate((n) => window.runScenario(n), name), uncaught]), name);
      // Let anything the scenario's last events scheduled run before
      // looking for uncaught errors: one round trip through the page.
      await page.evaluate(() => new Promise((resolve) => setTimeout(resolve)));
    } catch (error) {
      result = { ok: false, error: String((error && error.stack) || error) };
    }
    if (result.ok && pageErrors.length) {
      result = { ok: false, error: "uncaught in the page:\n" + pageErrors.map((e) => e.stack || e).join("\n") };
    }
    onPageError = () => {};
    if (result.ok) {
      passed++;
      say(`PASS ${name}` + (result.note ? ` (${result.note})` : ""));
    } else {
      failed++;
      say(`FAIL ${name}\n${indent(result.error)}`);
      if (consoleLines.length) say(indent(consoleLines.join("\n")));
    }
  }
} catch (error) {
  failed++;
  say("FAIL harness: " + ((error && error.stack) || error));
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
}

say(`${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);

function indent(text) {
  return String(text)
    .split("\n")
    .map((line) => "    " + line)
    .join("\n");
}
