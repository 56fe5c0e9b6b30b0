// History across a restart; the Rust side stops and restarts the server
// between phases and compares what they print.
// argv[3]: the phase:
//   write     ann and a socket that has not joined send messages to the
//             main chat and to room r; prints them as broadcast
//   read      a new user joins and joins r; prints the chat:history each
//             join brought
//   flood N   sends N messages at once, prints "FIRST ACK" when the first
//             ack is back (the Rust side then shuts the server down), and
//             once disconnected prints every ack it got
//   read-all  prints every stored message of the main chat, paging back
import {
  args,
  assert,
  assertMessage,
  client,
  disconnected,
  join,
  result,
  say,
  scenario,
  setMode,
  step,
} from "./lib.mjs";

const [phase, count] = args;
setMode("websocket");

const phases = {
  async write() {
    const [ann, anon] = await Promise.all([client(), client()]);
    assert.equal((await join(ann, "ann")).status, "ok");
    assert.equal((await ann.emitWithAck("room:join", "r")).status, "ok");
    step("messages to the main chat and to room r, acked (so committed)");
    const acks = [];
    for (let i = 1; i <= 5; i++) {
      acks.push(await say(ann, `main ${i} ✓ "quoted"`));
      acks.push(await say(anon, `anonymous ${i}`));
    }
    for (let i = 1; i <= 3; i++) {
      acks.push(await ann.emitWithAck("room:message", { room: "r", message: `in r ${i}` }));
    }
    assert.ok(acks.every((a) => a.status === "ok"), JSON.stringify(acks));
    const sent = ann.log.list("chat:message");
    assert.equal(sent.length, 13);
    assert.deepEqual(sent.map((m) => m.id), acks.map((a) => a.id));
    result({ main: sent.filter((m) => m.room === null), room: sent.filter((m) => m.room === "r") });
  },

  async read() {
    const bob = await client();
    assert.equal((await join(bob, "bob")).status, "ok");
    const [main] = bob.log.list("chat:history");
    const from = bob.log.mark();
    assert.equal((await bob.emitWithAck("room:join", "r")).status, "ok");
    const [room] = bob.log.list("chat:history", from);
    assert.equal(main.room, null);
    assert.equal(room.room, "r");
    result({ main: main.messages, room: room.messages });
  },

  async flood() {
    const n = Number(count);
    assert.ok(n > 0, "flood N");
    const socket = await client();
    assert.equal((await join(socket, "flood")).status, "ok");
    const gone = disconnected(socket);
    const acked = [];
    let lost = 0;
    let first = true;
    step(`send ${n} messages without waiting`);
    const all = [];
    for (let i = 1; i <= n; i++) {
      const text = `flood ${i}`;
      // An ack that had not come when the server went away is rejected by
      // the client ("socket has been disconnected"); only those that came
      // are reported.
      all.push(
        socket.emitWithAck("chat:message", text).then(
          (ack) => {
            assert.equal(ack.status, "ok", JSON.stringify(ack));
            acked.push({ id: ack.id, text });
            if (first) {
              first = false;
              console.log("FIRST ACK");
            }
          },
          (error) => {
            assert.match(error.message, /disconnected/);
            lost++;
          },
        ),
      );
    }
    step("wait for the server to shut down");
    console.log(`disconnected: ${await gone}`);
    await Promise.all(all);
    console.log(`${acked.length} acked, ${lost} lost`);
    result({ sent: n, acked });
  },

  async "read-all"() {
    const socket = await client();
    const all = [];
    let before = null;
    for (;;) {
      const page = await socket.emitWithAck("chat:history", before === null ? { limit: 200 } : { before, limit: 200 });
      if (page.messages.length === 0) break;
      all.unshift(...page.messages);
      before = page.messages[0].id;
    }
    all.forEach((m) => assertMessage(m, { user: m.user, text: m.text, room: null }));
    result({ messages: all });
  },
};

scenario(`history store: ${phase}`, async () => {
  assert.ok(phases[phase], `unknown phase ${phase}; one of ${Object.keys(phases)}`);
  await phases[phase]();
}, { timeoutMs: 60_000 });
