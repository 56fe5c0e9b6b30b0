// The event contract of `/`: user:join and chat:message.
// argv[3]: transport mode (websocket | polling | upgrade).
import {
  args,
  assert,
  assertMessage,
  assertSameNames,
  client,
  join,
  say,
  scenario,
  setMode,
  step,
} from "./lib.mjs";

setMode(args[0]);

const sameNames = (expected) => (list) =>
  [...list].sort().join("\n") === [...expected].sort().join("\n");

scenario(`user:join and chat:message (${args[0]})`, async () => {
  step("a socket that has not joined sends 55 messages; each is acked and broadcast with user null");
  const anon = await client();
  const ids = [];
  for (let i = 1; i <= 55; i++) {
    const ack = await say(anon, `early ${i}`);
    assert.deepEqual(Object.keys(ack).sort(), ["id", "status"], JSON.stringify(ack));
    assert.equal(ack.status, "ok");
    assert.ok(Number.isSafeInteger(ack.id), `id ${ack.id}`);
    // Stored, then broadcast, then acked: the sender's copy came first.
    const copies = anon.log.list("chat:message");
    assert.equal(copies.length, i, "the sender gets its own message before the ack");
    assertMessage(copies[i - 1], { user: null, text: `early ${i}`, room: null });
    assert.equal(copies[i - 1].id, ack.id);
    ids.push(ack.id);
  }
  assert.ok(
    ids.every((id, i) => i === 0 || id > ids[i - 1]),
    `ids increase: ${ids}`,
  );
  const early = anon.log.list("chat:message");

  step("ann joins: chat:history {room: null, messages: the last 50, oldest first}, then the ack");
  const ann = await client();
  assert.deepEqual(await join(ann, "ann"), { status: "ok", user: "ann" });
  const annHistory = ann.log.list("chat:history");
  assert.equal(annHistory.length, 1, "one chat:history, before the ack");
  assert.deepEqual(Object.keys(annHistory[0]).sort(), ["messages", "room"]);
  assert.equal(annHistory[0].room, null);
  assert.deepEqual(annHistory[0].messages, early.slice(5), "the last 50 messages, oldest first");
  assert.deepEqual(ann.log.list("user:joined"), [], "the joiner gets no user:joined of its own");

  step("the others get user:joined; everyone gets users:online");
  assert.equal(await anon.log.wait("user:joined"), "ann joined the chat");
  await anon.log.wait("users:online", sameNames(["ann"]));
  await ann.log.wait("users:online", sameNames(["ann"]));

  step("bob joins");
  const bob = await client();
  const [annFrom, anonFrom] = [ann.log.mark(), anon.log.mark()];
  assert.deepEqual(await join(bob, "bob"), { status: "ok", user: "bob" });
  assert.deepEqual(bob.log.list("chat:history"), [{ room: null, messages: early.slice(5) }]);
  assert.deepEqual(bob.log.list("user:joined"), []);
  assert.equal(await ann.log.wait("user:joined", () => true, annFrom), "bob joined the chat");
  assert.equal(await anon.log.wait("user:joined", () => true, anonFrom), "bob joined the chat");
  for (const socket of [ann, bob, anon]) {
    await socket.log.wait("users:online", sameNames(["ann", "bob"]));
  }

  step("ann sends a message: to everyone including ann, before ann's ack {status: ok, id}");
  const from = [ann, bob, anon].map((s) => s.log.mark());
  const ack = await say(ann, "  hello, world  ");
  assert.deepEqual(Object.keys(ack).sort(), ["id", "status"]);
  assert.equal(ack.status, "ok");
  assert.ok(ack.id > ids.at(-1), "a new id, above the earlier ones");
  const [own] = ann.log.list("chat:message", from[0]);
  assert.ok(own, "ann's copy arrived before the ack");
  assertMessage(own, { user: "ann", text: "hello, world", room: null });
  assert.equal(own.id, ack.id);
  for (const [i, socket] of [bob, anon].entries()) {
    const copy = await socket.log.wait("chat:message", (m) => m.id === ack.id, from[i + 1]);
    assert.deepEqual(copy, own);
  }

  step("the message is stored: chat:history ends with it");
  const page = await bob.emitWithAck("chat:history", {});
  assert.deepEqual(Object.keys(page), ["messages"]);
  assert.equal(page.messages.length, 50);
  assert.deepEqual(page.messages.at(-1), own);
  assert.deepEqual(page.messages.slice(0, -1), early.slice(6));

  step("every users:online anyone received listed each name once");
  for (const socket of [ann, bob, anon]) {
    for (const list of socket.log.list("users:online")) assertSameNames(list, [...new Set(list)]);
  }
});
