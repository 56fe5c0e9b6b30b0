// chat:history ({room?, before?, limit?}, ack): pages oldest first, older
// pages by `before`, `limit` at most 200.
// argv[3]: transport mode (websocket | polling | upgrade).
import { args, assert, assertError, assertMessage, client, say, scenario, setMode, step } from "./lib.mjs";

setMode(args[0]);

const texts = (page) => page.messages.map((m) => m.text);
const numbered = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => `main ${from + i}`);

scenario(`chat:history (${args[0]})`, async () => {
  const socket = await client();

  step("store 230 messages on the main chat, 3 in room r between them");
  assert.equal((await socket.emitWithAck("room:join", "r")).status, "ok");
  const ids = [];
  for (let i = 1; i <= 230; i++) {
    ids.push((await say(socket, `main ${i}`)).id);
    if (i % 100 === 0) {
      const ack = await socket.emitWithAck("room:message", { room: "r", message: `room ${i / 100}` });
      assert.equal(ack.status, "ok");
    }
  }
  const ack = await socket.emitWithAck("room:message", { room: "r", message: "room 3" });
  assert.equal(ack.status, "ok");

  step("no query, null, and {}: the last 50, oldest first");
  const latest = await socket.emitWithAck("chat:history", {});
  assert.deepEqual(Object.keys(latest), ["messages"]);
  assert.deepEqual(texts(latest), numbered(181, 230));
  latest.messages.forEach((m, i) => {
    assertMessage(m, { user: null, text: `main ${181 + i}`, room: null });
    assert.equal(m.id, ids[180 + i]);
  });
  assert.deepEqual(await socket.emitWithAck("chat:history"), latest);
  assert.deepEqual(await socket.emitWithAck("chat:history", null), latest);

  step("paging back by `before`");
  let page = await socket.emitWithAck("chat:history", { before: latest.messages[0].id, limit: 100 });
  assert.deepEqual(texts(page), numbered(81, 180));
  page = await socket.emitWithAck("chat:history", { before: page.messages[0].id, limit: 100 });
  assert.deepEqual(texts(page), numbered(1, 80), "the last page is short");
  page = await socket.emitWithAck("chat:history", { before: ids[0] });
  assert.deepEqual(page, { messages: [] }, "nothing before the first message");
  page = await socket.emitWithAck("chat:history", { before: ids[10], limit: 3 });
  assert.deepEqual(texts(page), numbered(8, 10));

  step("limit: 1 and 200 accepted, 201 refused");
  assert.deepEqual(texts(await socket.emitWithAck("chat:history", { limit: 1 })), ["main 230"]);
  assert.deepEqual(texts(await socket.emitWithAck("chat:history", { limit: 200 })), numbered(31, 230));
  assertError(await socket.emitWithAck("chat:history", { limit: 201 }), "limit 201");

  step("a room's history is its own");
  page = await socket.emitWithAck("chat:history", { room: "r" });
  assert.deepEqual(texts(page), ["room 1", "room 2", "room 3"]);
  page.messages.forEach((m) => assertMessage(m, { user: null, text: m.text, room: "r" }));
  page = await socket.emitWithAck("chat:history", { room: "r", before: page.messages[2].id, limit: 1 });
  assert.deepEqual(texts(page), ["room 2"]);
  assert.deepEqual(await socket.emitWithAck("chat:history", { room: "elsewhere" }), { messages: [] });
}, { timeoutMs: 60_000 });
