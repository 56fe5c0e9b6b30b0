// Module ending: the same API as named and default exports.
export { io };
export default io;
