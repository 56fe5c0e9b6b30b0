// The Node reference server for the browser tests: socket.io 4.8 with the
// same test-server contract as the Rust one (crates/switchboard/tests/
// browser_support/mod.rs), so that one test page checks our client against
// both. It serves OUR client at /socket.io/socket.io.js, not socket.io's.
//
//   node reference-server.mjs [--port N]
//
// Prints `listening <port>` once it accepts connections. It stops
// gracefully (closes every client, then exits) when its stdin ends, so the
// harness restarts it by closing stdin and starting it again on the port.
//
// The contract, on one origin:
//   /client.test.html, /tutorial.html, /bad-cases.json   the test files
//   /socket.io/socket.io.js, /socket.io/socket.io.esm.js our client
//   /socket.io/   Socket.IO: pingInterval 300 ms, pingTimeout 2 s;
//     "/"        on connect emits "welcome" (socket id); events "echo"
//                (emitted back with every argument), "echo-ack" (acked
//                with every argument), "ask" (event, ...args: emits them to
//                the client with an ack and acks with the client's answer),
//                "join" (room; acks), "to-room" (room, ...args: to everyone
//                in the room as "room", room, ...args; acks), "kick"
//                (server-side disconnect), "never-ack", "chat message"
//                (to everyone, as the tutorial's server does)
//     "/custom"  "welcome" and "echo-ack"
//     "/guarded" middleware: auth.token must be "let-me-in", otherwise
//                refused with message "unauthorized", data {reason:"bad token"};
//                on connect emits "hello" with the auth payload
//   /recover/     a second Socket.IO server, with connection state recovery
//                where the server has it: on connect emits "caps"
//                {recovery}; "join", "to-room" as above, "watch" (joins
//                "watchers"; acks); a disconnect is announced to "watchers"
//                as "left" (socket id)
//   /bad/         a fake Engine.IO (polling) server sending bad-cases.json
//   anything else 404

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Server } from "socket.io";

const here = path.dirname(fileURLToPath(import.meta.url));
const clientSrc = path.join(here, "..", "..", "clients", "js", "src");

const portArg = process.argv.indexOf("--port");
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 0;

const read = (file) => fs.readFileSync(file, "utf8");
const core = read(path.join(clientSrc, "core.js"));
const files = {
  // Put together exactly as the Rust server does (concat! of the sources).
  "/socket.io/socket.io.js": ["application/javascript; charset=utf-8", core + read(path.join(clientSrc, "classic.js"))],
  "/socket.io/socket.io.esm.js": ["application/javascript; charset=utf-8", core + read(path.join(clientSrc, "esm.js"))],
  "/client.test.html": ["text/html; charset=utf-8", read(path.join(here, "client.test.html"))],
  "/tutorial.html": ["text/html; charset=utf-8", read(path.join(here, "tutorial.html"))],
  "/bad-cases.json": ["application/json", read(path.join(here, "bad-cases.json"))],
};
const badCases = JSON.parse(files["/bad-cases.json"][1]);

// ---- the fake Engine.IO endpoint ----

const bad = { runs: new Map(), sessions: new Map(), next: 0 };

function fakeEngine(req, res, url) {
  const reply = (status, body) => {
    res.writeHead(status, { "Content-Type": "text/plain; charset=UTF-8", "Cache-Control": "no-store" });
    res.end(body);
  };
  const q = url.searchParams;
  const sid = q.get("sid");
  if (!sid) {
    if (req.method !== "GET" || q.get("EIO") !== "4" || q.get("transport") !== "polling") {
      return reply(400, "");
    }
    const run = q.get("run") ?? "";
    const name = q.get("case") ?? "";
    const count = (bad.runs.get(run) ?? 0) + 1;
    bad.runs.set(run, count);
    if (name === badCases.handshake && count === 1) return reply(200, '0{"sid":');
    if (name === badCases.hold && count === 1) return; // never answered
    const id = "bad" + ++bad.next;
    bad.sessions.set(id, { name, first: count === 1, gets: 0 });
    const [pingInterval, pingTimeout] = name === badCases.silent ? [200, 200] : [25000, 20000];
    const open = { sid: id, upgrades: [], pingInterval, pingTimeout, maxPayload: 1000000 };
    return reply(200, "0" + JSON.stringify(open));
  }
  const session = bad.sessions.get(sid);
  if (!session) return reply(400, '{"code":1,"message":"Session ID unknown"}');
  if (req.method === "POST") {
    req.resume();
    req.on("end", () => reply(200, "ok"));
    return;
  }
  session.gets += 1;
  if (session.gets === 1) return reply(200, '40{"sid":"fake-' + sid + '"}');
  const garbage = badCases.cases[session.name];
  if (session.gets === 2 && session.first && typeof garbage === "string") return reply(200, garbage);
  // Otherwise the long-poll is held: nothing more to say. The client aborts
  // it when it closes, and shutdown closes every connection.
}

// ---- the Socket.IO servers ----

const httpServer = http.createServer();
const common = { serveClient: false, pingInterval: 300, pingTimeout: 2000 };
const io = new Server(httpServer, common);
const recover = new Server(httpServer, {
  ...common,
  path: "/recover/",
  connectionStateRecovery: { maxDisconnectionDuration: 60000, skipMiddlewares: true },
});

const popAck = (args) => (typeof args.at(-1) === "function" ? args.pop() : () => {});

function rooms(nsp, socket) {
  socket.on("join", (room, ...rest) => {
    socket.join(room);
    popAck(rest)(room);
  });
  socket.on("to-room", (room, ...args) => {
    const ack = popAck(args);
    nsp.to(room).emit("room", room, ...args);
    ack();
  });
}

io.on("connection", (socket) => {
  socket.emit("welcome", socket.id);
  socket.on("echo", (...args) => socket.emit("echo", ...args));
  socket.on("echo-ack", (...args) => popAck(args)(...args));
  socket.on("ask", (event, ...args) => {
    const ack = popAck(args);
    socket.timeout(10000).emit(event, ...args, (err, ...answer) => {
      if (err) ack({ error: err.message });
      else ack(...answer);
    });
  });
  rooms(io.of("/"), socket);
  socket.on("kick", () => socket.disconnect());
  socket.on("never-ack", () => {});
  socket.on("chat message", (msg) => io.emit("chat message", msg));
});

io.of("/custom").on("connection", (socket) => {
  socket.emit("welcome", socket.id);
  socket.on("echo-ack", (...args) => popAck(args)(...args));
});

const guarded = io.of("/guarded");
guarded.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "let-me-in") return next();
  const error = new Error("unauthorized");
  error.data = { reason: "bad token" };
  next(error);
});
guarded.on("connection", (socket) => socket.emit("hello", socket.handshake.auth));

recover.on("connection", (socket) => {
  socket.emit("caps", { recovery: true });
  rooms(recover.of("/"), socket);
  socket.on("watch", (ack) => {
    socket.join("watchers");
    ack();
  });
  socket.on("disconnect", () => recover.to("watchers").emit("left", socket.id));
});

// Every request goes through engine.io's listener first (it wraps the
// server's); take it over so our files win on /socket.io/ as well.
const engines = httpServer.listeners("request").slice();
httpServer.removeAllListeners("request");
httpServer.on("request", (req, res) => {
  const url = new URL(req.url, "http://localhost");
  const file = files[url.pathname];
  if (file && (req.method === "GET" || req.method === "HEAD")) {
    res.writeHead(200, { "Content-Type": file[0], "Cache-Control": "no-store" });
    return res.end(req.method === "HEAD" ? undefined : file[1]);
  }
  if (url.pathname === "/bad/") return fakeEngine(req, res, url);
  if (url.pathname.startsWith("/socket.io/") || url.pathname.startsWith("/recover/")) {
    for (const listener of engines) listener.call(httpServer, req, res);
    return;
  }
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found");
});

httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening ${httpServer.address().port}\n`);
});

// Graceful stop when the harness closes stdin: stop accepting first, so a
// client cannot reconnect to this process, then close every client.
let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  httpServer.close(() => process.exit(0));
  io.engine.close();
  recover.engine.close();
  httpServer.closeAllConnections();
}
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
