// The server acknowledges, emits, then closes the connection at once: the
// client must get the ack and the event before it sees the close.
// argv[3]: transport mode.
import { args, assert, connect, connected, once, scenario, step, traceEngine, transportOptions } from "./lib.mjs";

scenario(`close right after an ack (${args[0] ?? "upgrade"})`, async () => {
  const socket = connect("/", { ...transportOptions(args[0]), forceNew: true });
  traceEngine(socket);
  const events = [];
  socket.on("last-words", (text) => events.push(text));
  const gone = once(socket, "disconnect");
  await connected(socket);

  step("ask; the server answers, emits and closes the connection");
  assert.equal(await socket.emitWithAck("answer-then-close", "question"), "answer to question");
  const [reason] = await gone;
  assert.equal(reason, "transport close");
  assert.deepEqual(events, ["goodbye"], "the event sent before the close arrived");
});
