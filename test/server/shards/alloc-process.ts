// A child process for the sharded live-limit test: one session, `count` ALLOCs of 4 KiB on device 0, then
// it says so on stdout and holds its connection until stdin closes.
import { EventOp } from "../../../src/protocol/event.js";
import { EventBatchEncoder } from "../../../src/protocol/event-batch-encoder.js";
import { newSessionId, RawClient } from "../raw-client.js";

const [socketPath, countText] = process.argv.slice(2);
const count = Number(countText);
const client = await RawClient.handshake(socketPath!, { sessionId: newSessionId() });
const encoder = new EventBatchEncoder(count);
for (let i = 1; i <= count; i++) encoder.append(EventOp.ALLOC, 0, 0, i, i, i * 4096, 4096, 0);
client.send(encoder.finish());
process.stdout.write(`${JSON.stringify({ pid: process.pid })}\n`);
process.stdin.resume();
process.stdin.on("end", () => {
  client.end();
  process.exit(0);
});
