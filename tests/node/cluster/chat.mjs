// The chat contract across two chat servers of one cluster (--redis):
// ann on the first, bob on the second. Presence is cluster-wide (each
// sees both names in users:online), and joins, messages, typing, room
// notes and room messages, leaving, reach the other server's client.
//
// Usage: node chat.mjs URL1 URL2
import { io } from "socket.io-client";
import { Log } from "../chat/lib.mjs";
import { args, assert, scenario, step, url } from "../compat/lib.mjs";

const [other] = args;
assert.ok(other, "usage: chat.mjs URL1 URL2");
const open = [];

async function client(at) {
  const socket = io(at, { transports: ["websocket"], forceNew: true, reconnection: false });
  socket.log = new Log(socket);
  open.push(socket);
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return socket;
}

const names = (expected) => (list) => [...list].sort().join(",") === [...expected].sort().join(",");

scenario("chat across two servers", async () => {
  const ann = await client(url);
  const bob = await client(other);

  step("ann joins on server 1, bob on server 2");
  assert.equal((await ann.emitWithAck("user:join", "ann")).status, "ok");
  assert.equal((await bob.emitWithAck("user:join", "bob")).status, "ok");
  assert.equal(await ann.log.wait("user:joined", (t) => t.includes("bob")), "bob joined the chat");

  step("presence is cluster-wide: each sees both names");
  await ann.log.wait("users:online", names(["ann", "bob"]));
  await bob.log.wait("users:online", names(["ann", "bob"]));

  step("a message from ann reaches bob; the ack comes back to ann");
  const from = bob.log.mark();
  const ack = await ann.emitWithAck("chat:message", "hello from server 1");
  assert.equal(ack.status, "ok");
  const got = await bob.log.wait("chat:message", (m) => m.text === "hello from server 1", from);
  assert.equal(got.user, "ann");
  assert.equal(got.room, null);

  step("bob types: ann sees it");
  bob.emit("chat:typing");
  assert.equal(await ann.log.wait("chat:typing"), "bob");

  step("rooms across servers: notes and room messages");
  assert.equal((await ann.emitWithAck("room:join", "lobby")).status, "ok");
  const joined = ann.log.mark();
  assert.equal((await bob.emitWithAck("room:join", "lobby")).status, "ok");
  await ann.log.wait("system", (t) => t === "bob joined lobby", joined);
  const roomAck = await bob.emitWithAck("room:message", { room: "lobby", message: "hi lobby" });
  assert.equal(roomAck.status, "ok");
  const inRoom = await ann.log.wait("chat:message", (m) => m.text === "hi lobby");
  assert.equal(inRoom.room, "lobby");
  assert.equal(inRoom.user, "bob");

  step("bob leaves: ann gets user:left and a list without bob");
  const leaving = ann.log.mark();
  bob.disconnect();
  assert.equal(await ann.log.wait("user:left", () => true, leaving), "bob left the chat");
  await ann.log.wait("users:online", names(["ann"]), leaving);

  for (const socket of open) socket.disconnect();
});
