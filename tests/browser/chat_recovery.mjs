// The chat page in headless Chromium across a dropped connection:
//
//   node chat_recovery.mjs <chat-url> <chat-url-without-window>
//
// On the first server (recovery on, the default window) alice's connection
// drops while bob writes; when it comes back her page shows every message
// in order and once, through the replay (recovered). On the second server
// the window has always passed, as after a longer absence: the page joins
// again and fetches the gap through chat:history (not recovered), with the
// same result. Exits 0 on success, 1 on the first failed step.

import { launch, steps } from "./chat-page.mjs";

const [short, long] = process.argv.slice(2).map((u) => (u || "").replace(/\/$/, ""));
if (!short || !long) {
  console.error("usage: node chat_recovery.mjs <chat-url> <chat-url-without-window>");
  process.exit(2);
}

const run = steps();
const { errors, until, send } = run;

const browser = await launch();

async function open(base, name) {
  const p = await browser.newPage();
  p.on("pageerror", (e) => errors.push(`${name}: ${e}`));
  await p.goto(base + "/");
  await p.fill("#name", name);
  await p.click("#join-form button");
  await until(p, `${name} joins`, () => !document.querySelector("#chat").hidden);
  return p;
}

// The texts of the messages shown, in order.
const shown = () => [...document.querySelectorAll("#messages li[data-id]")].map((li) => li.lastChild.textContent);

async function dropAndReturn(base, recovered) {
  const tag = recovered ? "short" : "long";
  const alice = await open(base, "alice");
  const bob = await open(base, "bob");
  await send(bob, `${tag}: before`);
  await until(alice, "alice has bob's first message", (t) => document.querySelector("#messages").textContent.includes(t), `${tag}: before`);

  run.step = "alice's connection drops (she stays away until told)";
  await alice.evaluate(() => {
    window.chatSocket.io.reconnection(false);
    window.chatSocket.io.engine.close();
  });
  await until(alice, "the page says it is reconnecting", () => !document.querySelector("#banner").hidden);

  for (const n of [1, 2, 3]) await send(bob, `${tag}: missed ${n}`);

  run.step = "alice comes back";
  await alice.evaluate(() => {
    window.chatSocket.io.reconnection(true);
    window.chatSocket.connect();
  });
  await until(alice, "the banner goes", () => document.querySelector("#banner").hidden);
  const wanted = [`${tag}: before`, `${tag}: missed 1`, `${tag}: missed 2`, `${tag}: missed 3`];
  await until(alice, "alice's page shows every missed message", (w) => {
    const texts = [...document.querySelectorAll("#messages li[data-id]")].map((li) => li.lastChild.textContent);
    return w.every((t) => texts.includes(t));
  }, wanted);
  const texts = await alice.evaluate(shown);
  if (JSON.stringify(texts) !== JSON.stringify(wanted)) {
    throw new Error(`alice's page shows ${JSON.stringify(texts)}, expected ${JSON.stringify(wanted)}`);
  }
  const wasRecovered = await alice.evaluate(() => window.chatSocket.recovered);
  if (wasRecovered !== recovered) throw new Error(`recovered is ${wasRecovered}, expected ${recovered}`);

  run.step = "alice writes again as alice";
  await send(alice, `${tag}: alice is back`);
  await until(bob, "bob gets it from alice", (t) =>
    [...document.querySelectorAll("#messages li[data-id]")].some((li) => li.textContent.includes(t) && li.querySelector(".user").textContent === "alice"), `${tag}: alice is back`);
  await alice.close();
  await bob.close();
}

await run.conclude(browser, async () => {
  await dropAndReturn(short, true);
  await dropAndReturn(long, false);
}, "chat page across a drop: replayed when recovered, fetched through chat:history when not");
