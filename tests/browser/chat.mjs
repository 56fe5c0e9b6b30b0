// The chat page in headless Chromium, as two people use it:
//
//   node chat.mjs <chat-server-url> <screenshot-dir>
//
// Two pages join as different users, see each other online, exchange
// messages (each acknowledged: a tick), see each other typing, use a room;
// then one page reloads, joins again and sees the history. Screenshots of
// each step go to <screenshot-dir>. Exits 0 on success, 1 on the first
// failed step (named on stderr); any uncaught error in a page fails it.

import fs from "node:fs";
import path from "node:path";
import { launch, steps } from "./chat-page.mjs";

const base = (process.argv[2] || "").replace(/\/$/, "");
const shots = process.argv[3];
if (!base || !shots) {
  console.error("usage: node chat.mjs <chat-server-url> <screenshot-dir>");
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });

const run = steps();
const { errors, until, send } = run;

const browser = await launch();

async function page(name) {
  const p = await browser.newPage({ viewport: { width: 1000, height: 640 } });
  p.on("pageerror", (e) => errors.push(`${name}: ${e}`));
  await p.goto(base + "/");
  return p;
}

const shot = (p, name) => p.screenshot({ path: path.join(shots, `${name}.png`) });
const text = (sel) => document.querySelector(sel).textContent;

async function join(p, name) {
  await p.fill("#name", name);
  await p.click("#join-form button");
  await until(p, `${name} joins`, () => !document.querySelector("#chat").hidden);
}

await run.conclude(browser, async () => {
  const alice = await page("alice");
  const bob = await page("bob");
  await join(alice, "alice");
  await join(bob, "bob");

  await until(alice, "alice sees both online", () => [...document.querySelectorAll("#online li")].map((li) => li.textContent).join() === "alice,bob");
  await until(bob, "bob sees both online", () => [...document.querySelectorAll("#online li")].map((li) => li.textContent).join() === "alice,bob");
  await shot(alice, "1-online");

  await send(alice, "hello bob");
  await until(bob, "bob receives alice's message", () => document.querySelector("#messages").textContent.includes("hello bob"));

  run.step = "bob types";
  await bob.type("#message", "hi al");
  await until(alice, "alice sees bob typing", () => document.querySelector("#typing").textContent === "bob is typing...");
  await shot(alice, "2-typing");
  await bob.click("#message-form button");
  await until(alice, "alice receives bob's message", () => document.querySelector("#messages").textContent.includes("hi al"));

  run.step = "both join a room";
  for (const p of [alice, bob]) {
    await p.fill("#room", "dev");
    await p.press("#room", "Enter");
    await until(p, "the room is shown", () => document.querySelector("#where").textContent === "# dev");
  }
  await until(alice, "alice sees bob join the room", () => document.querySelector("#messages").textContent.includes("bob joined dev"));
  await send(bob, "room talk");
  await until(alice, "alice receives the room message", () => document.querySelector("#messages").textContent.includes("room talk"));
  await shot(alice, "3-room");

  run.step = "alice switches back to general";
  await alice.click("#rooms li[data-room='']");
  await until(alice, "general shows its history again", () =>
    document.querySelector("#messages").textContent.includes("hello bob") && !document.querySelector("#messages").textContent.includes("room talk"));

  run.step = "bob reloads";
  await bob.reload();
  await join(bob, "bob");
  await until(bob, "bob sees the history after reloading", () => {
    const t = document.querySelector("#messages").textContent;
    return t.includes("hello bob") && t.includes("hi al");
  });
  await shot(bob, "4-history-after-reload");
}, "chat page: online list, messages with ticks, typing, rooms, history after reload");
