// Presence under a storm: N users (default 2,000), each on its own
// WebSocket connection, join at once while an observer counts the
// users:online announcements it receives until one lists everybody.
// Prints RESULT {users, announcements, elapsedMs}: the Rust side checks
// the count against the coalescing bound (one per 200 ms) over the
// elapsed time measured here, from just before the first join was sent to
// the arrival of the full list.
// argv[3]: N.
import { connect } from "../compat/lib.mjs";
import { args, assert, client, connected, join, result, scenario, setMode, step } from "./lib.mjs";

const N = Number(args[0] ?? 2000);
setMode("websocket");

const name = (i) => `user${String(i).padStart(4, "0")}`;

scenario(`presence: ${N} users join at once`, async () => {
  step("the observer joins");
  const observer = await client();
  assert.equal((await join(observer, "observer")).status, "ok");
  await observer.log.wait("users:online", (l) => l.length === 1);

  step(`open ${N} connections`);
  // Plain sockets, without the event log: N logs of N-name lists would
  // hold gigabytes.
  const sockets = [];
  for (let i = 0; i < N; i++) {
    sockets.push(connect("/", { transports: ["websocket"], forceNew: true }));
  }
  await Promise.all(sockets.map(connected));

  step(`all ${N} join at once`);
  const from = observer.log.mark();
  const start = performance.now();
  const acks = await Promise.all(sockets.map((socket, i) => join(socket, name(i))));
  acks.forEach((ack, i) => assert.deepEqual(ack, { status: "ok", user: name(i) }));

  step("the observer's users:online until one lists everybody");
  const everybody = (list) => list.length === N + 1;
  await observer.log.wait("users:online", everybody, from);
  const events = observer.log.events.slice(from).filter((e) => e.event === "users:online");
  const last = events.findIndex((e) => everybody(e.args[0]));
  const full = events[last].args[0];
  assert.deepEqual(
    [...full].sort(),
    ["observer", ...Array.from({ length: N }, (_, i) => name(i))].sort(),
    "the full list names every user once",
  );
  const announcements = last + 1;
  const elapsedMs = events[last].at - start;
  console.log(`${announcements} announcements in ${Math.round(elapsedMs)} ms`);
  result({ users: N, announcements, elapsedMs });

  step(`drop the ${N} connections`);
  // Closing them gracefully would make this process read every user:left
  // the server sends the ones still open meanwhile (N² again) before each
  // close handshake ends; terminating the TCP connections skips that.
  for (const socket of sockets) socket.io.engine?.transport?.ws?.terminate?.();
}, { timeoutMs: 240_000 });
