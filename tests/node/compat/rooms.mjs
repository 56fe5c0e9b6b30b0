// Rooms and broadcast operators with three clients A, B, C: join, leave,
// to, except, broadcast, volatile, a socket id as a room.
//
// Each step asks the server (with an ack) to do one operation; the server
// does it, then emits `marker` to everyone, then acknowledges. A connection
// delivers in order, so whatever a client got between two markers is
// exactly what that step sent it: "did not receive" needs no waiting.
import { assert, connect, connected, scenario, step } from "./lib.mjs";

function client(label) {
  const socket = connect("/", { forceNew: true });
  const state = { label, socket, log: [], segments: new Map(), waiting: new Map() };
  socket.on("msg", (text) => state.log.push(text));
  socket.on("marker", (n) => {
    const segment = state.log.splice(0);
    state.segments.set(n, segment);
    state.waiting.get(n)?.(segment);
  });
  return state;
}

// What `client` received during step `n`.
function segment(client, n) {
  if (client.segments.has(n)) return Promise.resolve(client.segments.get(n));
  return new Promise((resolve) => client.waiting.set(n, resolve));
}

let n = 0;

// `from` asks for `op`; then each client must have received `expected`.
async function check(description, from, op, expected) {
  n += 1;
  step(`${n}. ${description}`);
  const marker = await from.socket.emitWithAck("do", { ...op, marker: n });
  assert.equal(marker, n);
  for (const [who, messages] of Object.entries(expected)) {
    const got = await segment(clients[who], n);
    assert.deepEqual(got, messages, `step ${n} (${description}): what ${who} received`);
  }
}

const clients = { A: client("A"), B: client("B"), C: client("C") };

scenario("rooms and broadcast operators", async () => {
  const { A, B, C } = clients;
  await Promise.all([connected(A.socket), connected(B.socket), connected(C.socket)]);

  await check("A joins red", A, { op: "join", room: "red" }, { A: [], B: [], C: [] });
  await check("B joins red and blue", B, { op: "join", rooms: ["red", "blue"] }, { A: [], B: [], C: [] });
  await check("C joins blue", C, { op: "join", room: "blue" }, { A: [], B: [], C: [] });

  step("the server reports the rooms of each socket, its own id first");
  const rooms = async (socket) => {
    const [own, ...others] = await socket.emitWithAck("rooms");
    return [own, ...others.sort()];
  };
  assert.deepEqual(await rooms(A.socket), [A.socket.id, "red"]);
  assert.deepEqual(await rooms(B.socket), [B.socket.id, "blue", "red"]);

  await check("socket.to(red) from A: the room minus A", A, { op: "socket-to", room: "red", text: "t1" },
    { A: [], B: ["t1"], C: [] });
  await check("io.to(red): the whole room", A, { op: "io-to", rooms: ["red"], text: "t2" },
    { A: ["t2"], B: ["t2"], C: [] });
  await check("io.to(red).to(blue): the union, once each", C, { op: "io-to", rooms: ["red", "blue"], text: "t3" },
    { A: ["t3"], B: ["t3"], C: ["t3"] });
  await check("io.except(blue)", A, { op: "io-except", room: "blue", text: "t4" },
    { A: ["t4"], B: [], C: [] });
  await check("io.to(blue).except(red)", A, { op: "io-to-except", room: "blue", except: "red", text: "t5" },
    { A: [], B: [], C: ["t5"] });
  await check("socket.broadcast from B: everyone but B", B, { op: "socket-broadcast", text: "t6" },
    { A: ["t6"], B: [], C: ["t6"] });
  await check("socket.except(blue) from A: everyone but A and blue", A, { op: "socket-except", room: "blue", text: "t7" },
    { A: [], B: [], C: [] });
  await check("io.to(B's id): a socket id is a room", A, { op: "io-to", rooms: [B.socket.id], text: "t8" },
    { A: [], B: ["t8"], C: [] });
  await check("io.volatile: everyone (nothing is full)", C, { op: "io-volatile", text: "t9" },
    { A: ["t9"], B: ["t9"], C: ["t9"] });
  await check("socket.volatile: to itself", C, { op: "socket-volatile", text: "t10" },
    { A: [], B: [], C: ["t10"] });
  await check("io.emit: everyone", B, { op: "io-emit", text: "t11" },
    { A: ["t11"], B: ["t11"], C: ["t11"] });
  await check("B leaves red", B, { op: "leave", room: "red" }, { A: [], B: [], C: [] });
  await check("io.to(red) after B left", C, { op: "io-to", rooms: ["red"], text: "t12" },
    { A: ["t12"], B: [], C: [] });

  step("a disconnected socket leaves its rooms");
  A.socket.disconnect();
  await check("io.to(red) after A left", C, { op: "io-to", rooms: ["red"], text: "t13" },
    { B: [], C: [] });
  await check("io.to(red).to(blue) after A left", C, { op: "io-to", rooms: ["red", "blue"], text: "t14" },
    { B: ["t14"], C: ["t14"] });
});
