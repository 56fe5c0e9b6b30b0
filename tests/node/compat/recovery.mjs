// Connection state recovery with the official client, against the "lab"
// server of crates/switchboard/tests/recovery.rs. Usage:
//   node recovery.mjs URL MODE SCENARIO [N]
// MODE is websocket, polling or upgrade; SCENARIO one of the functions in
// `scenarios` below. A controller client `ctl` makes the server broadcast
// while the client under test (`a`) is away, and asks what the server saw.
import parser from "socket.io-msgpack-parser";
import { args, assert, connect, connected, once, refused, scenario, step, transportOptions } from "./lib.mjs";

const [mode, which, extra] = args;
// "msgpack": WebSocket with socket.io-msgpack-parser, as the server uses.
const transports = mode === "msgpack" ? { transports: ["websocket"], parser } : transportOptions(mode);

// Every value of `event` that `socket` receives (its first argument), with
// the whole argument lists, and a way to wait for a count.
function collect(socket, event, order) {
  const c = { values: [], calls: [], waiters: [] };
  socket.on(event, (...a) => {
    c.values.push(a[0]);
    c.calls.push(a);
    order?.push(`${event}:${a[0]}`);
    c.waiters = c.waiters.filter(([n, resolve]) => (c.values.length >= n ? (resolve(), false) : true));
  });
  c.until = (n) =>
    c.values.length >= n ? Promise.resolve() : new Promise((resolve) => c.waiters.push([n, resolve]));
  return c;
}

const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

async function setup(opts = {}) {
  const ctl = connect("/", { forceNew: true, ...transports });
  const a = connect("/", { forceNew: true, ...transports, ...opts });
  const welcome = collect(a, "welcome");
  await connected(ctl);
  await connected(a);
  await welcome.until(1);
  return { ctl, a, welcome };
}

// Drops a's transport (the client sees a disconnect, the server a
// transport close) and waits until the server has seen it go.
async function drop(ctl, a) {
  const id = a.id;
  const down = once(a, "disconnect");
  a.io.engine.close();
  await down;
  const reason = await ctl.emitWithAck("gone", id);
  assert.ok(["transport close", "transport error"].includes(reason), `server saw ${reason}`);
  return id;
}

// No `room: undefined`: the msgpack parser encodes undefined as an ext
// type, which the server reads as an attachment.
const burst = (ctl, event, from, to, room, binary = false) =>
  ctl.emitWithAck("burst", { event, from, to, binary, ...(room === undefined ? {} : { room }) });

const scenarios = {
  // Messages broadcast while the client is away arrive after it
  // reconnects, in order, once, before anything new; same id and rooms.
  async recover() {
    const order = [];
    const { ctl, a, welcome } = await setup();
    assert.equal(a.recovered, false);
    assert.equal(typeof a._pid, "string", "the CONNECT reply carries a pid");
    const [hello, offset] = welcome.calls[0];
    assert.equal(hello, "hello");
    assert.equal(typeof offset, "string", "a direct emit carries an offset too");
    a.on("welcome", () => order.push("welcome"));
    assert.equal(await a.emitWithAck("join", "r"), true);
    const ticks = collect(a, "tick", order);
    const room = collect(a, "room", order);

    const origin = (await ctl.emitWithAck("status", a.id)).origin;
    step("broadcasts reach a");
    await burst(ctl, "tick", 0, 20);
    await burst(ctl, "room", 0, 20, "r");
    await ticks.until(20);
    await room.until(20);
    assert.equal(typeof ticks.calls[0][1], "string", "a broadcast carries its offset last");

    step("drop a's transport");
    const id = await drop(ctl, a);

    step("broadcast while a is away");
    await burst(ctl, "tick", 20, 40);
    await burst(ctl, "room", 20, 40, "r");

    step("a reconnects and recovers");
    order.length = 0;
    a.connect();
    await connected(a);
    assert.equal(a.recovered, true, "recovered on the client");
    assert.equal(a.id, id, "same socket id");
    await ticks.until(40);
    await room.until(40);
    await welcome.until(2);
    const status = await ctl.emitWithAck("status", id);
    assert.equal(status.recovered, true, "recovered on the server");
    assert.deepEqual([...status.rooms].sort(), [id, "r"].sort(), "rooms back");
    assert.equal(status.origin, origin, "data back");
    // The replay comes before anything the connect handler sends.
    const lastMissed = Math.max(order.indexOf("tick:39"), order.indexOf("room:39"));
    assert.ok(lastMissed >= 0 && lastMissed < order.indexOf("welcome"), `replay first: ${order.join(" ")}`);

    step("its rooms still receive");
    await burst(ctl, "tick", 40, 50);
    await burst(ctl, "room", 40, 50, "r");
    await ticks.until(50);
    await room.until(50);
    assert.deepEqual(ticks.values, range(0, 50), "every tick, in order, once");
    assert.deepEqual(room.values, range(0, 50), "every room message, in order, once");
  },

  // A drop in the middle of a continuous stream, with the client's own
  // reconnection: no gap, no duplicate.
  async stream() {
    const { ctl, a } = await setup({
      reconnection: true,
      reconnectionDelay: 200,
      reconnectionDelayMax: 200,
      randomizationFactor: 0,
    });
    const seq = collect(a, "seq");
    assert.equal(await ctl.emitWithAck("stream-start", 2), true);
    await seq.until(20);
    const id = a.id;
    step("drop a's transport in the middle of the stream");
    const back = once(a, "connect");
    a.io.engine.close();
    await back;
    assert.equal(a.recovered, true);
    assert.equal(a.id, id);
    step("the stream goes on");
    await seq.until(seq.values.length + 20);
    const last = await ctl.emitWithAck("stream-stop");
    await seq.until(last + 1);
    assert.deepEqual(seq.values, range(0, last + 1), "no gap, no duplicate");
  },

  // Past the window: a fresh session without the old rooms.
  async expired() {
    const { ctl, a } = await setup();
    await a.emitWithAck("join", "r");
    await burst(ctl, "tick", 0, 5);
    const origin = (await ctl.emitWithAck("status", a.id)).origin;
    const id = await drop(ctl, a);
    assert.equal(await ctl.emitWithAck("await-expired"), true);
    a.connect();
    await connected(a);
    assert.equal(a.recovered, false);
    assert.notEqual(a.id, id);
    const status = await ctl.emitWithAck("status", a.id);
    assert.equal(status.recovered, false);
    assert.deepEqual(status.rooms, [a.id]);
    assert.notEqual(status.origin, origin, "fresh data");
  },

  // The client comes back on a new connection before the server noticed
  // the old one died (here: the old one is in fact alive): the new one
  // takes the session over, the old connection is closed.
  async takeover() {
    const { ctl, a } = await setup();
    const ticks = collect(a, "tick");
    await burst(ctl, "tick", 0, 5);
    await ticks.until(5);
    const id = a.id;
    const b = connect("/", { forceNew: true, ...transports, autoConnect: false });
    b._pid = a._pid;
    b._lastOffset = a._lastOffset;
    const later = collect(b, "tick");
    const aGone = once(a, "disconnect");
    b.connect();
    await connected(b);
    assert.equal(b.recovered, true, "the new connection recovered the session");
    assert.equal(b.id, id);
    await aGone;
    await burst(ctl, "tick", 5, 10);
    await later.until(5);
    assert.deepEqual(later.values, range(5, 10), "nothing replayed twice, new ticks arrive");
    assert.equal((await ctl.emitWithAck("status", id)).recovered, true);
  },

  // Binary broadcasts (attachments, or inline with msgpack) missed while
  // away come back with their bytes.
  async binary() {
    const { ctl, a } = await setup();
    await a.emitWithAck("join", "r");
    const got = collect(a, "bin");
    await burst(ctl, "bin", 0, 5, "r", true);
    await got.until(5);
    await drop(ctl, a);
    await burst(ctl, "bin", 5, 10, "r", true);
    a.connect();
    await connected(a);
    assert.equal(a.recovered, true);
    await got.until(10);
    assert.deepEqual(got.values, range(0, 10));
    got.calls.forEach(([i, buf, offset]) => {
      assert.deepEqual([...new Uint8Array(buf)], [i], `the bytes of ${i}`);
      assert.equal(typeof offset, "string", "the offset after the attachment");
    });
  },

  // Unknown pids and offsets: fresh sessions.
  async forged() {
    const { ctl, a } = await setup();
    let id = await drop(ctl, a);
    step("a pid shaped like ours but unknown");
    a._pid = "AAAAAAAAAAAAAAAAAAAA";
    a.connect();
    await connected(a);
    assert.equal(a.recovered, false);
    assert.notEqual(a.id, id);

    step("garbage for a pid");
    id = await drop(ctl, a);
    a._pid = "not a pid at all";
    a.connect();
    await connected(a);
    assert.equal(a.recovered, false);

    step("the real pid with an offset that is not ours");
    id = await drop(ctl, a);
    a._lastOffset = "hello";
    a.connect();
    await connected(a);
    assert.equal(a.recovered, false);
    assert.notEqual(a.id, id);
  },

  // skip_middlewares off: a recovered session meets the middleware again.
  async refused() {
    const { ctl, a } = await setup();
    await drop(ctl, a);
    assert.equal(await ctl.emitWithAck("deny", true), true);
    a.connect();
    const err = await refused(a);
    assert.equal(err.message, "denied");
    assert.deepEqual(err.data, { why: "recovery test" });
    assert.equal(a.connected, false);
  },

  // skip_middlewares on: the recovered session passes, a fresh one does not.
  async skipped() {
    const { ctl, a } = await setup();
    const id = await drop(ctl, a);
    assert.equal(await ctl.emitWithAck("deny", true), true);
    a.connect();
    await connected(a);
    assert.equal(a.recovered, true);
    assert.equal(a.id, id);
    const b = connect("/", { forceNew: true, ...transports });
    const err = await refused(b);
    assert.equal(err.message, "denied");
  },

  // max_packets N: N - 1 packets behind recovers (the client's last one is
  // still kept); N behind does not.
  // With a room (args[3]) the packets go to that room only, so the
  // controller's own queue is not what is being bounded.
  async bound() {
    const n = Number(extra);
    const room = args[3];
    const { ctl, a, welcome } = await setup();
    if (room) await a.emitWithAck("join", room);
    const ticks = collect(a, "tick");
    await burst(ctl, "tick", 0, 3, room);
    await ticks.until(3);
    step(`${n - 1} packets while away: recovered`);
    await drop(ctl, a);
    await burst(ctl, "tick", 3, 3 + n - 1, room);
    a.connect();
    await connected(a);
    assert.equal(a.recovered, true);
    await ticks.until(3 + n - 1);
    assert.deepEqual(ticks.values, range(0, 3 + n - 1));
    await welcome.until(2);
    step(`${n} packets while away: a fresh session`);
    await drop(ctl, a);
    await burst(ctl, "tick", 100, 100 + n, room);
    a.connect();
    await connected(a);
    assert.equal(a.recovered, false);
    assert.deepEqual(ticks.values, range(0, 3 + n - 1), "nothing replayed");
  },

  // Recovery off: no pid, no offsets.
  async off() {
    const a = connect("/", { forceNew: true, ...transports });
    const welcome = once(a, "welcome");
    await connected(a);
    assert.equal(a._pid, undefined);
    assert.deepEqual(await welcome, ["hello"]);
    const tick = once(a, "tick");
    await a.emitWithAck("burst", {});
    assert.deepEqual(await tick, [0]);
  },

  // a leaves for good (transport closed, no reconnection): its session is
  // kept for now; the Rust side then waits for the store to empty.
  async leave() {
    const { ctl, a } = await setup();
    await burst(ctl, "tick", 0, 5);
    await drop(ctl, a);
    const stats = await ctl.emitWithAck("stats");
    assert.equal(stats.sessions, 1);
    assert.ok(stats.packets >= 5, `packets kept: ${stats.packets}`);
  },
};

assert.ok(scenarios[which], `unknown scenario ${which}`);
scenario(`recovery ${which} over ${mode}`, scenarios[which], { timeoutMs: 30_000 });
