// Events both ways, with every JSON shape and several arguments.
// argv[3]: transport mode (websocket | polling | upgrade).
import { args, assert, connect, connected, once, scenario, step, transportOptions } from "./lib.mjs";

const TEXT = 'héllo ✓ 🚀 "quoted" \\ back\nslash \u2028 \u0000 end';
const ARGS = [TEXT, 42, -1.5, { nested: [1, "two", { deep: true }], empty: {} }, [true, false], null];

scenario(`events (${args[0] ?? "upgrade"})`, async () => {
  const socket = connect("/", transportOptions(args[0]));
  const welcome = once(socket, "welcome");
  const echoed = once(socket, "chat-echo");
  const sum = once(socket, "sum");
  const noArgs = once(socket, "no-args");

  step("connect; the server emits several arguments on connect");
  await connected(socket);
  assert.deepEqual(await welcome, ["hi", 1, { list: [1, 2, 3], unicode: "ünï ✓" }, null, true]);

  step("emit with several arguments; the server emits them back");
  socket.emit("chat", ...ARGS);
  assert.deepEqual(await echoed, ARGS);

  step("emit an object into a typed handler");
  socket.emit("add", { a: 2, b: 40 });
  assert.deepEqual(await sum, [42]);

  step("emit without arguments, both ways");
  socket.emit("nothing");
  assert.deepEqual(await noArgs, []);

  step("many events in a row arrive in order");
  const received = [];
  const all = new Promise((resolve) =>
    socket.on("count-back", (n) => {
      received.push(n);
      if (received.length === 100) resolve();
    }),
  );
  for (let i = 0; i < 100; i++) socket.emit("count", i);
  await all;
  assert.deepEqual(received, [...Array(100).keys()]);

  step("an event the server has no handler for is ignored");
  socket.emit("unknown-event", 1, 2, 3);
  assert.equal(await socket.emitWithAck("ack-me"), "still connected");
});
