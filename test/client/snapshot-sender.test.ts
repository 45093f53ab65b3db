import assert from "node:assert/strict";
import { test } from "node:test";
import { ClientListeners } from "../../src/client/client-listeners.js";
import { DeviceResyncState } from "../../src/client/device-resync-state.js";
import type { ClientError } from "../../src/client/errors.js";
import { FlushWaiters } from "../../src/client/flush-waiters.js";
import { type FrameSink, SnapshotSender } from "../../src/client/snapshot-sender.js";
import type { ClientState, SnapshotSource } from "../../src/client/types.js";
import { waitFor } from "../support/wait-for.js";

/** The frames a sender queued, with the events each carries. */
class FrameList implements FrameSink {
  readonly frames: Uint8Array[] = [];
  events = 0;
  get length(): number {
    return this.frames.length;
  }
  push(frame: Uint8Array, eventCount: number): void {
    this.frames.push(frame);
    this.events += eventCount;
  }
}

function sender(source: SnapshotSource, state: { now: ClientState }) {
  const errors: ClientError[] = [];
  const devices = new DeviceResyncState([0, 1], true, () => {});
  const queue = new FrameList();
  const snapshots = new SnapshotSender({
    source,
    retryMs: 5,
    devices,
    queue,
    waiters: new FlushWaiters(() => {}),
    listeners: new ClientListeners((error) => errors.push(error), undefined),
    state: () => state.now,
  });
  return { snapshots, devices, queue, errors };
}

test("a snapshot is queued as BEGIN, chunk, END, and its seq becomes the device's watermark", () => {
  const { snapshots, devices, queue, errors } = sender(
    () => ({ seq: 7, allocations: [{ allocationId: 1, memoryType: 0, address: 0, sizeBytes: 64 }] }),
    { now: "ready" },
  );
  const track = devices.trackFor(1)!;
  devices.lose(track, 3);
  assert.ok(track.gated);
  snapshots.send(devices.takeNextResync()!, 1024 * 1024);
  assert.equal(queue.length, 3);
  assert.equal(queue.events, 0, "snapshot frames carry no events: they do not count against the event bound");
  assert.equal(snapshots.sent, 1);
  assert.equal(track.watermarkSeq, 7);
  assert.equal(track.gated, false);
  assert.deepEqual(errors, []);
});

test("a failing source is reported, queues nothing, and is asked again later while the client is ready", async () => {
  let calls = 0;
  const state = { now: "ready" as ClientState };
  const { snapshots, devices, queue, errors } = sender(() => {
    calls++;
    throw new Error("source broke");
  }, state);
  const track = devices.trackFor(0)!;
  devices.lose(track, 1);
  snapshots.send(devices.takeNextResync()!, 1024 * 1024);
  assert.equal(queue.length, 0);
  assert.equal(snapshots.sent, 0);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.code, "AWC_SNAPSHOT_FAILED");
  assert.equal(calls, 1);
  assert.equal(track.resyncPending, false);
  await waitFor(() => devices.pendingDevices().has(0), { what: "the retry to queue the device again" });
});

test("a retry that comes due while the client is not ready leaves the device to the next connection", async () => {
  const state = { now: "backoff" as ClientState };
  const { snapshots, devices } = sender(() => undefined, state);
  const track = devices.trackFor(0)!;
  devices.requestResync(track);
  snapshots.send(devices.takeNextResync()!, 1024 * 1024);
  // The retry clears the pending mark rather than queueing: the next connection resyncs every device.
  devices.requestResync(track); // marks it pending again, as a reconnect would
  await waitFor(() => !track.resyncPending, { what: "the retry to clear the pending mark" });
  snapshots.cancel();
});
