// The chat event contract of apps/chat (see apps/chat/src/chat.rs) on Node's
// socket.io 4.8, written the way its documentation and tutorials write a chat
// server. History lives in memory.
//
//   node server.mjs [--port N]      (0 by default)
//
// Prints `PORT <n>` on stdout once it listens; the bench reads that line.

import { createServer } from "node:http";
import { Server } from "socket.io";

const MAX_NAME = 32;
const MAX_ROOM = 64;
const MAX_MESSAGE = 4000;
const MAX_PAGE = 200;
const DEFAULT_PAGE = 50;
const TYPING_EVERY_MS = 1000;
const ANNOUNCE_EVERY_MS = 200;

function portArgument() {
  const i = process.argv.indexOf("--port");
  return i >= 0 ? Number(process.argv[i + 1]) || 0 : 0;
}

// ---- history ----

const messages = [];

function insert(user, text, room) {
  const id = messages.length === 0 ? 1 : messages[messages.length - 1].id + 1;
  const stored = { id, user, text, timestamp: new Date().toISOString(), room };
  messages.push(stored);
  return stored;
}

function history(room, before, limit) {
  const page = [];
  for (let i = messages.length - 1; i >= 0 && page.length < limit; i--) {
    const m = messages[i];
    if (m.room === room && (before === null || m.id < before)) page.push(m);
  }
  return page.reverse();
}

// ---- validation (same messages as the switchboard chat) ----

class Invalid extends Error {}

function textField(value, what, max) {
  if (typeof value !== "string") throw new Invalid(`${what} must be a string`);
  const text = value.trim();
  if (text.length === 0) throw new Invalid(`${what} must not be empty`);
  if ([...text].length > max) throw new Invalid(`${what} is longer than ${max} characters`);
  return text;
}

function historyQuery(value) {
  if (value === undefined || value === null) return { room: null, before: null, limit: DEFAULT_PAGE };
  if (typeof value !== "object" || Array.isArray(value)) throw new Invalid("expected {room?, before?, limit?}");
  const room = value.room === undefined || value.room === null ? null : textField(value.room, "room", MAX_ROOM);
  let before = null;
  if (value.before !== undefined && value.before !== null) {
    if (!Number.isSafeInteger(value.before) || value.before <= 0) throw new Invalid("before must be a message id");
    before = value.before;
  }
  let limit = DEFAULT_PAGE;
  if (value.limit !== undefined && value.limit !== null) {
    if (!Number.isInteger(value.limit) || value.limit < 1 || value.limit > MAX_PAGE) {
      throw new Invalid(`limit must be a whole number from 1 to ${MAX_PAGE}`);
    }
    limit = value.limit;
  }
  return { room, before, limit };
}

// ---- server ----

const httpServer = createServer();
const io = new Server(httpServer);

// Who is online: name -> number of sockets. `users:online` goes out at once
// after a change, then at most once per 200 ms with the latest list.
const users = new Map();
let dirty = false;
let pausing = false;

function announce() {
  dirty = false;
  pausing = true;
  io.emit("users:online", [...users.keys()].sort());
  setTimeout(() => {
    pausing = false;
    if (dirty) announce();
  }, ANNOUNCE_EVERY_MS);
}

function changed() {
  dirty = true;
  if (!pausing) announce();
}

function addUser(name) {
  users.set(name, (users.get(name) ?? 0) + 1);
  changed();
}

// True when it was the user's last socket.
function removeUser(name) {
  const count = users.get(name);
  if (count === undefined) return false;
  const gone = count === 1;
  if (gone) users.delete(name);
  else users.set(name, count - 1);
  changed();
  return gone;
}

// Splits an event's arguments into the first one and the ack, if asked for.
function on(socket, event, handler) {
  socket.on(event, (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
    try {
      handler(args[0], ack);
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      if (ack) ack({ status: "error", error: error.message });
      else socket.emit("chat:error", { event, error: error.message });
    }
  });
}

io.on("connection", (socket) => {
  const displayName = () => socket.data.user ?? "anonymous";

  on(socket, "user:join", (value, ack) => {
    const name = textField(value, "name", MAX_NAME);
    const previous = socket.data.user;
    if (previous !== undefined) {
      if (previous === name) return ack?.({ status: "ok", user: name });
      if (removeUser(previous)) io.emit("user:left", `${previous} left the chat`);
    }
    socket.data.user = name;
    addUser(name);
    socket.broadcast.emit("user:joined", `${name} joined the chat`);
    socket.emit("chat:history", { room: null, messages: history(null, null, DEFAULT_PAGE) });
    ack?.({ status: "ok", user: name });
  });

  on(socket, "chat:message", (value, ack) => {
    const text = textField(value, "message", MAX_MESSAGE);
    const stored = insert(socket.data.user ?? null, text, null);
    io.emit("chat:message", stored);
    ack?.({ status: "ok", id: stored.id });
  });

  socket.on("chat:typing", () => {
    const name = socket.data.user;
    if (name === undefined) return;
    const now = Date.now();
    if (socket.data.typedAt !== undefined && now - socket.data.typedAt < TYPING_EVERY_MS) return;
    socket.data.typedAt = now;
    socket.broadcast.emit("chat:typing", name);
  });

  on(socket, "room:join", (value, ack) => {
    const room = textField(value, "room", MAX_ROOM);
    socket.join(room);
    io.to(room).emit("system", `${displayName()} joined ${room}`);
    socket.emit("chat:history", { room, messages: history(room, null, DEFAULT_PAGE) });
    ack?.({ status: "ok", room });
  });

  on(socket, "room:leave", (value, ack) => {
    const room = textField(value, "room", MAX_ROOM);
    socket.leave(room);
    io.to(room).emit("system", `${displayName()} left ${room}`);
    ack?.({ status: "ok", room });
  });

  on(socket, "room:message", (value, ack) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new Invalid("expected {room, message}");
    }
    const room = textField(value.room, "room", MAX_ROOM);
    const text = textField(value.message, "message", MAX_MESSAGE);
    if (!socket.rooms.has(room) || room === socket.id) throw new Invalid(`not a member of ${room}`);
    const stored = insert(socket.data.user ?? null, text, room);
    io.to(room).emit("chat:message", stored);
    ack?.({ status: "ok", id: stored.id });
  });

  on(socket, "chat:history", (value, ack) => {
    if (!ack) throw new Invalid("chat:history needs an acknowledgement");
    const { room, before, limit } = historyQuery(value);
    ack({ messages: history(room, before, limit) });
  });

  socket.on("disconnect", () => {
    const name = socket.data.user;
    if (name !== undefined && removeUser(name)) io.emit("user:left", `${name} left the chat`);
  });
});

// The same backlog as the switchboard chat and the socketioxide peer.
httpServer.listen({ host: "127.0.0.1", port: portArgument(), backlog: 4096 }, () => {
  process.stdout.write(`PORT ${httpServer.address().port}\n`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
