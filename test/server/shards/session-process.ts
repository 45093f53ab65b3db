// A child process for the sharded-ingest tests: one session on several connections of its own pid, every
// FREE on another connection than its ALLOC, frames interleaved at random. Prints the live set it leaves
// as one JSON line, then holds its connections until stdin closes.
import { describeDevice } from "../../../src/client/device-description.js";
import { Device } from "../../../src/device/device.js";
import { WORMHOLE_B0_N150 } from "../../../src/device/presets.js";
import { newSessionId, RawClient } from "../raw-client.js";
import { sessionProgram } from "../session-program.js";

const [socketPath, seedText, connectionsText, eventsText] = process.argv.slice(2);
const seed = Number(seedText);
const connections = Number(connectionsText);
const events = Number(eventsText);

const sessionId = newSessionId();
// A device of a known preset, so that its memory map can be drawn.
const devices = [describeDevice(Device.create(WORMHOLE_B0_N150, { id: 0 }))];
const clients: RawClient[] = [];
for (let c = 0; c < connections; c++)
  clients.push(await RawClient.handshake(socketPath!, { sessionId, devices }));

// Addresses of different processes never meet: each gets its own 1 GiB window.
const { frames, live } = sessionProgram(seed, connections, events, seed * 2 ** 30);
for (const frame of frames) clients[frame.connection]!.send(frame.bytes);
let bytes = 0;
for (const a of live.values()) bytes += a.sizeBytes;
const largest = [...live.values()].sort((a, b) => b.sizeBytes - a.sizeBytes || a.id - b.id)[0];
process.stdout.write(
  `${JSON.stringify({ pid: process.pid, sessionId, events, bytes, allocations: live.size, largest })}\n`,
);
process.stdin.resume();
process.stdin.on("end", () => {
  for (const client of clients) client.end();
  process.exit(0);
});
