// The live-allocation limits end to end over real sockets (docs/DESIGN.md "Live-allocation limits"): an
// ALLOC past a limit is not stored, counted and its (session, device) marked in the summary, the process
// entry and /metrics; the connection and other sessions carry on; a FREE of a refused allocation is no
// anomaly; back under the low-water mark the server asks for a snapshot, which makes the view exact again;
// a snapshot past the limit is taken up to it and the device stays marked.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  encodeEvents,
  encodeSnapshotBegin,
  encodeSnapshotChunk,
  encodeSnapshotEnd,
} from "../../src/protocol/encode-frame.js";
import { type AllocationEvent, EventOp } from "../../src/protocol/event.js";
import { FrameType, type ResyncRequestFrame } from "../../src/protocol/frames.js";
import type { ProcessDeviceUsage, SummaryResponse } from "../../src/server/api-types.js";
import { parseExposition } from "../metrics/exposition.js";
import { waitFor } from "../support/wait-for.js";
import { newSessionId, RawClient, TEST_DEVICE, testEvent } from "./raw-client.js";
import { startTestServer, type TestServer } from "./test-server.js";

const PER_SESSION = 8;
const SERVER_WIDE = 12;
let server: TestServer;
before(async () => {
  server = await startTestServer({
    maxLiveAllocations: SERVER_WIDE,
    maxLiveAllocationsPerSession: PER_SESSION,
    // A session whose connection closed is released at once (this process stays alive).
    graceMs: 0,
  });
});
after(() => server.stop());

/** A client that keeps its own truth (the allocator's live set) and numbers its events. */
class TruthfulClient {
  readonly live = new Map<number, number>();
  seq = 0;
  private constructor(
    readonly raw: RawClient,
    readonly sessionId: string,
  ) {}

  static async open(): Promise<TruthfulClient> {
    const sessionId = newSessionId();
    return new TruthfulClient(await RawClient.handshake(server.socketPath, { sessionId }), sessionId);
  }

  allocate(ids: readonly number[]): void {
    this.raw.send(encodeEvents(ids.map((id) => this.event(EventOp.ALLOC, id))));
    for (const id of ids) this.live.set(id, id * 4096);
  }

  free(ids: readonly number[]): void {
    this.raw.send(encodeEvents(ids.map((id) => this.event(EventOp.FREE, id))));
    for (const id of ids) this.live.delete(id);
  }

  /** Answers a RESYNC_REQUEST with its whole live set, watermarked with its last sequence number. */
  sendSnapshot(): void {
    const allocations = [...this.live.keys()].map((id) => ({
      allocationId: id,
      memoryType: 0 as const,
      address: id * 4096,
      sizeBytes: 4096,
    }));
    this.raw.send(
      encodeSnapshotBegin({ deviceId: 0, watermarkSeq: this.seq, totalAllocations: allocations.length }),
    );
    if (allocations.length > 0) this.raw.send(encodeSnapshotChunk({ deviceId: 0, allocations }));
    this.raw.send(encodeSnapshotEnd({ deviceId: 0, watermarkSeq: this.seq }));
  }

  entry(summary: SummaryResponse = server.queries.summary()): ProcessDeviceUsage | undefined {
    return summary.processes.find((p) => p.sessionId === this.sessionId)?.devices[0];
  }

  private event(op: EventOp, id: number): AllocationEvent {
    return {
      op,
      deviceId: 0,
      memoryType: 0,
      seq: ++this.seq,
      allocationId: id,
      address: id * 4096,
      sizeBytes: 4096,
      timestampNs: 0,
    };
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test("past the per-session limit: refused, counted, marked; FREE of a refused one is no anomaly; a snapshot heals", async () => {
  const client = await TruthfulClient.open();
  const anomaliesBefore = server.queries.anomalies().total;
  client.allocate(range(1, 10)); // 2 past the per-session limit of 8
  await waitFor(() => client.entry()?.refusedAllocations === 2, { what: "ids 9 and 10 to be refused" });
  const { body } = await server.get("/api/v1/summary");
  const entry = (body as SummaryResponse).processes.find((p) => p.sessionId === client.sessionId)!
    .devices[0]!;
  assert.deepEqual(
    { allocations: entry.allocations, overLimit: entry.overLimit, refused: entry.refusedAllocations },
    { allocations: PER_SESSION, overLimit: true, refused: 2 },
  );
  assert.equal((body as SummaryResponse).devices.find((d) => d.id === 0)!.overLimit, true);
  assert.equal(body.server.overLimit, 1);
  assert.equal(body.server.maxLiveAllocationsPerSession, PER_SESSION);
  assert.equal(body.server.maxLiveAllocations, SERVER_WIDE);
  assert.ok(body.server.allocationsRefused >= 2);
  assert.ok(client.raw.isOpen, "the connection stays up");

  // Another session on the same device is untouched: exact and not marked.
  const other = await TruthfulClient.open();
  other.allocate([1, 2, 3]);
  await waitFor(() => other.entry()?.allocations === 3, { what: "the other session's allocations" });
  assert.equal(other.entry()!.overLimit, false);

  // /metrics: the refusal counter and the over-limit gauge.
  const metrics = parseExposition(await (await fetch(`${server.httpUrl}/metrics`)).text());
  const value = (name: string) => metrics.find((s) => s.name === name)?.value;
  assert.equal(value("allocwatch_allocations_refused_total"), body.server.allocationsRefused);
  assert.equal(value("allocwatch_over_limit"), 1);
  assert.equal(value("allocwatch_live_allocations_limit"), SERVER_WIDE);

  // The client frees a refused allocation (9) and two stored ones: 6 left, at the low-water mark (3/4
  // of 8), so the server asks for a snapshot. The FREE of 9 is excused, not UNKNOWN_FREE.
  client.free([9, 1, 2]);
  const request = (await client.raw.waitFor(
    (f) => f.type === FrameType.RESYNC_REQUEST,
    10_000,
  )) as ResyncRequestFrame;
  assert.equal(request.deviceId, 0);
  assert.match(request.reason, /live-allocation limit/);
  assert.equal(server.queries.anomalies().total, anomaliesBefore, "no anomaly for the refused one's FREE");
  assert.ok(server.queries.summary().server.freesExcused >= 1);
  assert.equal(client.entry()!.overLimit, true, "still marked until the snapshot");

  // The snapshot (ids 3..8 and 10: 7, under the limit) makes the view exact and clears the mark.
  client.sendSnapshot();
  await waitFor(() => client.entry()?.overLimit === false, { what: "the snapshot to clear the mark" });
  assert.equal(client.entry()!.allocations, client.live.size);
  const listed = await server.get(`/api/v1/devices/0/allocations?session=${client.sessionId}&limit=100`);
  assert.deepEqual(
    listed.body.allocations
      .map((a: { allocationId: number }) => a.allocationId)
      .sort((a: number, b: number) => a - b),
    [...client.live.keys()].sort((a, b) => a - b),
    "the live set is the client's again",
  );
  assert.equal(server.queries.summary().server.overLimit, 0);

  // Exact again: a FREE of an id that is not live is an anomaly once more.
  client.free([999]);
  await waitFor(() => server.queries.anomalies().byKind["UNKNOWN_FREE"] === 1, {
    what: "UNKNOWN_FREE once exact",
  });
  client.raw.destroy();
  other.raw.destroy();
  await waitFor(() => server.queries.summary().server.liveAllocations === 0, {
    what: "both sessions released",
  });
});

test("a snapshot larger than the limit is taken up to it; the device stays marked and asks again later", async () => {
  const client = await TruthfulClient.open();
  client.allocate(range(1, 11)); // 3 refused
  await waitFor(() => client.entry()?.refusedAllocations === 3, { what: "three refusals" });
  client.allocate(range(12, 13)); // 2 more refused: the client holds 13, the server 8
  await waitFor(() => client.entry()?.refusedAllocations === 5, { what: "five refusals" });
  client.free([1, 2]); // 6 stored: at the low-water mark
  await client.raw.waitFor((f) => f.type === FrameType.RESYNC_REQUEST, 10_000);
  const refusedBefore = server.queries.summary().server.allocationsRefused;
  client.sendSnapshot(); // 11 allocations: 8 taken, 3 refused
  await waitFor(
    () => server.queries.summary().server.snapshotsApplied >= 1 && client.entry()!.allocations === 8,
    {
      what: "the snapshot to be swapped in up to the limit",
    },
  );
  assert.equal(client.entry()!.overLimit, true, "still marked: the snapshot did not fit");
  assert.equal(server.queries.summary().server.allocationsRefused, refusedBefore + 3);

  // Frees bring it under the low-water mark again: asked again; a snapshot that now fits heals it.
  const requestsBefore = client.raw.frames.filter((f) => f.type === FrameType.RESYNC_REQUEST).length;
  client.free(range(3, 7)); // the client holds 6 now (8..13)
  await client.raw.waitFor(
    () => client.raw.frames.filter((f) => f.type === FrameType.RESYNC_REQUEST).length > requestsBefore,
  );
  client.sendSnapshot();
  await waitFor(() => client.entry()?.overLimit === false, {
    what: "the fitting snapshot to clear the mark",
  });
  assert.equal(client.entry()!.allocations, 6);
  assert.deepEqual(server.queries.anomalies().byKind["UNKNOWN_FREE"] ?? 0, 1, "only the previous test's one");
  client.raw.destroy();
  await waitFor(() => server.queries.summary().server.liveAllocations === 0, {
    what: "the session released",
  });
});

test("the server-wide limit: a second session's ALLOC past it is refused while the first keeps its own", async () => {
  const first = await TruthfulClient.open();
  const second = await TruthfulClient.open();
  first.allocate(range(1, 8)); // 8 of the server's 12
  await waitFor(() => first.entry()?.allocations === 8, { what: "the first session's 8" });
  second.allocate(range(1, 6)); // only 4 fit server-wide
  await waitFor(() => second.entry()?.refusedAllocations === 2, { what: "two server-wide refusals" });
  assert.equal(server.queries.summary().server.liveAllocations, SERVER_WIDE);
  assert.deepEqual(
    [first.entry()!.overLimit, second.entry()!.overLimit, second.entry()!.allocations],
    [false, true, 4],
  );
  // The first session frees 3: the server holds 9, the low-water mark (3/4 of 12): the second is asked.
  first.free([1, 2, 3]);
  await second.raw.waitFor((f) => f.type === FrameType.RESYNC_REQUEST, 10_000);
  second.sendSnapshot();
  await waitFor(() => second.entry()?.overLimit === false, { what: "the second session healed" });
  assert.equal(second.entry()!.allocations, 6);
  assert.equal(server.queries.summary().server.liveAllocations, 11);
  first.raw.destroy();
  second.raw.destroy();
  await waitFor(() => server.queries.summary().server.liveAllocations === 0, {
    what: "both sessions released",
  });
});

test("a session that ends over its limit: the leak report holds what was stored, never the refused ones", async () => {
  const client = await TruthfulClient.open();
  client.allocate(range(1, 10)); // 8 stored, 2 refused
  await waitFor(() => client.entry()?.refusedAllocations === 2, { what: "two refusals" });
  client.raw.destroy(); // the session ends holding its allocations (grace 0)
  await waitFor(
    () => server.queries.leaks(undefined, 100).reports.some((r) => r.sessionId === client.sessionId),
    {
      what: "the leak report",
    },
  );
  const report = server.queries.leaks(undefined, 100).reports.find((r) => r.sessionId === client.sessionId)!;
  assert.equal(report.allocations.DRAM, PER_SESSION);
  assert.equal(report.bytes.DRAM, PER_SESSION * 4096);
  assert.equal(report.overLimit, true, "the report says it is a lower bound");
  assert.equal(server.queries.summary().server.overLimit, 0, "the released session's mark is gone");
});

test("no second request while the asked snapshot is being received, whatever the session frees meanwhile", async () => {
  const sessionId = newSessionId();
  const raw = await RawClient.handshake(server.socketPath, {
    sessionId,
    devices: [TEST_DEVICE, { ...TEST_DEVICE, deviceId: 1 }],
  });
  const devices = () =>
    server.queries.summary().processes.find((p) => p.sessionId === sessionId)?.devices ?? [];
  // Device 1 holds seq 1..2 (ids 1, 2); device 0 gets 8 ALLOCs (ids 1..8), of which 6 fit the session's 8.
  raw.send(encodeEvents([testEvent(1, 1), testEvent(2, 1), ...range(1, 8).map((seq) => testEvent(seq, 0))]));
  await waitFor(() => devices().find((d) => d.id === 0)?.refusedAllocations === 2, {
    what: "device 0 marked",
  });
  const requests = () => raw.frames.filter((f) => f.type === FrameType.RESYNC_REQUEST).length;
  const free = (seq: number, deviceId: number, id: number) => ({
    ...testEvent(seq, deviceId, 2),
    allocationId: id,
    address: id * 4096,
  });
  raw.send(encodeEvents([free(9, 0, 1), free(10, 0, 2)])); // 6 left in the session: its low-water mark
  await raw.waitFor((f) => f.type === FrameType.RESYNC_REQUEST, 10_000);
  const asked = server.queries.summary().server.resyncRequests;
  raw.send(encodeSnapshotBegin({ deviceId: 0, watermarkSeq: 10, totalAllocations: 8 }));
  // Device 1 frees id 1 while the snapshot of device 0 is in progress: the session is under its low-water mark.
  raw.send(encodeEvents([free(3, 1, 1)]));
  await waitFor(() => devices().find((d) => d.id === 1)?.allocations === 1, {
    what: "device 1's FREE applied",
  });
  assert.equal(server.queries.summary().server.resyncRequests, asked, "not asked again mid-snapshot");
  assert.equal(requests(), 1);
  raw.destroy();
  await waitFor(() => server.queries.summary().server.liveAllocations === 0, {
    what: "the session released",
  });
});
