// A Node socket.io 4.8 server on @socket.io/redis-adapter 8.3, speaking
// the `do` contract of clients.mjs, for mixed clusters with switchboard.
//
// Usage: node node-server.mjs REDIS_URL KEY_PREFIX NAME
// Prints `listening <port>` once it accepts clients and its adapter's
// channels are subscribed; runs until it is killed.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const [redisUrl, key, name] = process.argv.slice(2);
if (!redisUrl || !key || !name) {
  console.error("usage: node node-server.mjs REDIS_URL KEY_PREFIX NAME");
  process.exit(2);
}

const pub = createClient({ url: redisUrl });
const sub = pub.duplicate();
pub.on("error", (e) => console.error("redis pub:", e.message));
sub.on("error", (e) => console.error("redis sub:", e.message));
await Promise.all([pub.connect(), sub.connect()]);

const http = createServer();
const io = new Server(http, { adapter: createAdapter(pub, sub, { key }) });

const byId = (a, b) => (a.id < b.id ? -1 : 1);

async function perform(socket, op) {
  switch (op.op) {
    case "server-count":
      return io.of("/").adapter.serverCount();
    case "join":
      socket.join(op.rooms ?? op.room);
      return null;
    case "emit":
      io.emit("msg", op.text);
      return null;
    case "local":
      io.local.emit("msg", op.text);
      return null;
    case "to":
      io.to(op.rooms).emit("msg", op.text);
      return null;
    case "socket-to":
      socket.to(op.room).emit("msg", op.text);
      return null;
    case "to-except":
      io.to(op.room).except(op.except).emit("msg", op.text);
      return null;
    case "except":
      io.except(op.room).emit("msg", op.text);
      return null;
    case "broadcast":
      socket.broadcast.emit("msg", op.text);
      return null;
    case "binary":
      io.emit("bin", op.text, Buffer.from([1, 2, 3]));
      return null;
    case "ack": {
      const answers = await io.timeout(5000).emitWithAck("question");
      return answers.sort();
    }
    case "fetch": {
      const sockets = await (op.room ? io.in(op.room) : io).fetchSockets();
      return sockets.map((s) => ({ id: s.id, rooms: [...s.rooms].sort() })).sort(byId);
    }
    case "remote-join":
      io.in(op.target).socketsJoin(op.room);
      return null;
    case "remote-leave":
      io.in(op.target).socketsLeave(op.room);
      return null;
    case "remote-disconnect":
      io.in(op.target).disconnectSockets();
      return null;
    case "all-rooms":
      return [...(await io.of("/").adapter.allRooms())];
    case "sse":
      io.serverSideEmit("sse", op.text);
      return null;
    case "sse-ack": {
      const names = await io.serverSideEmitWithAck("who");
      return names.sort();
    }
    default:
      throw new Error(`unknown op ${op.op}`);
  }
}

io.on("connection", (socket) => {
  socket.on("do", async (op, ack) => {
    try {
      const result = await perform(socket, op);
      io.emit("marker", op.marker);
      ack({ marker: op.marker, result });
    } catch (e) {
      console.error(`op ${op.op} failed:`, e);
      ack({ marker: -1, result: String(e) });
    }
  });
});

// From the other servers of the cluster.
io.of("/").on("sse", (text) => io.local.emit("sse", text));
io.of("/").on("who", (ack) => ack(name));

await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
// Replies on one connection come in order: once this subscription is
// answered, the adapter's own (issued in its constructor) are too.
await sub.subscribe(`${key}-ready#${name}`, () => {});
console.log(`listening ${http.address().port}`);

