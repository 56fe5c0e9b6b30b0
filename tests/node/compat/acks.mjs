// Acknowledgements both ways: callbacks, emitWithAck, several arguments,
// and timeouts on either side. argv[3]: transport mode.
import { args, assert, connect, connected, scenario, step, transportOptions } from "./lib.mjs";

scenario(`acks (${args[0] ?? "upgrade"})`, async () => {
  const socket = connect("/", transportOptions(args[0]));
  let ignored = 0;
  socket.on("double", (q, callback) => callback({ answer: q.n * 2 }));
  socket.on("two-answers", (callback) => callback("one", { two: [2] }));
  socket.on("ignore-me", (value, callback) => {
    assert.equal(value, "no answer for you");
    assert.equal(typeof callback, "function", "the server asked for an ack");
    ignored += 1;
  });
  await connected(socket);

  step("client emit with a callback");
  const viaCallback = await new Promise((resolve) => socket.emit("add", 2, 3, resolve));
  assert.equal(viaCallback, 5);

  step("client emitWithAck");
  assert.equal(await socket.emitWithAck("add", 40, 2), 42);

  step("the server acknowledges with several arguments");
  const many = await new Promise((resolve) =>
    socket.emit("many", "x", (...values) => resolve(values)),
  );
  assert.deepEqual(many, ["x", 1, [true, null], { k: "v" }]);

  step("client timeout with a callback: the server never acknowledges");
  const [err, ...rest] = await new Promise((resolve) =>
    socket.timeout(200).emit("never-acks", "a", (...values) => resolve(values)),
  );
  assert.ok(err instanceof Error, "the callback gets an error first");
  assert.equal(err.message, "operation has timed out");
  assert.deepEqual(rest, []);

  step("client timeout with emitWithAck: rejects");
  await assert.rejects(socket.timeout(200).emitWithAck("never-acks", "b"), {
    message: "operation has timed out",
  });

  step("client timeout not reached: the answer comes with a null error");
  const [noErr, value] = await new Promise((resolve) =>
    socket.timeout(5_000).emit("add", 1, 1, (...values) => resolve(values)),
  );
  assert.equal(noErr, null);
  assert.equal(value, 2);

  step("the server emits with ack, and with a timeout to a client that never answers");
  // The server runs both and acknowledges this once it has both results.
  const results = await socket.emitWithAck("start-server-acks");
  assert.deepEqual(results, { double: { answer: 42 }, twoAnswers: ["one", { two: [2] }], ignored: "timeout" });
  assert.equal(ignored, 1);
});
