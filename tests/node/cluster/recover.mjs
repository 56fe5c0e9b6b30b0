// Connection state recovery in a cluster: two clients on server B get m0
// from server A (the test sends it after `connected`; a client recovers
// from the offset of the last packet it got, so it needs one). One drops
// (its engine closes), server A broadcasts m1..m3 (after `dropped`), the
// other client on B sees them live, and then the dropped one reconnects:
// recovered, with exactly m1, m2, m3 in order.
//
// Usage: node recover.mjs URL_B
import { io } from "socket.io-client";
import { assert, scenario, step, url } from "../compat/lib.mjs";

const connected = (socket) =>
  new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });

// Resolves once `done()` holds, checked again on every message (the only
// thing that changes it).
const waiters = new Set();
function waitFor(done) {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const waiter = () => {
      if (done()) {
        waiters.delete(waiter);
        resolve();
      }
    };
    waiters.add(waiter);
  });
}
// Each message comes with its text and one offset, server B's (the client
// sees it as the last argument and remembers it); server A's offset must
// not travel along.
const record = (list) => (text, ...more) => {
  assert.equal(more.length, 1, `the text and one offset: ${JSON.stringify([text, ...more])}`);
  assert.equal(typeof more[0], "string");
  list.push(text);
  for (const waiter of [...waiters]) waiter();
};

scenario("recovery of broadcasts from another server", async () => {
  const observer = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
  const dropper = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
  const seen = { observer: [], dropper: [] };
  observer.on("msg", record(seen.observer));
  dropper.on("msg", record(seen.dropper));
  await Promise.all([connected(observer), connected(dropper)]);
  const id = dropper.id;
  console.log("connected");
  await waitFor(() => seen.dropper.includes("m0") && seen.observer.includes("m0"));
  seen.observer.length = 0;
  seen.dropper.length = 0;

  step("the dropper's connection drops");
  const gone = new Promise((resolve) => dropper.once("disconnect", resolve));
  // The server sees the transport close: a recoverable reason.
  dropper.io.engine.close();
  await gone;
  console.log("dropped");

  step("server A broadcasts m1..m3; the observer on B gets them");
  await waitFor(() => seen.observer.includes("m3"));
  assert.deepEqual(seen.observer, ["m1", "m2", "m3"]);

  step("the dropper comes back: recovered, with what it missed, once, in order");
  dropper.connect();
  await connected(dropper);
  assert.equal(dropper.recovered, true, "recovered");
  assert.equal(dropper.id, id, "the same socket id");
  await waitFor(() => seen.dropper.length >= 3);
  assert.deepEqual(seen.dropper, ["m1", "m2", "m3"]);

  observer.disconnect();
  dropper.disconnect();
});
