// chat:typing: relayed to everyone but the sender, at most once per second
// per socket. The throttle is checked with a marker message sent after the
// typing, never by waiting: whatever the server relayed has arrived once
// the marker has. The server saw the typing within the time this script
// measured from before the first emit to the marker's arrival, so when
// that is under a second exactly one may have been relayed; on a machine
// so loaded that it is not, up to one more per started second may be.
// argv[3]: transport mode (websocket | polling | upgrade).
import { args, assert, client, join, marker, scenario, setMode, step } from "./lib.mjs";

setMode(args[0]);

// How many relays a throttle of one per second allows for emits the
// server saw within `elapsed` ms.
const allowed = (elapsed) => 1 + Math.floor(elapsed / 1000);

function assertThrottled(got, name, elapsed, what) {
  assert.ok(got.length >= 1, `${what}: relayed at least once`);
  assert.ok(got.every((n) => n === name), `${what}: carries the name: ${got}`);
  assert.ok(got.length <= allowed(elapsed), `${what}: ${got.length} relayed in ${elapsed} ms`);
  if (elapsed >= 1000) console.log(`  (took ${elapsed} ms: the exactly-once check was loosened)`);
}

scenario(`chat:typing (${args[0]})`, async () => {
  const [ann, bob, cat] = await Promise.all([client(), client(), client()]);
  for (const [socket, name] of [[ann, "ann"], [bob, "bob"], [cat, "cat"]]) {
    assert.equal((await join(socket, name)).status, "ok");
  }

  step("ann sends chat:typing 5 times back to back, then a marker message");
  let from = [ann, bob, cat].map((s) => s.log.mark());
  const annStart = performance.now();
  for (let i = 0; i < 5; i++) ann.emit("chat:typing");
  let at = await marker(ann, [ann, bob, cat]);
  let elapsed = Math.ceil(performance.now() - annStart);
  assertThrottled(bob.log.list("chat:typing", from[1], at[1]), "ann", elapsed, "bob got ann's typing");
  assertThrottled(cat.log.list("chat:typing", from[2], at[2]), "ann", elapsed, "cat got ann's typing");
  assert.deepEqual(ann.log.list("chat:typing", from[0], at[0]), [], "not to the sender");

  step("the throttle is per socket: bob's typing right after ann's is relayed, ann's again is not");
  from = [ann, bob, cat].map((s) => s.log.mark());
  bob.emit("chat:typing");
  ann.emit("chat:typing");
  at = await marker(bob, [ann, bob, cat]);
  assert.deepEqual(ann.log.list("chat:typing", from[0], at[0]), ["bob"], "ann got bob's typing");
  assert.deepEqual(bob.log.list("chat:typing", from[1], at[1]), [], "not to the sender");
  // Ann's second typing went ahead of this marker on ann's connection: had
  // it been relayed, cat would have it once the marker is there.
  const [catAt] = await marker(ann, [cat]);
  elapsed = Math.ceil(performance.now() - annStart);
  const catGot = cat.log.list("chat:typing", from[2], catAt);
  assert.deepEqual(catGot.filter((n) => n === "bob"), ["bob"], "cat got bob's typing");
  if (elapsed < 1000) {
    assert.deepEqual(catGot.filter((n) => n === "ann"), [], "ann's typing within a second is dropped");
  } else {
    console.log(`  (took ${elapsed} ms since ann's first typing: the drop check was skipped)`);
  }
});
