// One client per URL (labelled c0, c1, ...) that prints every `msg` it
// gets as `got <label> <text>`, for tests that drive the servers from
// Rust and watch delivery (the Redis adapter's fault tests). Prints
// `ready` once every client is connected; runs until killed.
//
// Usage: node listen.mjs URL...
import { io } from "socket.io-client";

const urls = process.argv.slice(2);
if (urls.length === 0) {
  console.error("usage: node listen.mjs URL...");
  process.exit(2);
}

const clients = urls.map((url, i) => {
  const label = `c${i}`;
  const socket = io(url, { transports: ["websocket"], forceNew: true });
  socket.on("msg", (text) => console.log(`got ${label} ${text}`));
  socket.on("disconnect", (reason) => console.log(`disconnected ${label} ${reason}`));
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
});

await Promise.all(clients);
console.log("ready");
