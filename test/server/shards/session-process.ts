// A child process for the sharded-ingest tests: one session on several connections of its own pid, every
// FREE on another connection than its ALLOC, frames interleaved at random. Prints the live set it leaves
// as one JSON line, then holds its connections until stdin closes.
import { describeDevice } from "../../../src/client/device-description.js";
import { Device } from "../../../src/device/device.js";
import { WORMHOLE_B0_N150 } from "../../../src/device/presets.js";
import { EventOp } from "../../../src/protocol/event.js";
import { EventBatchEncoder } from "../../../src/protocol/event-batch-encoder.js";
import { newSessionId, RawClient } from "../raw-client.js";

const [socketPath, seedText, connectionsText, eventsText] = process.argv.slice(2);
const seed = Number(seedText);
const connections = Number(connectionsText);
const events = Number(eventsText);
const FRAME_EVENTS = 32;

let state = seed * 7919;
const next = (bound: number): number => {
  state = (state * 1103515245 + 12345) & 0x7fffffff;
  return state % bound;
};

const sessionId = newSessionId();
// A device of a known preset, so that its memory map can be drawn.
const devices = [describeDevice(Device.create(WORMHOLE_B0_N150, { id: 0 }))];
const clients: RawClient[] = [];
for (let c = 0; c < connections; c++)
  clients.push(await RawClient.handshake(socketPath!, { sessionId, devices }));

interface Planned {
  op: number;
  seq: number;
  id: number;
  address: number;
  sizeBytes: number;
}
const perConnection: Planned[][] = Array.from({ length: connections }, () => []);
const live = new Map<number, Planned>();
let nextId = 1;
for (let seq = 1; seq <= events; seq++) {
  if (live.size > 0 && next(3) === 0) {
    const ids = [...live.keys()];
    const id = ids[next(ids.length)]!;
    const alloc = live.get(id)!;
    live.delete(id);
    const connection = (id + 1 + next(connections - 1)) % connections;
    perConnection[connection]!.push({ ...alloc, op: EventOp.FREE, seq });
  } else {
    const id = nextId++;
    // Addresses of different processes never meet: each gets its own 1 GiB window.
    const planned = {
      op: EventOp.ALLOC,
      seq,
      id,
      address: seed * 2 ** 30 + id * 0x1000,
      sizeBytes: 64 * (1 + next(64)),
    };
    live.set(id, planned);
    perConnection[id % connections]!.push(planned);
  }
}
const cursors = new Array<number>(connections).fill(0);
for (;;) {
  const open = cursors.flatMap((at, c) => (at < perConnection[c]!.length ? [c] : []));
  if (open.length === 0) break;
  const c = open[next(open.length)]!;
  const batch = perConnection[c]!.slice(cursors[c], cursors[c]! + 1 + next(FRAME_EVENTS));
  cursors[c]! += batch.length;
  const encoder = new EventBatchEncoder(batch.length);
  for (const e of batch) encoder.append(e.op, 0, 0, e.seq, e.id, e.address, e.sizeBytes, 0);
  clients[c]!.send(encoder.finish());
}
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
