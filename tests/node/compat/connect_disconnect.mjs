// Connecting to the main and a custom namespace over one connection, and
// both ways of leaving: the client disconnects, or the server does.
import { alsoConnect, assert, assertSameConnection, connect, connected, once, scenario, step } from "./lib.mjs";

// Connects `socket` and checks that its id is the one the server gave it.
async function join(socket, nsp) {
  const serverId = once(socket, "server-id");
  await connected(socket);
  assert.equal(typeof socket.id, "string");
  const [id] = await serverId;
  assert.equal(socket.id, id, `${nsp}: socket.id is the server's socket.id()`);
  assert.equal(socket.nsp, nsp);
}

scenario("connect and disconnect", async () => {
  step("client 1: connect / and /custom over one connection");
  const main1 = connect("/", { forceNew: true });
  const custom1 = alsoConnect(main1, "/custom");
  assertSameConnection(main1, custom1);
  await Promise.all([join(main1, "/"), join(custom1, "/custom")]);
  assert.notEqual(main1.id, custom1.id);

  step("client 1: disconnect /custom; / stays connected");
  custom1.disconnect();
  assert.equal(custom1.connected, false);
  // Packets are handled in order, so the server has seen the DISCONNECT of
  // /custom by the time it answers this.
  assert.deepEqual(await main1.emitWithAck("echo", "still here"), "still here");

  step("client 1: disconnect /");
  main1.disconnect();

  step("client 2: connect / and /custom over one connection");
  const main2 = connect("/", { forceNew: true });
  const custom2 = alsoConnect(main2, "/custom");
  assertSameConnection(main2, custom2);
  await Promise.all([join(main2, "/"), join(custom2, "/custom")]);

  step("client 2: the server disconnects /custom");
  const customGone = once(custom2, "disconnect");
  custom2.emit("kick-me");
  assert.deepEqual((await customGone)[0], "io server disconnect");
  assert.equal(custom2.connected, false);
  assert.deepEqual(await main2.emitWithAck("echo", 2), 2);

  step("client 2: the server disconnects /");
  const mainGone = once(main2, "disconnect");
  main2.emit("kick-me");
  assert.deepEqual((await mainGone)[0], "io server disconnect");
  assert.equal(main2.connected, false);
});
