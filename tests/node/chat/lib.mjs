// What the chat scenarios share, on top of ../compat/lib.mjs (server URL
// from argv, overall timeout, steps, tracked sockets).
//
// Every client records every event it receives, in order, from before it
// connects, so a scenario can ask both "wait until X arrives" and "what
// arrived before the marker": absence is checked against a later event on
// the same connection (which the server sends after the one that must not
// come), never by waiting a while.

import { assert, connect, connected, transportOptions } from "../compat/lib.mjs";

export { args, assert, connected, refused, scenario, step, transportOptions, url } from "../compat/lib.mjs";

// The transport mode of this run (websocket | polling | upgrade), set by
// the script from its arguments; every client opened by `client` uses it.
let mode = "upgrade";
export function setMode(m) {
  transportOptions(m); // throws on an unknown mode
  mode = m ?? "upgrade";
}

// A connected client on `nsp` that records what it receives.
export async function client(nsp = "/", opts = {}) {
  const socket = open(nsp, opts);
  await connected(socket);
  return socket;
}

// The same, without waiting for the connection (for refusals).
export function open(nsp = "/", opts = {}) {
  const socket = connect(nsp, { ...transportOptions(mode), forceNew: true, ...opts });
  socket.log = new Log(socket);
  return socket;
}

// Every event one socket received: {event, args, at} in arrival order.
export class Log {
  constructor(socket) {
    this.events = [];
    this.waiters = new Set();
    socket.onAny((event, ...args) => {
      const entry = { event, args, at: performance.now() };
      this.events.push(entry);
      for (const waiter of this.waiters) waiter(entry);
    });
  }

  // A position in the log: what arrives from now on is at or after it.
  mark() {
    return this.events.length;
  }

  // The first `event` at or after position `from` whose first argument
  // passes `test`: one already received, or the next one to arrive.
  wait(event, test = () => true, from = 0) {
    const match = (e) => e.event === event && test(e.args[0], e);
    const found = this.events.slice(from).find(match);
    if (found) return Promise.resolve(found.args[0]);
    return new Promise((resolve) => {
      const waiter = (e) => {
        if (match(e)) {
          this.waiters.delete(waiter);
          resolve(e.args[0]);
        }
      };
      this.waiters.add(waiter);
    });
  }

  // First arguments of every `event` in [from, to).
  list(event, from = 0, to = this.events.length) {
    return this.events
      .slice(from, to)
      .filter((e) => e.event === event)
      .map((e) => e.args[0]);
  }

  // Names of every event in [from, to), for failure messages.
  names(from = 0, to = this.events.length) {
    return this.events.slice(from, to).map((e) => e.event);
  }
}

// Joins as `name`; returns the ack.
export async function join(socket, name) {
  return socket.emitWithAck("user:join", name);
}

// Sends `text` with an ack; returns the ack.
export async function say(socket, text) {
  return socket.emitWithAck("chat:message", text);
}

let markers = 0;

// A chat:message from `sender` that every socket in `observers` has
// received; returns the marker's position in each observer's log.
// Whatever the server sent an observer before the marker has arrived by
// then, so `log.list(event, from, position)` is complete. The marker is
// stored like any message; scenarios that count history account for it.
export async function marker(sender, observers) {
  const text = `marker ${++markers}`;
  const starts = observers.map((o) => o.log.mark());
  const ack = await say(sender, text);
  assert.equal(ack.status, "ok", `marker acked: ${JSON.stringify(ack)}`);
  await Promise.all(observers.map((o, i) => o.log.wait("chat:message", (m) => m.text === text, starts[i])));
  return observers.map((o, i) =>
    o.log.events.findIndex((e, at) => at >= starts[i] && e.event === "chat:message" && e.args[0].text === text),
  );
}

// Asserts the exact shape of a message as the server sends it.
export function assertMessage(message, { user, text, room }) {
  assert.deepEqual(Object.keys(message).sort(), ["id", "room", "text", "timestamp", "user"]);
  assert.ok(Number.isSafeInteger(message.id) && message.id > 0, `id ${message.id} is a safe positive integer`);
  assert.equal(message.user, user);
  assert.equal(message.text, text);
  assert.equal(message.room, room);
  assertTimestamp(message.timestamp);
}

// ISO 8601 / RFC 3339 date-time with a zone, which Date parses.
export function assertTimestamp(timestamp) {
  assert.equal(typeof timestamp, "string");
  assert.match(timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  assert.ok(!Number.isNaN(Date.parse(timestamp)), `${timestamp} parses`);
}

// Asserts an error ack: {status: "error", error: non-empty string}.
export function assertError(ack, what) {
  assert.equal(ack?.status, "error", `${what}: expected an error ack, got ${JSON.stringify(ack)}`);
  assert.deepEqual(Object.keys(ack).sort(), ["error", "status"], `${what}: keys`);
  assert.equal(typeof ack.error, "string", `${what}: error is a string`);
  assert.ok(ack.error.length > 0, `${what}: error is not empty`);
}

// Same members, each once, whatever the order.
export function assertSameNames(list, expected, what = "names") {
  assert.ok(Array.isArray(list), `${what} is an array`);
  assert.equal(new Set(list).size, list.length, `${what} has no duplicates: ${list}`);
  assert.deepEqual([...list].sort(), [...expected].sort(), what);
}

// Resolves with the reason of the socket's next disconnect.
export function disconnected(socket) {
  return new Promise((resolve) => socket.once("disconnect", (reason) => resolve(reason)));
}

// Prints a result for the Rust side of the test to read.
export function result(value) {
  console.log(`RESULT ${JSON.stringify(value)}`);
}
