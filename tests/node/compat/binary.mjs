// Binary both ways: Buffer, ArrayBuffer, typed arrays, an empty buffer,
// binary nested in objects and arrays, and binary inside acks.
// argv[3]: transport mode (polling sends binary as base64).
import { args, assert, bytes, connect, connected, once, scenario, step, transportOptions } from "./lib.mjs";

// Asserts `value` is a Buffer holding `expected` (what Node receives for
// any binary attachment).
function assertBytes(value, expected, what) {
  assert.ok(Buffer.isBuffer(value), `${what} is a Buffer, got ${Object.prototype.toString.call(value)}`);
  assert.deepEqual([...value], [...expected], what);
}

scenario(`binary (${args[0] ?? "upgrade"})`, async () => {
  const socket = connect("/", transportOptions(args[0]));
  socket.on("give-bytes", (callback) =>
    callback(bytes("xyz"), { more: new Uint8Array([9, 8]).buffer, text: "t" }),
  );
  const file = once(socket, "file");
  const echoed = once(socket, "upload-echo");
  await connected(socket);

  step("the server emits binary nested in an object");
  const [sent] = await file;
  assert.equal(sent.name, "x.bin");
  assertBytes(sent.content, [0, 255, 1, 254], "content");
  assert.equal(sent.thumbs.length, 2);
  assertBytes(sent.thumbs[0], bytes("thumb"), "thumbs[0]");
  assertBytes(sent.thumbs[1], [], "thumbs[1] (empty)");

  step("the client emits Buffer, ArrayBuffer, typed array, empty and nested binary");
  const big = Buffer.alloc(100_000, 7);
  socket.emit(
    "upload",
    bytes([1, 2, 3]),
    {
      name: "f",
      data: new Uint8Array([4, 5]).buffer,
      parts: [bytes("ab"), { inner: new Uint16Array([0x0102]) }],
      empty: Buffer.alloc(0),
    },
    "text",
    big,
  );
  // The server checks what it got and echoes the event back, placeholders
  // and attachments as it received them.
  const [first, object, text, large] = await echoed;
  assertBytes(first, [1, 2, 3], "first argument");
  assert.equal(object.name, "f");
  assertBytes(object.data, [4, 5], "ArrayBuffer");
  assertBytes(object.parts[0], bytes("ab"), "parts[0]");
  assertBytes(object.parts[1].inner, new Uint8Array(new Uint16Array([0x0102]).buffer), "Uint16Array");
  assertBytes(object.empty, [], "empty buffer");
  assert.equal(text, "text");
  assert.ok(large.equals(big), "100 kB buffer intact");

  step("binary in an ack from the server");
  const answer = await socket.emitWithAck("reverse", bytes([1, 2, 3, 4]));
  assert.equal(answer.len, 4);
  assertBytes(answer.reversed, [4, 3, 2, 1], "reversed");

  step("binary in an ack from the client");
  // The server asks with `give-bytes` and acknowledges this with what it got.
  const seen = await socket.emitWithAck("ask-for-bytes");
  assert.deepEqual(seen, {
    data: [{ _placeholder: true, num: 0 }, { more: { _placeholder: true, num: 1 }, text: "t" }],
    binary: [[..."xyz"].map((c) => c.charCodeAt(0)), [9, 8]],
  });
});
