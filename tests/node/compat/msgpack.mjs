// The msgpack parser (socket.io-msgpack-parser) on both sides: events,
// acks, binary without placeholders, and the values notepack.io writes as
// extensions (read as the default parser would see them).
import parser from "socket.io-msgpack-parser";
import { assert, bytes, connect, connected, once, scenario, step } from "./lib.mjs";

scenario("msgpack parser", async () => {
  const socket = connect("/", { parser, forceNew: true });
  const welcome = once(socket, "welcome");
  socket.on("double", (n, callback) => callback(n * 2));

  step("connect; the server emits with the msgpack encoding");
  await connected(socket);
  assert.deepEqual(await welcome, [{ hello: "msgpack", list: [1, 2.5, null, true] }]);

  step("emit with ack, JSON-like values");
  assert.deepEqual(await socket.emitWithAck("echo", { a: [1, "b"] }, "c"), [{ a: [1, "b"] }, "c"]);

  step("binary inside msgpack");
  const [back] = await socket.emitWithAck("echo", { blob: bytes([1, 2, 3]) });
  assert.deepEqual([...back.blob], [1, 2, 3]);

  step("notepack's extensions: undefined, Date, a typed array (ext 8) of one zero byte");
  const echoed = await socket.emitWithAck(
    "echo",
    { gone: undefined, kept: 1 },
    [undefined],
    new Date(1795338303007),
    new Uint8Array([0]),
  );
  assert.deepEqual(echoed.slice(0, 3), [{ kept: 1 }, [null], "2026-11-22T09:05:03.007Z"]);
  assert.deepEqual([...echoed[3]], [0]);

  step("the server emits with ack");
  assert.equal(await socket.emitWithAck("ask-double", 21), 42);
});
