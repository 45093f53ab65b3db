// One session's program for the exactness tests over several connections: ALLOCs and FREEs in sequence
// order, every FREE routed to another connection than its ALLOC, then cut into frames of up to 32 events
// written connection by connection in a random order (each connection FIFO, the connections interleaved
// anyhow). Deterministic for a seed.
import { EventOp } from "../../src/protocol/event.js";
import { EventBatchEncoder } from "../../src/protocol/event-batch-encoder.js";

const FRAME_EVENTS = 32;

export interface PlannedEvent {
  op: number;
  seq: number;
  id: number;
  address: number;
  sizeBytes: number;
}

export interface SessionProgram {
  /** Encoded EVENTS frames, each with the connection it goes out on, in the order to write them. */
  frames: { connection: number; bytes: Uint8Array }[];
  /** What is live at the end, by allocation id. */
  live: Map<number, PlannedEvent>;
}

/** `events` events of one session over `connections` connections; allocation i at `addressBase + i × 4 KiB`. */
export function sessionProgram(
  seed: number,
  connections: number,
  events: number,
  addressBase = 0,
): SessionProgram {
  let state = seed * 7919;
  const next = (bound: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % bound;
  };
  const perConnection: PlannedEvent[][] = Array.from({ length: connections }, () => []);
  const live = new Map<number, PlannedEvent>();
  let nextId = 1;
  for (let seq = 1; seq <= events; seq++) {
    if (live.size > 0 && next(3) === 0) {
      const ids = [...live.keys()];
      const id = ids[next(ids.length)]!;
      const alloc = live.get(id)!;
      live.delete(id);
      // The FREE goes out on another connection than its ALLOC.
      const connection = (id + 1 + next(connections - 1)) % connections;
      if (connection === id % connections) throw new Error("a FREE planned on its ALLOC's connection");
      perConnection[connection]!.push({ ...alloc, op: EventOp.FREE, seq });
    } else {
      const id = nextId++;
      const planned = {
        op: EventOp.ALLOC,
        seq,
        id,
        address: addressBase + id * 0x1000,
        sizeBytes: 64 * (1 + next(64)),
      };
      live.set(id, planned);
      perConnection[id % connections]!.push(planned);
    }
  }
  const frames: SessionProgram["frames"] = [];
  const cursors = new Array<number>(connections).fill(0);
  for (;;) {
    const open = cursors.flatMap((at, c) => (at < perConnection[c]!.length ? [c] : []));
    if (open.length === 0) break;
    const c = open[next(open.length)]!;
    const batch = perConnection[c]!.slice(cursors[c], cursors[c]! + 1 + next(FRAME_EVENTS));
    cursors[c]! += batch.length;
    const encoder = new EventBatchEncoder(batch.length);
    for (const e of batch) encoder.append(e.op, 0, 0, e.seq, e.id, e.address, e.sizeBytes, 0);
    frames.push({ connection: c, bytes: encoder.finish() });
  }
  return { frames, live };
}
