// One client on each server of a cluster: A on the first URL, B on the
// second, C on the third (or on the first when only two are given).
// Servers (Rust: crates/redis/tests/common, Node: node-server.mjs) share
// one contract, the `do` event:
//
//   do {op, marker, ...} -> the server does `op`, then emits `marker` to
//   the whole cluster, then acknowledges with {marker, result}.
//
// A server publishes in order and Redis delivers in order, so whatever a
// client got between two markers is exactly what that step sent it, and
// a remote join or leave has been applied before its marker arrives.
//
// Usage: node clients.mjs URL1 URL2 [URL3]
import { io } from "socket.io-client";
import { args, assert, scenario, step, url } from "../compat/lib.mjs";

const urls = [url, ...args];
const three = urls.length >= 3;
const open = [];

function client(label, at) {
  const socket = io(at, { reconnection: false, forceNew: true, transports: ["websocket"] });
  open.push(socket);
  const state = { label, socket, log: [], segments: new Map(), waiting: new Map() };
  socket.on("msg", (text) => state.log.push(`msg:${text}`));
  socket.on("bin", (text, data) => state.log.push(`bin:${text}:${[...new Uint8Array(data)].join(",")}`));
  socket.on("sse", (text) => state.log.push(`sse:${text}`));
  // Answers with its label, whatever arguments come before the callback.
  socket.on("question", (...args) => args[args.length - 1](label));
  socket.on("marker", (n) => {
    const segment = state.log.splice(0);
    state.segments.set(n, segment);
    state.waiting.get(n)?.(segment);
  });
  return state;
}

const A = client("A", urls[0]);
const B = client("B", urls[1]);
const C = client("C", three ? urls[2] : urls[0]);
const all = { A, B, C };

function segment(c, n) {
  if (c.segments.has(n)) return Promise.resolve(c.segments.get(n));
  return new Promise((resolve) => c.waiting.set(n, resolve));
}

function connected(socket) {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
}

let n = 0;

// `from` asks its server for `op`; each listed client must then have
// received exactly what is expected. Returns the op's result.
async function check(description, from, op, expected = {}) {
  n += 1;
  step(`${n}. ${description}`);
  const { marker, result } = await from.socket.timeout(10_000).emitWithAck("do", { ...op, marker: n });
  assert.equal(marker, n);
  for (const who of Object.keys(all)) {
    const got = await segment(all[who], n);
    assert.deepEqual(got, expected[who] ?? [], `step ${n} (${description}): what ${who} received`);
  }
  return result;
}

scenario(`cluster of ${urls.length} servers`, async () => {
  await Promise.all(Object.values(all).map((c) => connected(c.socket)));
  const servers = urls.length;

  const count = await check("server count", A, { op: "server-count" });
  assert.equal(count, servers, "serverCount");

  await check("A joins red", A, { op: "join", room: "red" });
  await check("B joins red and blue", B, { op: "join", rooms: ["red", "blue"] });
  await check("C joins blue", C, { op: "join", room: "blue" });

  await check("io.emit from A's server", A, { op: "emit", text: "t1" }, { A: ["msg:t1"], B: ["msg:t1"], C: ["msg:t1"] });
  await check("io.to(red) from C's server", C, { op: "to", rooms: ["red"], text: "t2" }, { A: ["msg:t2"], B: ["msg:t2"] });
  await check("io.to([red, blue]) from B's server", B, { op: "to", rooms: ["red", "blue"], text: "t3" }, { A: ["msg:t3"], B: ["msg:t3"], C: ["msg:t3"] });
  await check("socket.to(blue) from A", A, { op: "socket-to", room: "blue", text: "t4" }, { B: ["msg:t4"], C: ["msg:t4"] });
  await check("io.to(red).except(blue) from C's server", C, { op: "to-except", room: "red", except: "blue", text: "t5" }, { A: ["msg:t5"] });
  await check("socket.broadcast from B", B, { op: "broadcast", text: "t6" }, { A: ["msg:t6"], C: ["msg:t6"] });
  await check("io.except(B's id) from A's server", A, { op: "except", room: B.socket.id, text: "t7" }, { A: ["msg:t7"], C: ["msg:t7"] });
  await check("io.local from B's server", B, { op: "local", text: "t8" }, { B: ["msg:t8"] });
  await check("binary from B's server", B, { op: "binary", text: "b1" }, { A: ["bin:b1:1,2,3"], B: ["bin:b1:1,2,3"], C: ["bin:b1:1,2,3"] });

  const answers = await check("broadcast with acks from A's server", A, { op: "ack" });
  assert.deepEqual(answers, ["A", "B", "C"], "every client answered, on every server");

  const fetched = await check("fetchSockets from B's server", B, { op: "fetch" });
  const expectRooms = (c, rooms) => ({ id: c.socket.id, rooms: [c.socket.id, ...rooms].sort() });
  const want = [expectRooms(A, ["red"]), expectRooms(B, ["blue", "red"]), expectRooms(C, ["blue"])].sort((x, y) => (x.id < y.id ? -1 : 1));
  assert.deepEqual(fetched, want, "fetchSockets sees the sockets of every server");
  const inBlue = await check("fetchSockets in blue from A's server", A, { op: "fetch", room: "blue" });
  assert.deepEqual(inBlue.map((s) => s.id).sort(), [B.socket.id, C.socket.id].sort());

  await check("A's server makes B join green", A, { op: "remote-join", target: B.socket.id, room: "green" });
  await check("io.to(green) from C's server", C, { op: "to", rooms: ["green"], text: "g1" }, { B: ["msg:g1"] });
  await check("C's server makes B leave red", C, { op: "remote-leave", target: B.socket.id, room: "red" });
  await check("io.to(red) from B's server", B, { op: "to", rooms: ["red"], text: "r1" }, { A: ["msg:r1"] });

  const rooms = await check("allRooms from A's server", A, { op: "all-rooms" });
  const ids = new Set(Object.values(all).map((c) => c.socket.id));
  assert.deepEqual(rooms.filter((r) => !ids.has(r)).sort(), ["blue", "green", "red"]);

  await check("serverSideEmit from A's server", A, { op: "sse", text: "s1" }, three ? { B: ["sse:s1"], C: ["sse:s1"] } : { B: ["sse:s1"] });
  const names = await check("serverSideEmitWithAck from B's server", B, { op: "sse-ack" });
  assert.equal(names.length, servers - 1, `one answer per other server: ${JSON.stringify(names)}`);

  step("C's server disconnects B (remote)");
  const gone = new Promise((resolve) => B.socket.once("disconnect", resolve));
  await C.socket.timeout(10_000).emitWithAck("do", { op: "remote-disconnect", target: B.socket.id, marker: 0 });
  assert.equal(await gone, "io server disconnect");

  for (const socket of open) socket.disconnect();
});
