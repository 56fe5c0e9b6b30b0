// Disconnect: users:online to everyone, user:left only when the user's last
// socket is gone (a user with two tabs closes one: no user:left).
// argv[3]: transport mode; argv[4]: an admin token.
//
// "No user:left" is checked without waiting: tab 1 shares its connection
// with an /admin socket, which asks admin:stats after tab 1 left. The
// server handles one connection's packets in order, and the disconnect
// handler runs inline, so once that ack is back any user:left for tab 1 has
// been queued to bob; bob's own marker message, queued after it, then
// proves it would have arrived.
import {
  args,
  assert,
  assertSameNames,
  client,
  connected,
  disconnected,
  join,
  marker,
  scenario,
  setMode,
  step,
} from "./lib.mjs";
import { alsoConnect } from "../compat/lib.mjs";

setMode(args[0]);
const adminToken = args[1];
assert.ok(adminToken, "usage: disconnect.mjs URL MODE ADMIN_TOKEN");

const sameNames = (expected) => (list) =>
  [...list].sort().join("\n") === [...expected].sort().join("\n");

scenario(`disconnect (${args[0]})`, async () => {
  const bob = await client();
  assert.equal((await join(bob, "bob")).status, "ok");

  step("ann opens two tabs; tab 1's connection also carries an /admin socket");
  const tab1 = await client();
  const probe = alsoConnect(tab1, "/admin", { auth: { token: adminToken } });
  await connected(probe);
  assert.equal((await join(tab1, "ann")).status, "ok");
  const tab2 = await client();
  assert.equal((await join(tab2, "ann")).status, "ok");
  await bob.log.wait("users:online", sameNames(["ann", "bob"]));

  step("tab 1 leaves: the probe's next ack comes after the server handled it");
  const from = bob.log.mark();
  tab1.disconnect();
  const stats = await probe.emitWithAck("admin:stats");
  assert.equal(stats.connections, 2, `bob and tab 2 remain: ${JSON.stringify(stats)}`);
  assert.equal(stats.users, 2, "ann is still online");

  step("no user:left reached bob, and users:online still lists ann");
  const [at] = await marker(bob, [bob]);
  assert.deepEqual(bob.log.list("user:left", from, at), [], "no user:left while ann has a tab open");
  await bob.log.wait("users:online", sameNames(["ann", "bob"]), from);

  step("tab 2 leaves: user:left to everyone, users:online without ann");
  tab2.disconnect();
  assert.equal(await bob.log.wait("user:left", () => true, from), "ann left the chat");
  await bob.log.wait("users:online", sameNames(["bob"]), from);

  step("a connection that just closes (no DISCONNECT packet) counts as leaving too");
  const cat = await client();
  assert.equal((await join(cat, "cat")).status, "ok");
  await bob.log.wait("users:online", sameNames(["bob", "cat"]), from);
  // Announcements reach bob in the order they were made: a list without
  // cat after this one was made after cat left.
  const withCat = bob.log.mark();
  const gone = disconnected(cat);
  cat.io.engine.close();
  await gone;
  assert.equal(await bob.log.wait("user:left", (t) => t === "cat left the chat", from), "cat left the chat");
  await bob.log.wait("users:online", sameNames(["bob"]), withCat);

  step("bob saw each user:left once, and every users:online listed names once");
  assert.deepEqual(bob.log.list("user:left"), ["ann left the chat", "cat left the chat"]);
  for (const list of bob.log.list("users:online")) assertSameNames(list, [...new Set(list)]);
  probe.disconnect();
});
