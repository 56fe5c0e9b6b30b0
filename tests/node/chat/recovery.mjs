// Connection state recovery in the chat (the server's default): ann's
// connection drops while bob writes in general and in a room; when it comes
// back ann has every message, in order and once, her name (what she sends
// is still hers), her room, and she is online again. After a longer
// absence (argv[4] = "expired": the server keeps sessions for no time) the
// session is fresh and the gap is fetched through chat:history, as the page
// does. argv[3]: transport mode.
import { args, assert, assertSameNames, client, connected, disconnected, join, say, scenario, setMode, step } from "./lib.mjs";

setMode(args[0]);
const expired = args[1] === "expired";

const texts = (socket, from, room = null) =>
  socket.log.list("chat:message", from).filter((m) => m.room === room).map((m) => m.text);

scenario(`chat recovery (${args[0]}${expired ? ", expired" : ""})`, async () => {
  const bob = await client();
  assert.equal((await join(bob, "bob")).status, "ok");
  const ann = await client();
  assert.equal((await join(ann, "ann")).status, "ok");
  for (const s of [ann, bob]) assert.equal((await s.emitWithAck("room:join", "dev")).status, "ok");
  assert.equal((await say(bob, "before")).status, "ok");
  await ann.log.wait("chat:message", (m) => m.text === "before");
  const lastSeen = ann.log.list("chat:message").at(-1).id;

  step("ann's connection drops; bob sees her leave");
  const from = bob.log.mark();
  const gone = disconnected(ann);
  ann.io.engine.close();
  await gone;
  assert.equal(await bob.log.wait("user:left", () => true, from), "ann left the chat");

  step("bob writes while ann is away");
  const annFrom = ann.log.mark();
  for (const n of [1, 2, 3]) assert.equal((await say(bob, `missed ${n}`)).status, "ok");
  for (const n of [1, 2]) {
    const ack = await bob.emitWithAck("room:message", { room: "dev", message: `dev ${n}` });
    assert.equal(ack.status, "ok");
  }

  step("ann comes back");
  const back = bob.log.mark();
  ann.connect();
  await connected(ann);
  if (!expired) {
    assert.equal(ann.recovered, true, "the session is recovered");
    await ann.log.wait("chat:message", (m) => m.text === "dev 2", annFrom);
    assert.deepEqual(texts(ann, annFrom), ["missed 1", "missed 2", "missed 3"], "in order, once");
    assert.deepEqual(texts(ann, annFrom, "dev"), ["dev 1", "dev 2"], "the room's too");
    assert.equal(await bob.log.wait("user:joined", () => true, back), "ann joined the chat");
  } else {
    assert.equal(ann.recovered, false, "past the window: a fresh session");
    // What the page does: join again, then fetch the gap.
    assert.equal((await join(ann, "ann")).status, "ok");
    assert.equal((await ann.emitWithAck("room:join", "dev")).status, "ok");
    const page = await ann.emitWithAck("chat:history", { limit: 200 });
    assert.deepEqual(page.messages.filter((m) => m.id > lastSeen).map((m) => m.text), ["missed 1", "missed 2", "missed 3"]);
    const room = await ann.emitWithAck("chat:history", { room: "dev", limit: 200 });
    assert.deepEqual(room.messages.filter((m) => m.id > lastSeen).map((m) => m.text), ["dev 1", "dev 2"]);
  }

  step("ann is online again, writes as ann, and her room reaches her");
  await bob.log.wait("users:online", (list) => list.includes("ann"), back);
  assert.equal((await say(ann, "I am back")).status, "ok");
  const mine = await bob.log.wait("chat:message", (m) => m.text === "I am back", back);
  assert.equal(mine.user, "ann");
  const roomFrom = ann.log.mark();
  assert.equal((await bob.emitWithAck("room:message", { room: "dev", message: "dev 3" })).status, "ok");
  await ann.log.wait("chat:message", (m) => m.text === "dev 3", roomFrom);
  const online = await bob.log.wait("users:online", (list) => list.includes("ann"), back);
  assertSameNames(online, ["ann", "bob"]);
});
