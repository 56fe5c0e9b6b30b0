// Rooms: room:join / room:leave with their `system` notes and the room's
// history, room:message from members only.
// argv[3]: transport mode (websocket | polling | upgrade).
import { args, assert, assertError, assertMessage, client, join, marker, scenario, setMode, step } from "./lib.mjs";

setMode(args[0]);

scenario(`rooms (${args[0]})`, async () => {
  const [ann, bob, cat] = await Promise.all([client(), client(), client()]);
  for (const [socket, name] of [[ann, "ann"], [bob, "bob"], [cat, "cat"]]) {
    assert.equal((await join(socket, name)).status, "ok");
  }
  const start = [ann, bob, cat].map((s) => s.log.mark());

  step("ann joins lobby: `system` to the room, chat:history {room, messages: []} to ann, then the ack");
  assert.equal((await ann.emitWithAck("room:join", "lobby")).status, "ok");
  assert.deepEqual(ann.log.list("system", start[0]), ["ann joined lobby"]);
  assert.deepEqual(ann.log.list("chat:history", start[0]), [{ room: "lobby", messages: [] }]);

  step("bob joins lobby: both members get the note");
  assert.equal((await bob.emitWithAck("room:join", "lobby")).status, "ok");
  assert.equal(await ann.log.wait("system", (t) => t === "bob joined lobby", start[0]), "bob joined lobby");
  assert.deepEqual(bob.log.list("system", start[1]), ["bob joined lobby"]);

  step("ann sends to lobby: stored, chat:message with the room to the members, ack {status: ok, id}");
  const from = [ann, bob, cat].map((s) => s.log.mark());
  const ack = await ann.emitWithAck("room:message", { room: "lobby", message: "hi lobby" });
  assert.deepEqual(Object.keys(ack).sort(), ["id", "status"]);
  assert.equal(ack.status, "ok");
  const [own] = ann.log.list("chat:message", from[0]);
  assert.ok(own, "the sender (a member) got it before the ack");
  assertMessage(own, { user: "ann", text: "hi lobby", room: "lobby" });
  assert.equal(own.id, ack.id);
  assert.deepEqual(await bob.log.wait("chat:message", (m) => m.id === ack.id, from[1]), own);

  step("cat, not a member, sends to lobby: an error ack, nothing stored or broadcast");
  assertError(await cat.emitWithAck("room:message", { room: "lobby", message: "intruder" }), "non-member");
  let at = await marker(cat, [ann, bob, cat]);
  assert.deepEqual(ann.log.list("chat:message", from[0], at[0]), [own], "ann: only the member's message");
  assert.deepEqual(bob.log.list("chat:message", from[1], at[1]), [own], "bob: only the member's message");
  assert.deepEqual(cat.log.list("chat:message", from[2], at[2]), [], "cat got no room message");
  assert.deepEqual(cat.log.list("system", start[2], at[2]), [], "cat got no note of the room");
  assert.deepEqual((await cat.emitWithAck("chat:history", { room: "lobby" })).messages, [own]);

  step("cat joins lobby: chat:history {room: lobby, messages} holds the member's message");
  const catJoined = cat.log.mark();
  assert.equal((await cat.emitWithAck("room:join", "lobby")).status, "ok");
  assert.deepEqual(cat.log.list("chat:history", catJoined), [{ room: "lobby", messages: [own] }]);
  assert.deepEqual(cat.log.list("system", catJoined), ["cat joined lobby"]);

  step("cat leaves lobby: the remaining members get the note, cat (no longer a member) does not");
  const leaving = [ann, bob, cat].map((s) => s.log.mark());
  assert.equal((await cat.emitWithAck("room:leave", "lobby")).status, "ok");
  assert.equal(await ann.log.wait("system", (t) => t === "cat left lobby", leaving[0]), "cat left lobby");
  assert.equal(await bob.log.wait("system", (t) => t === "cat left lobby", leaving[1]), "cat left lobby");
  assertError(await cat.emitWithAck("room:message", { room: "lobby", message: "after leaving" }), "former member");
  at = await marker(cat, [ann, bob, cat]);
  assert.deepEqual(cat.log.list("system", leaving[2], at[2]), [], "the leaver gets no note");
  for (const [i, socket] of [ann, bob, cat].entries()) {
    assert.deepEqual(socket.log.list("chat:message", leaving[i], at[i]), [], "nothing from the former member");
  }

  step("every note each member got, in order");
  assert.deepEqual(ann.log.list("system"), ["ann joined lobby", "bob joined lobby", "cat joined lobby", "cat left lobby"]);
  assert.deepEqual(bob.log.list("system"), ["bob joined lobby", "cat joined lobby", "cat left lobby"]);
  assert.deepEqual(cat.log.list("system"), ["cat joined lobby"]);

  step("room messages stay out of the main history, and in the room's");
  const main = await ann.emitWithAck("chat:history", {});
  assert.ok(main.messages.every((m) => m.room === null), "main history: room null only");
  assert.ok(main.messages.every((m) => m.text !== "intruder" && m.text !== "after leaving"));
  assert.deepEqual((await bob.emitWithAck("chat:history", { room: "lobby" })).messages, [own]);
});
