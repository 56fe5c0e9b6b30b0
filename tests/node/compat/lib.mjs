// What every scenario script shares: the server URL from argv, an overall
// timeout, step logging, tracked client sockets, and small promise helpers.
//
// A script runs `scenario(name, async () => { ... })`. It exits 0 only when
// the body resolved and the process then ended on its own after every
// socket closed; an assertion, a timeout, an uncaught error or a body that
// never finishes all exit 1 with a message naming the step.

import assert from "node:assert/strict";
import { io } from "socket.io-client";

export { assert };

export const url = process.argv[2];
if (!url) {
  console.error(`usage: node ${process.argv[1]} http://127.0.0.1:PORT [options]`);
  process.exit(2);
}

// Extra arguments after the URL.
export const args = process.argv.slice(3);

let name = "scenario";
let current = "start";
let finished = false;
let reported = false;
const sockets = new Set();

function failWith(what, error) {
  if (!reported) {
    reported = true;
    console.error(`FAIL ${name} at step "${current}": ${what}`);
    if (error !== undefined) console.error(error?.stack ?? error);
  }
  process.exit(1);
}

// Names the step in progress, for failure messages, and logs it.
export function step(description) {
  current = description;
  console.log(`- ${description}`);
}

// Runs the scenario body with an overall timeout.
export function scenario(title, body, { timeoutMs = 15_000 } = {}) {
  name = title;
  // Until the body has resolved, any way out of the process is a failure.
  process.exitCode = 1;
  process.on("uncaughtException", (e) => failWith("uncaught exception", e));
  process.on("unhandledRejection", (e) => failWith("unhandled rejection", e));
  process.on("exit", () => {
    if (!finished && !reported) {
      reported = true;
      console.error(`FAIL ${name} at step "${current}": the script ended before the scenario finished`);
    }
  });
  const timer = setTimeout(() => failWith(`timed out after ${timeoutMs} ms`), timeoutMs);
  body().then(
    () => {
      finished = true;
      clearTimeout(timer);
      step("close every socket");
      closeAll();
      process.exitCode = 0;
      console.log(`ok ${name}`);
      // The process should now end by itself; if a handle stays open, say
      // so rather than hang (unref: this timer does not keep it alive).
      setTimeout(() => {
        process.exitCode = 1;
        failWith("passed, but the process did not end: a connection stayed open after close");
      }, 10_000).unref();
    },
    (e) => failWith("assertion or error", e),
  );
}

// A client socket for namespace `nsp` (tracked, closed at the end).
// Reconnection is off unless asked for, so a failure is not retried.
export function connect(nsp = "/", opts = {}) {
  const socket = io(url + (nsp === "/" ? "" : nsp), { reconnection: false, ...opts });
  sockets.add(socket);
  return socket;
}

// Another namespace on the connection of `socket` (multiplexed), tracked.
export function alsoConnect(socket, nsp, opts = {}) {
  // Opens by itself: the manager has autoConnect on.
  const other = socket.io.socket(nsp, opts);
  sockets.add(other);
  return other;
}

// Asserts that two sockets share one manager (one Engine.IO connection),
// without dumping both managers when they do not.
export function assertSameConnection(a, b) {
  assert.ok(a.io === b.io, `${a.nsp} and ${b.nsp} share one connection`);
}

// Logs what the Engine.IO connection(s) of `socket`'s manager do, with
// times, to stdout (shown when the scenario fails): transports, upgrades,
// every packet each way, closes.
export function traceEngine(socket) {
  const t0 = Date.now();
  const log = (...what) => console.log(`  [${Date.now() - t0} ms]`, ...what);
  const short = (data) => (typeof data === "string" ? data.slice(0, 80) : data === undefined ? "" : "<binary>");
  const watched = new WeakSet();
  const watch = (engine) => {
    if (!engine || watched.has(engine)) return;
    watched.add(engine);
    log("engine opening", engine.transport?.name ?? "");
    engine.on("open", () => log("engine open", engine.transport.name));
    engine.on("upgrading", (t) => log("upgrading", t.name));
    engine.on("upgrade", (t) => log("upgrade", t.name));
    engine.on("upgradeError", (e) => log("upgradeError", e.message));
    engine.on("packet", (p) => log("<-", p.type, short(p.data)));
    engine.on("packetCreate", (p) => log("->", p.type, short(p.data)));
    engine.on("close", (reason, detail) => log("engine close", reason, detail?.description ?? ""));
  };
  watch(socket.io.engine);
  // Each reconnection attempt opens a new engine, inside `open`.
  socket.io.on("reconnect_attempt", (n) => log("reconnect attempt", n));
  socket.io.on("reconnect_error", (e) => log("reconnect error", e.message));
  const open = socket.io.open.bind(socket.io);
  socket.io.open = socket.io.connect = (...rest) => {
    const result = open(...rest);
    watch(socket.io.engine);
    return result;
  };
}

// Transport options from a mode name given on the command line.
export function transportOptions(mode) {
  switch (mode) {
    case undefined:
    case "upgrade":
      return { transports: ["polling", "websocket"] };
    case "websocket":
      return { transports: ["websocket"] };
    case "polling":
      return { transports: ["polling"] };
    default:
      throw new Error(`unknown transport mode ${mode}`);
  }
}

export function closeAll() {
  for (const socket of sockets) {
    socket.io.reconnection(false);
    socket.disconnect();
    // A manager whose sockets all left closes its engine already; this also
    // ends one still opening.
    socket.io.engine?.close();
  }
  sockets.clear();
}

// Resolves with the arguments of the next `event` on `emitter`.
export function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...values) => resolve(values)));
}

// Resolves when `socket` connects; rejects with the error on connect_error.
export function connected(socket) {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const ok = () => {
      socket.off("connect_error", ko);
      resolve();
    };
    const ko = (err) => {
      socket.off("connect", ok);
      reject(new Error(`connect_error instead of connect: ${err.message}`, { cause: err }));
    };
    socket.once("connect", ok);
    socket.once("connect_error", ko);
  });
}

// Resolves with the error of the next connect_error; rejects on connect.
export function refused(socket) {
  return new Promise((resolve, reject) => {
    const ok = () => {
      socket.off("connect_error", ko);
      reject(new Error("connected, but a connect_error was expected"));
    };
    const ko = (err) => {
      socket.off("connect", ok);
      resolve(err);
    };
    socket.once("connect", ok);
    socket.once("connect_error", ko);
  });
}

// A Buffer from a list of bytes or a string.
export function bytes(content) {
  return Buffer.from(content);
}
