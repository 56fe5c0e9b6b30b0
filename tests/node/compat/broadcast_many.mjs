// One broadcast reaching many clients, each exactly once. argv[3]: how
// many clients (default 500), all over WebSocket, each its own connection.
//
// The server broadcasts `hello-all` once it has seen every client connect,
// then `end`; a connection delivers in order, so at `end` each client knows
// how many `hello-all` it got.
import { args, assert, connect, connected, scenario, step } from "./lib.mjs";

const COUNT = Number(args[0] ?? 500);

scenario(`broadcast to ${COUNT} clients`, async () => {
  step(`open ${COUNT} connections`);
  const results = [];
  const sockets = [];
  for (let i = 0; i < COUNT; i++) {
    const socket = connect("/", { transports: ["websocket"], forceNew: true });
    sockets.push(socket);
    let got = [];
    results.push(
      new Promise((resolve) => {
        socket.on("hello-all", (...values) => got.push(values));
        socket.on("end", () => resolve(got));
      }),
    );
  }
  await Promise.all(sockets.map(connected));

  step("every client receives the broadcast exactly once");
  const all = await Promise.all(results);
  all.forEach((got, i) => {
    assert.equal(got.length, 1, `client ${i} received hello-all ${got.length} times`);
    assert.deepEqual(got[0], ["everyone", { count: COUNT }], `client ${i}'s copy`);
  });
}, { timeoutMs: 60_000 });
