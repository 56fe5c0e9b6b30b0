// Classic-script ending: `io` is already a page global (a top-level `var`);
// assigning it again also covers a script run in a function scope, such as
// one concatenated by a bundler.
globalThis.io = io;
