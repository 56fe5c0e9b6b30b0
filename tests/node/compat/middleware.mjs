// Connect middleware: a refusal reaches the client as connect_error with
// the server's message and data; an accepted socket carries what the
// middleware stored.
import { alsoConnect, assert, assertSameConnection, connect, connected, once, refused, scenario, step } from "./lib.mjs";

scenario("middleware", async () => {
  step("no credentials: refused with message and data");
  const anonymous = connect("/", { forceNew: true });
  const err = await refused(anonymous);
  assert.equal(err.message, "unauthorized");
  assert.deepEqual(err.data, { code: "E_AUTH", retry: false, hint: ["send", "auth.user"] });
  assert.equal(anonymous.connected, false);

  step("refused by the second middleware: message without data");
  const banned = connect("/", { forceNew: true, auth: { user: "mallory" } });
  const err2 = await refused(banned);
  assert.equal(err2.message, "banned");
  assert.equal(err2.data, undefined);

  step("accepted: the connect handler sees what the middleware stored");
  const ada = connect("/", { forceNew: true, auth: { user: "ada", extra: [1, 2] } });
  const hello = once(ada, "hello");
  await connected(ada);
  assert.deepEqual(await hello, [{ user: "ada", auth: { user: "ada", extra: [1, 2] } }]);

  step("/admin refuses on the same connection; / stays usable");
  const admin = alsoConnect(ada, "/admin", { auth: { user: "ada" } });
  assertSameConnection(admin, ada);
  const err3 = await refused(admin);
  assert.equal(err3.message, "admins only");
  assert.deepEqual(err3.data, { need: "role admin" });
  assert.equal(await ada.emitWithAck("echo", "after refusal"), "after refusal");

  step("/admin accepts an admin");
  const root = connect("/admin", { forceNew: true, auth: { user: "root", role: "admin" } });
  await connected(root);
  assert.equal(await root.emitWithAck("whoami"), "root");
});
