// Module ending: the official client's names, as named and default exports.
const { Manager, Socket, protocol } = io;
export { io, io as connect, Manager, Socket, protocol };
export default io;
