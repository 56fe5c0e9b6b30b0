// Placeholder: the browser client is being written (issue: Browser client
// served at /socket.io/socket.io.js).
function io() {
  throw new Error("switchboard browser client not built yet");
}
