// Classic-script ending: publish the API as globals, as the official
// client's bundle does for `<script src="/socket.io/socket.io.js">`.
globalThis.io = io;
