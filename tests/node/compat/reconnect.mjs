// Reconnection after a server restart: the server on this port stops once it
// has answered `hello`; a new one starts on the same port; the client
// reconnects by itself and emits again.
import { assert, connect, connected, once, scenario, step, traceEngine } from "./lib.mjs";

scenario("reconnect after a server restart", async () => {
  const socket = connect("/", {
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
  });
  traceEngine(socket);
  let reconnects = 0;
  socket.io.on("reconnect", () => (reconnects += 1));

  step("connect to the first server");
  await connected(socket);
  const firstId = socket.id;
  const gone = once(socket, "disconnect");
  assert.equal(await socket.emitWithAck("hello", 1), "server 1");

  step("the first server shuts down");
  const [reason] = await gone;
  assert.equal(reason, "transport close");
  assert.equal(socket.active, true, "the client keeps trying");

  step("the client reconnects to the second server by itself");
  await once(socket, "connect");
  assert.equal(reconnects, 1);
  assert.notEqual(socket.id, firstId, "a new session");
  assert.equal(await socket.emitWithAck("hello", 2), "server 2");
}, { timeoutMs: 30_000 });
