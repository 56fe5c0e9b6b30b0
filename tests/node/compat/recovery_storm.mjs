// A recovery storm: N clients (default 1,000, one process, forceNew) lose
// their connections at once while the server broadcasts a numbered stream;
// all reconnect by themselves and must recover with no gap and no
// duplicate. Then they leave for good (transport closed, no reconnection),
// and the Rust side watches the server's store empty. Usage:
//   node recovery_storm.mjs URL [N]
import { args, assert, connect, connected, scenario, step } from "./lib.mjs";

const count = Number(args[0] ?? 1000);
const clients = [];
const watchers = new Set();

// Resolves once `pred` (monotonic) has held for every client; re-checked
// only for the client that just received something.
function untilEach(pred) {
  return new Promise((resolve) => {
    const done = new Set();
    const check = (c) => {
      if (!done.has(c) && pred(c)) {
        done.add(c);
        if (done.size === clients.length) {
          watchers.delete(check);
          resolve();
        }
      }
    };
    watchers.add(check);
    clients.forEach(check);
  });
}

const notify = (c) => watchers.forEach((check) => check(c));

scenario(`recovery storm of ${count}`, async () => {
  const ctl = connect("/", { forceNew: true, transports: ["websocket"] });
  await connected(ctl);

  step(`connect ${count} clients`);
  for (let i = 0; i < count; i++) {
    const s = connect("/", {
      forceNew: true,
      transports: ["websocket"],
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
      randomizationFactor: 0.5,
    });
    const c = { s, ids: [], recovered: [], values: [], mark: 0 };
    s.on("connect", () => {
      c.ids.push(s.id);
      c.recovered.push(s.recovered);
      notify(c);
    });
    s.on("seq", (v) => {
      c.values.push(v);
      notify(c);
    });
    clients.push(c);
  }
  await untilEach((c) => c.ids.length >= 1);

  step("start the stream; every client receives");
  assert.equal(await ctl.emitWithAck("stream-start", 20), true);
  await untilEach((c) => c.values.length >= 5);

  step("drop every connection at once");
  for (const c of clients) c.s.io.engine.close();

  step("every client reconnects by itself");
  await untilEach((c) => c.ids.length >= 2);
  const fresh = clients.filter((c) => c.recovered[1] !== true).length;
  const moved = clients.filter((c) => c.ids[1] !== c.ids[0]).length;
  assert.equal(fresh, 0, `${fresh} of ${count} clients got a fresh session`);
  assert.equal(moved, 0, `${moved} of ${count} clients got another id`);

  step("the stream goes on for everyone");
  for (const c of clients) c.mark = c.values.length;
  await untilEach((c) => c.values.length >= c.mark + 5);
  const last = await ctl.emitWithAck("stream-stop");
  await untilEach((c) => c.values.length > 0 && c.values[c.values.length - 1] === last);

  step("no gap, no duplicate");
  let bad = 0;
  for (const c of clients) {
    const ok = c.values.length === last + 1 && c.values.every((v, i) => v === i);
    if (!ok) {
      bad += 1;
      if (bad <= 3) console.log(`client ${c.ids[0]}: ${c.values.length} values, first wrong at ${c.values.findIndex((v, i) => v !== i)}`);
    }
  }
  assert.equal(bad, 0, `${bad} of ${count} clients have a gap or a duplicate`);
  assert.equal(await ctl.emitWithAck("recovered-count"), count, "recovered on the server");
  console.log(`streamed ${last + 1} packets to ${count} clients`);

  step("every client leaves for good");
  for (const c of clients) {
    c.s.io.reconnection(false);
    c.s.io.engine.close();
  }
  console.log(`left ${count}`);
}, { timeoutMs: 240_000 });
