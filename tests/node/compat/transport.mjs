// One transport mode end to end. argv[3]:
//   websocket  WebSocket only, from the start
//   polling    HTTP long-polling only, never upgraded
//   upgrade    polling first, then the upgrade to WebSocket
// Traffic flows before, during and after the upgrade; the server says which
// transport it sees.
import { args, assert, bytes, connect, connected, scenario, step, traceEngine, transportOptions } from "./lib.mjs";

const mode = args[0];
if (!["websocket", "polling", "upgrade"].includes(mode)) throw new Error(`mode? ${mode}`);

// `count` acknowledged round trips at once; the answers must match.
async function burst(socket, label, count) {
  const answers = await Promise.all(
    [...Array(count).keys()].map((i) => socket.emitWithAck("echo", `${label}-${i}`, bytes([i % 256]))),
  );
  answers.forEach(([text, buffer], i) => {
    assert.equal(text, `${label}-${i}`);
    assert.deepEqual([...buffer], [i % 256]);
  });
}

scenario(`transport ${mode}`, async () => {
  const socket = connect("/", { ...transportOptions(mode), forceNew: true });
  const engine = socket.io.engine;
  traceEngine(socket);
  let upgraded = null;
  let openedOn = null;
  socket.io.on("open", () => (openedOn = engine.transport.name));
  const upgrade = new Promise((resolve) =>
    engine.on("upgrade", (transport) => {
      upgraded = transport.name;
      resolve();
    }),
  );

  step("connect");
  const burstDuringUpgrade = connected(socket).then(() => burst(socket, "early", 50));
  await connected(socket);
  assert.equal(openedOn, mode === "websocket" ? "websocket" : "polling", "transport at open");

  if (mode === "upgrade") {
    step("the engine upgrades to WebSocket, with traffic in flight");
    await upgrade;
    await burstDuringUpgrade;
    assert.equal(upgraded, "websocket");
    assert.equal(engine.transport.name, "websocket");
  } else {
    await burstDuringUpgrade;
  }

  step("traffic after the handshake; the server sees the same transport");
  await burst(socket, "late", 50);
  const expected = mode === "polling" ? "polling" : "websocket";
  assert.equal(await socket.emitWithAck("transport"), expected);
  assert.equal(engine.transport.name, expected);

  step("a large message each way");
  const big = "x".repeat(200_000);
  const [back] = await socket.emitWithAck("echo", big, Buffer.alloc(0));
  assert.equal(back, big);

  if (mode !== "upgrade") {
    assert.equal(upgraded, null, "no upgrade happened");
  }
});
