// What the chat page scripts (chat.mjs, chat_recovery.mjs) share: Chromium
// launched the same way, and steps that wait for a page condition and name
// themselves when they fail.

import { chromium } from "playwright-core";

// Not a threshold: every step ends on a page condition well before this; it
// only turns a hang into a failure that names the step.
export const STEP_GUARD_MS = 30_000;

// Playwright gives the browser a fresh temporary profile of its own.
export function launch() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

// The step in progress (for the failure message) and the pages' uncaught
// errors; `until` and `send` name their step.
export function steps() {
  const s = { step: "start", errors: [] };
  s.until = (p, what, fn, arg) => {
    s.step = what;
    return p.waitForFunction(fn, arg, { timeout: STEP_GUARD_MS });
  };
  // Sends a message from page `p` and waits for its tick (the ack).
  s.send = async (p, message) => {
    await p.fill("#message", message);
    await p.click("#message-form button");
    await s.until(p, `"${message}" is acknowledged`, (m) =>
      [...document.querySelectorAll("#messages li")].some((li) => li.textContent.includes(m) && li.querySelector(".tick")?.textContent === "✓"), message);
  };
  // Runs the scenario, then exits: 0 with `pass` on stderr, or 1 naming
  // the failed step (uncaught errors in the pages fail it too).
  s.conclude = async (browser, scenario, pass) => {
    const say = (line) => process.stderr.write(line + "\n");
    try {
      await scenario();
      if (s.errors.length) throw new Error("uncaught errors in the pages: " + s.errors.join("; "));
      say(`PASS ${pass}`);
      await browser.close();
      process.exit(0);
    } catch (e) {
      say(`FAIL at "${s.step}": ${e.message}`);
      if (s.errors.length) say("page errors: " + s.errors.join("; "));
      await browser.close();
      process.exit(1);
    }
  };
  return s;
}
