// A client in a process of its own (not a test file), so that its connection has another pid than the
// test's: connects to the Unix socket argv[2], copies stdin to the socket and the socket to stdout,
// and exits when the connection closes.
import { connect } from "node:net";

const socket = connect(process.argv[2]!);
socket.on("error", () => process.exit(2));
socket.once("connect", () => {
  process.stdin.pipe(socket);
  socket.pipe(process.stdout);
});
socket.once("close", () => process.exit(0));
