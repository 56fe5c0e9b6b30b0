// `--require-auth`: `/` needs a valid token in `auth.token`, and the user
// name is the token's subject, whatever name user:join sends.
// argv[3]: the case:
//   refused L=TOKEN..   each token (L names it; "L=" is no token at all) is
//                       refused on / with connect_error "unauthorized"
//   subject ADA BOB     tokens for subjects ada and bob
import {
  args,
  assert,
  assertMessage,
  client,
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

const cases = {
  async refused(pairs) {
    assert.ok(pairs.length > 0, "no tokens to try");
    for (const pair of pairs) {
      const at = pair.indexOf("=");
      const [label, token] = [pair.slice(0, at), pair.slice(at + 1)];
      step(`refused on /: ${label}`);
      const error = await refused(open("/", token ? { auth: { token } } : {}));
      assert.equal(error.message, "unauthorized", `${label}: ${error.message}`);
    }
  },

  async subject([adaToken, bobToken]) {
    step("valid tokens connect");
    const ada = await client("/", { auth: { token: adaToken } });
    const bob = await client("/", { auth: { token: bobToken } });
    assert.deepEqual(await join(bob, "bob"), { status: "ok", user: "bob" });

    step("ada joins as \"mallory\": the name is the token's subject");
    const from = bob.log.mark();
    assert.deepEqual(await join(ada, "mallory"), { status: "ok", user: "ada" });
    assert.equal(await bob.log.wait("user:joined", () => true, from), "ada joined the chat");
    await bob.log.wait("users:online", (l) => [...l].sort().join() === "ada,bob", from);

    step("her messages carry the subject");
    const ack = await say(ada, "hello");
    const message = await bob.log.wait("chat:message", (m) => m.id === ack.id, from);
    assertMessage(message, { user: "ada", text: "hello", room: null });

    step("joining without a name, or with one that would be invalid, still joins as the subject");
    assert.deepEqual(await ada.emitWithAck("user:join"), { status: "ok", user: "ada" });
    assert.deepEqual(await join(ada, "x".repeat(40)), { status: "ok", user: "ada" });
    await marker(ada, [bob]);
    for (const list of bob.log.list("users:online")) {
      assert.ok(!list.includes("mallory") && list.every((name) => name.length <= 32), `${list}`);
    }
  },
};

scenario(`require auth: ${which}`, async () => {
  assert.ok(cases[which], `unknown case ${which}; one of ${Object.keys(cases)}`);
  await cases[which](rest);
});
