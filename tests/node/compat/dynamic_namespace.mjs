// Namespaces created on demand from a pattern (`/team-{id}`), and the
// refusal of a namespace that matches nothing.
import { alsoConnect, assert, assertSameConnection, connect, connected, once, refused, scenario, step } from "./lib.mjs";

scenario("dynamic namespaces", async () => {
  step("connect /team-42");
  const first = connect("/team-42", { forceNew: true });
  const welcome = once(first, "welcome");
  await connected(first);
  assert.deepEqual(await welcome, ["/team-42", first.id]);

  step("a second client on /team-42 joins the same namespace");
  const second = connect("/team-42", { forceNew: true });
  const welcome2 = once(second, "welcome");
  await connected(second);
  assert.deepEqual(await welcome2, ["/team-42", second.id]);
  // The namespace's sockets: the server lists both.
  assert.deepEqual(
    (await second.emitWithAck("members")).sort(),
    [first.id, second.id].sort(),
  );

  step("connect /team-7: another namespace from the same pattern");
  const other = connect("/team-7", { forceNew: true });
  const welcome7 = once(other, "welcome");
  await connected(other);
  assert.deepEqual(await welcome7, ["/team-7", other.id]);
  assert.deepEqual(await other.emitWithAck("members"), [other.id]);

  for (const nsp of ["/nope", "/team-", "/team-1/extra"]) {
    step(`connect ${nsp}: matches nothing`);
    const lost = connect(nsp, { forceNew: true });
    const err = await refused(lost);
    assert.equal(err.message, "Invalid namespace");
    assert.equal(lost.connected, false);
  }

  step("a refused namespace does not disturb another on the same connection");
  const main = connect("/", { forceNew: true });
  const stray = alsoConnect(main, "/nowhere");
  assertSameConnection(main, stray);
  const [err] = await Promise.all([refused(stray), connected(main)]);
  assert.equal(err.message, "Invalid namespace");
  assert.equal(await main.emitWithAck("echo", "ok"), "ok");
});
