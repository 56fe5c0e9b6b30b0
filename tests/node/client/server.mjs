// Node's socket.io 4.8 reference server for the Rust client's tests
// (crates/client/tests): the same event contract as the switchboard server
// in crates/client/tests/support/servers.rs, plus connection state recovery.
//
// Usage: node server.mjs [PORT [recovery|plain|gated|msgpack [CERT_PEM KEY_PEM]]]
// (port 0 or nothing: a free port; `recovery` turns connection state
// recovery on, and with it every emit carries an offset as its last
// argument; `gated` refuses (400, by an engine middleware) every HTTP
// request and upgrade without the header `x-gate: open`; `msgpack` uses
// socket.io-msgpack-parser instead of the default parser; a certificate
// and key, as PEM text, serve https instead of http)
// Prints `listening <port>` once it accepts clients; runs until killed.
//
// Contract, on `/`, `/admin` (which first emits `welcome`) and `/private`
// (refused by a middleware with message "unauthorized" and data
// {code: "E_AUTH"} unless auth.token is "secret"):
//   echo ...args, ack        → ack(...args), binary included
//   emit-back ...args        → emit("back", ...args) to the sender
//   ask n                    → emit("question", n) with an ack; then
//                              emit("answer", ...the client's ack args)
//   never ...                → never acknowledged
//   transport, ack           → ack(name of the transport in use)
//   auth, ack                → ack(handshake auth)
//   header name, ack         → ack(the opening request's header `name`, or null)
//   disconnect-me            → socket.disconnect()
//   close-transport          → closes the connection (the client reconnects)
//   tick n                   → io.emit("tick", n): a broadcast, carrying an
//                              offset with connection state recovery
//   drop-and-miss            → closes the connection; once the server has
//                              seen the disconnect, broadcasts missed 1, 2
import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

const port = Number(process.argv[2] ?? 0);
const recovery = process.argv[3] === "recovery";
const gated = process.argv[3] === "gated";
const msgpack = process.argv[3] === "msgpack";
const [cert, key] = process.argv.slice(4, 6);

const http = cert ? createTlsServer({ cert, key }) : createServer();
const io = new Server(http, {
  ...(recovery
    ? { connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: true } }
    : {}),
  ...(msgpack ? { parser: msgpackParser } : {}),
});

if (gated) {
  // Engine middlewares run for every request, the upgrade included.
  io.engine.use((req, _res, next) => {
    next(req.headers["x-gate"] === "open" ? undefined : new Error("gate closed"));
  });
}

function contract(socket) {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
  socket.on("emit-back", (...args) => socket.emit("back", ...args));
  socket.on("ask", async (n) => {
    try {
      const answer = await socket.timeout(5_000).emitWithAck("question", n);
      socket.emit("answer", answer);
    } catch (e) {
      socket.emit("answer", `error: ${e.message}`);
    }
  });
  socket.on("never", () => {});
  socket.on("transport", (ack) => ack(socket.conn.transport.name));
  socket.on("auth", (ack) => ack(socket.handshake.auth));
  socket.on("header", (name, ack) => ack(socket.handshake.headers[name] ?? null));
  socket.on("disconnect-me", () => socket.disconnect());
  socket.on("close-transport", () => socket.conn.close());
  socket.on("tick", (n) => io.emit("tick", n));
  socket.on("drop-and-miss", () => {
    socket.once("disconnect", () => {
      io.emit("missed", 1);
      io.emit("missed", 2);
    });
    socket.conn.close();
  });
  socket.emit("hello", { recovered: socket.recovered, id: socket.id });
}

io.on("connection", contract);
io.of("/admin").on("connection", (socket) => {
  socket.emit("welcome", "admin");
  contract(socket);
});
const secret = io.of("/private");
secret.use((socket, next) => {
  if (socket.handshake.auth?.token === "secret") return next();
  const err = new Error("unauthorized");
  err.data = { code: "E_AUTH" };
  next(err);
});
secret.on("connection", contract);

http.listen(port, "127.0.0.1", () => {
  console.log(`listening ${http.address().port}`);
});
