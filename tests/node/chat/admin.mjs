// The /admin namespace.
// argv[3]: the case:
//   admin TOKEN       stats, announce and kick with an admin token
//   stats TOKEN       the token opens /admin (on an empty chat)
//   refused L=TOKEN.. each token (L names it; "L=" is no token at all) is
//                     refused with connect_error "unauthorized"
//   disabled          /admin does not exist (server without a secret)
import {
  args,
  assert,
  assertError,
  client,
  connected,
  disconnected,
  join,
  marker,
  open,
  refused,
  say,
  scenario,
  setMode,
  step,
} from "./lib.mjs";

const [which, ...rest] = args;
setMode("websocket");

const STATS_KEYS = ["connections", "messages", "rooms", "uptime", "users"];

async function stats(admin) {
  const stats = await admin.emitWithAck("admin:stats");
  assert.deepEqual(Object.keys(stats).sort(), STATS_KEYS, JSON.stringify(stats));
  assert.ok(Number.isSafeInteger(stats.uptime) && stats.uptime >= 0, `uptime ${stats.uptime}`);
  return stats;
}

const cases = {
  async admin([token]) {
    step("the chat: ann in two tabs, bob, a socket that has not joined; rooms r1 and r2; 3 messages");
    const [ann1, ann2, bob, anon] = await Promise.all([client(), client(), client(), client()]);
    for (const [socket, name] of [[ann1, "ann"], [ann2, "ann"], [bob, "bob"]]) {
      assert.equal((await join(socket, name)).status, "ok");
    }
    for (const [socket, room] of [[ann1, "r1"], [bob, "r1"], [anon, "r2"]]) {
      assert.equal((await socket.emitWithAck("room:join", room)).status, "ok");
    }
    for (const text of ["one", "two"]) assert.equal((await say(bob, text)).status, "ok");
    assert.equal((await ann1.emitWithAck("room:message", { room: "r1", message: "three" })).status, "ok");

    step("an admin token connects; admin:stats acks {connections, users, rooms, messages, uptime}");
    const admin = await client("/admin", { auth: { token } });
    const before = await stats(admin);
    assert.deepEqual({ ...before, uptime: 0 }, { connections: 4, users: 2, rooms: 2, messages: 3, uptime: 0 });

    step("admin:announce: `system` to everyone on /, joined or not");
    const from = [ann1, ann2, bob, anon].map((s) => s.log.mark());
    assert.deepEqual(await admin.emitWithAck("admin:announce", "maintenance at noon"), { status: "ok" });
    for (const [i, socket] of [ann1, ann2, bob, anon].entries()) {
      assert.equal(await socket.log.wait("system", (t) => t === "maintenance at noon", from[i]), "maintenance at noon");
    }
    assert.deepEqual(admin.log.list("system"), [], "not to /admin itself");

    step("admin:announce refuses blank text, and nothing is announced");
    assertError(await admin.emitWithAck("admin:announce", "   "), "blank announcement");
    assertError(await admin.emitWithAck("admin:announce", 42), "announcement of the wrong type");
    const [at] = await marker(bob, [anon]);
    assert.deepEqual(anon.log.list("system", from[3], at), ["maintenance at noon"]);

    step("admin:kick {user: ann}: acks 2; both tabs get disconnect \"io server disconnect\"");
    const kicked = [disconnected(ann1), disconnected(ann2)];
    const bobFrom = bob.log.mark();
    assert.equal(await admin.emitWithAck("admin:kick", { user: "ann" }), 2);
    assert.deepEqual(await Promise.all(kicked), ["io server disconnect", "io server disconnect"]);
    assert.equal(await bob.log.wait("user:left", () => true, bobFrom), "ann left the chat");

    step("the others stay; stats follow");
    assert.ok(bob.connected && anon.connected);
    const after = await stats(admin);
    // messages: the three, and the marker.
    assert.deepEqual({ ...after, uptime: 0 }, { connections: 2, users: 1, rooms: 2, messages: 4, uptime: 0 });
    assert.ok(after.uptime >= before.uptime);

    step("kicking nobody acks 0; a kick without {user} is an error");
    assert.equal(await admin.emitWithAck("admin:kick", { user: "nobody" }), 0);
    assertError(await admin.emitWithAck("admin:kick", "ann"), "kick without {user}");
    assertError(await admin.emitWithAck("admin:kick", {}), "kick of {}");
  },

  async stats([token]) {
    step("the token connects to /admin; admin:stats acks");
    const admin = await client("/admin", { auth: { token } });
    assert.deepEqual({ ...(await stats(admin)), uptime: 0 }, { connections: 0, users: 0, rooms: 0, messages: 0, uptime: 0 });
  },

  async refused(pairs) {
    assert.ok(pairs.length > 0, "no tokens to try");
    for (const pair of pairs) {
      const [label, token] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
      step(`refused: ${label}`);
      const socket = open("/admin", token ? { auth: { token } } : {});
      const error = await refused(socket);
      assert.equal(error.message, "unauthorized", `${label}: ${error.message}`);
      assert.ok(!socket.connected);
    }
    step("the main namespace is open to the same clients");
    await connected(open("/"));
  },

  async disabled() {
    step("/admin: connect_error \"Invalid namespace\"");
    const error = await refused(open("/admin", { auth: { token: "anything" } }));
    assert.equal(error.message, "Invalid namespace");
    step("/ works");
    const socket = await client();
    assert.equal((await join(socket, "ann")).status, "ok");
  },
};

scenario(`admin: ${which}`, async () => {
  assert.ok(cases[which], `unknown case ${which}; one of ${Object.keys(cases)}`);
  await cases[which](rest);
});
