// Invalid input: answered through the ack as {status: "error", error}, or
// with a `chat:error` event {event, error} when no ack was asked for; and
// nothing stored or broadcast. Each case ends with a marker message that
// every observer receives: anything the invalid input had caused would
// have reached them before it.
// argv[3]: the case (user:join | chat:message | room:join | room:leave |
// room:message | chat:history | no-ack); argv[4]: transport mode.
import {
  args,
  assert,
  assertError,
  assertMessage,
  client,
  join,
  marker,
  say,
  scenario,
  setMode,
  step,
} from "./lib.mjs";

const [which, mode = "websocket"] = args;
setMode(mode);

const x = (n) => "x".repeat(n);
const e = (n) => "é".repeat(n);

// Values of the wrong type, and empty or blank strings. `undefined` stands
// for "no argument at all".
const NOT_A_STRING = [undefined, 42, 0, true, null, {}, { text: "hi" }, ["hi"], Buffer.from("hi")];
const BLANK = ["", " ", "   \t\n  "];

// Emits `event` with `value` (or no argument) and waits for the ack.
function ask(socket, event, value) {
  return value === undefined ? socket.emitWithAck(event) : socket.emitWithAck(event, value);
}

async function refusedAll(socket, event, values) {
  for (const value of values) {
    const shown = value === undefined ? "no argument" : JSON.stringify(value)?.slice(0, 40);
    assertError(await ask(socket, event, value), `${event} ${shown}`);
  }
}

// Events that only valid input may cause. (users:online may repeat an
// unchanged list, as announcements are coalesced; its content is checked.)
const EFFECTS = ["chat:message", "user:joined", "user:left", "system", "chat:typing", "chat:history"];

// Who is online throughout a case: the observer, and the sender unless the
// case is about joining.
let online = [];

function assertNoEffects(observer, from, to, what, except = []) {
  const seen = observer.log.names(from, to).filter((n) => EFFECTS.includes(n) && !except.includes(n));
  assert.deepEqual(seen, [], `${what}: nothing broadcast`);
  for (const list of observer.log.list("users:online", from, to)) {
    assert.deepEqual([...list].sort(), online, `${what}: presence unchanged`);
  }
}

const cases = {
  async "user:join"(sender, observer) {
    step("names of the wrong type, blank, or over 32 characters");
    const from = observer.log.mark();
    const own = sender.log.mark();
    await refusedAll(sender, "user:join", [...NOT_A_STRING, ...BLANK, x(33), e(33), ` ${x(33)} `]);
    const [at, ownAt] = await marker(sender, [observer, sender]);
    assertNoEffects(observer, from, at, "invalid names");
    assertNoEffects(sender, own, ownAt, "invalid names (to the sender)");
    step("the sender did not join: its marker came with user null");
    assert.equal(observer.log.events[at].args[0].user, null);

    step("32 characters are accepted (characters, not bytes)");
    assert.deepEqual(await join(sender, x(32)), { status: "ok", user: x(32) });
    assert.equal(await observer.log.wait("user:joined", () => true, at), `${x(32)} joined the chat`);
    assert.deepEqual(await join(sender, e(32)), { status: "ok", user: e(32) });
  },

  async "chat:message"(sender, observer) {
    step("messages of the wrong type, blank, or over 4,000 characters");
    const from = observer.log.mark();
    await refusedAll(sender, "chat:message", [...NOT_A_STRING, ...BLANK, x(4001), e(4001)]);
    step("4,000 characters are accepted");
    const long = await say(sender, x(4000));
    assert.equal(long.status, "ok");
    const accented = await say(sender, e(4000));
    assert.equal(accented.status, "ok");
    const [at] = await marker(sender, [observer]);
    const got = observer.log.list("chat:message", from, at);
    assert.equal(got.length, 2, "only the two valid messages were broadcast");
    assertMessage(got[0], { user: "sender", text: x(4000), room: null });
    assertMessage(got[1], { user: "sender", text: e(4000), room: null });
    step("and only they were stored");
    const history = await sender.emitWithAck("chat:history", {});
    assert.deepEqual(history.messages.map((m) => m.text), [x(4000), e(4000), observer.log.events[at].args[0].text]);
  },

  async "room:join"(sender, observer) {
    await roomNames(sender, observer, "room:join");
    step("64 characters are accepted");
    assert.equal((await sender.emitWithAck("room:join", x(64))).status, "ok");
  },

  async "room:leave"(sender, observer) {
    await roomNames(sender, observer, "room:leave");
  },

  async "room:message"(sender, observer) {
    assert.equal((await observer.emitWithAck("room:join", "lobby")).status, "ok");
    assert.equal((await sender.emitWithAck("room:join", "lobby")).status, "ok");
    await observer.log.wait("system", (t) => t === "sender joined lobby");
    const from = observer.log.mark();
    step("not {room, message}; fields missing, of the wrong type, blank or too long");
    await refusedAll(sender, "room:message", [
      ...NOT_A_STRING,
      "lobby",
      { room: "lobby" },
      { message: "hi" },
      { room: 42, message: "hi" },
      { room: null, message: "hi" },
      { room: "", message: "hi" },
      { room: x(65), message: "hi" },
      ...NOT_A_STRING.filter((v) => v !== undefined).map((message) => ({ room: "lobby", message })),
      ...BLANK.map((message) => ({ room: "lobby", message })),
      { room: "lobby", message: x(4001) },
    ]);
    step("from a non-member");
    assertError(await sender.emitWithAck("room:message", { room: "elsewhere", message: "hi" }), "non-member");
    step("4,000 characters from a member are accepted");
    const ok = await sender.emitWithAck("room:message", { room: "lobby", message: x(4000) });
    assert.equal(ok.status, "ok");
    const [at] = await marker(sender, [observer]);
    const got = observer.log.list("chat:message", from, at);
    assert.equal(got.length, 1, "only the valid room message was broadcast");
    assertMessage(got[0], { user: "sender", text: x(4000), room: "lobby" });
    assertNoEffects(observer, from, at, "invalid room messages", ["chat:message"]);
    step("and only it was stored");
    assert.deepEqual((await sender.emitWithAck("chat:history", { room: "lobby" })).messages, got);
    assert.deepEqual((await sender.emitWithAck("chat:history", { room: "elsewhere" })).messages, []);
  },

  async "chat:history"(sender) {
    step("queries that are not {room?, before?, limit?}, or out of range");
    await refusedAll(sender, "chat:history", [
      "x",
      5,
      true,
      ["r"],
      { limit: 0 },
      { limit: -1 },
      { limit: 201 },
      { limit: 1.5 },
      { limit: "10" },
      { before: "x" },
      { before: 0 },
      { before: -5 },
      { before: 1.5 },
      { room: 5 },
      { room: "" },
      { room: x(65) },
    ]);
    step("boundaries that are accepted");
    for (const query of [{ limit: 1 }, { limit: 200 }, { before: 1 }, { room: x(64) }, { limit: null }]) {
      assert.deepEqual(await sender.emitWithAck("chat:history", query), { messages: [] }, JSON.stringify(query));
    }
  },

  async "no-ack"(sender, observer) {
    step("each invalid input without an ack gets a chat:error event {event, error}");
    const from = observer.log.mark();
    const own = sender.log.mark();
    const sent = [
      ["user:join", 42],
      ["chat:message", ""],
      ["chat:message", x(4001)],
      ["room:join", "   "],
      ["room:leave", {}],
      ["room:message", "lobby"],
      ["room:message", { room: "elsewhere", message: "not a member" }],
      ["chat:history", { limit: 201 }],
      ["chat:history", {}],
    ];
    for (const [event, value] of sent) sender.emit(event, value);
    const [at, ownAt] = await marker(sender, [observer, sender]);
    const errors = sender.log.list("chat:error", own, ownAt);
    assert.deepEqual(errors.map((e) => e.event), sent.map(([event]) => event));
    for (const error of errors) {
      assert.deepEqual(Object.keys(error).sort(), ["error", "event"]);
      assert.ok(typeof error.error === "string" && error.error.length > 0, JSON.stringify(error));
    }
    assertNoEffects(observer, from, at, "invalid input without ack");
    assert.deepEqual(observer.log.list("chat:error"), [], "chat:error goes to the sender only");
  },
};

async function roomNames(sender, observer, event) {
  step(`${event}: room names of the wrong type, blank, or over 64 characters`);
  const from = observer.log.mark();
  const own = sender.log.mark();
  await refusedAll(sender, event, [...NOT_A_STRING, ...BLANK, x(65)]);
  const [at, ownAt] = await marker(sender, [observer, sender]);
  assertNoEffects(observer, from, at, event);
  assertNoEffects(sender, own, ownAt, `${event} (to the sender)`);
  assert.deepEqual(sender.log.list("system"), []);
}

scenario(`invalid input: ${which} (${mode})`, async () => {
  assert.ok(cases[which], `unknown case ${which}; one of ${Object.keys(cases)}`);
  const [observer, sender] = await Promise.all([client(), client()]);
  // The set-up's notes reach each side before the case starts counting.
  assert.equal((await join(observer, "observer")).status, "ok");
  await sender.log.wait("user:joined", (t) => t === "observer joined the chat");
  if (which !== "user:join") {
    assert.equal((await join(sender, "sender")).status, "ok");
    await observer.log.wait("user:joined", (t) => t === "sender joined the chat");
  }
  online = which === "user:join" ? ["observer"] : ["observer", "sender"];
  await observer.log.wait("users:online", (l) => [...l].sort().join() === online.join());
  await cases[which](sender, observer);
}, { timeoutMs: 30_000 });
