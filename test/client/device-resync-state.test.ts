import assert from "node:assert/strict";
import { test } from "node:test";
import { DeviceResyncState } from "../../src/client/device-resync-state.js";
import { ALL_DEVICES } from "../../src/protocol/frames.js";

/** Devices 0..9 announced. */
const ANNOUNCED = Array.from({ length: 10 }, (_, i) => i);

function state(
  healable: boolean,
  announced: readonly number[] = ANNOUNCED,
): { devices: DeviceResyncState; requested: () => number } {
  let requests = 0;
  const devices = new DeviceResyncState(announced, healable, () => requests++);
  return { devices, requested: () => requests };
}

/** Device ids in the order the resync queue hands them out. */
function drain(devices: DeviceResyncState): number[] {
  const order: number[] = [];
  for (let track = devices.takeNextResync(); track !== undefined; track = devices.takeNextResync()) {
    order.push(track.deviceId);
  }
  return order;
}

test("resync state: tracks exist only for the announced devices, and byId is the live index", () => {
  const { devices } = state(true);
  for (const bad of [-1, 1.5, Number.NaN, 10, 42, ALL_DEVICES, ALL_DEVICES + 1]) {
    assert.equal(devices.trackFor(bad), undefined, `id ${bad}`);
    assert.equal(devices.byId[bad as number], undefined, `id ${bad}`);
  }
  const track = devices.trackFor(5);
  assert.equal(devices.byId[5], track);
  assert.equal(devices.trackFor(5), track, "one track per device");
  assert.deepEqual(
    { ...track },
    { deviceId: 5, gated: false, resyncPending: false, watermarkSeq: 0, lostEvents: 0 },
  );
});

test("resync state: a loss gates a healable device once and queues one snapshot for it", () => {
  const { devices, requested } = state(true);
  const track = devices.trackFor(2)!;
  devices.lose(track, 1);
  devices.lose(track, 3);
  assert.equal(track.gated, true);
  assert.equal(track.lostEvents, 4);
  assert.equal(requested(), 1);
  assert.deepEqual(devices.dirtyDevices(), [2]);
  assert.deepEqual([...devices.pendingDevices()], [2]);
  assert.deepEqual(drain(devices), [2]);
  assert.equal(track.resyncPending, false);
  assert.equal(track.gated, true, "taking the device off the queue does not ungate it");
});

test("resync state: more losses of a gated device taken off the queue do not queue it again", () => {
  // The client took the device for a snapshot that failed: its retry is paced by a timer, not by losses.
  const { devices, requested } = state(true);
  const track = devices.trackFor(2)!;
  devices.lose(track, 1);
  assert.deepEqual(drain(devices), [2]);
  devices.lose(track, 1);
  assert.equal(requested(), 1);
  assert.deepEqual(drain(devices), []);
  assert.equal(track.lostEvents, 2);
});

test("resync state: without a snapshot source a loss is counted but nothing is gated or queued", () => {
  const { devices, requested } = state(false);
  const track = devices.trackFor(0)!;
  devices.lose(track, 2);
  assert.equal(track.gated, false);
  assert.equal(track.lostEvents, 2);
  assert.equal(requested(), 0);
  assert.deepEqual(drain(devices), []);
  assert.deepEqual(devices.dirtyDevices(), [0], "a device with lost events stays dirty");
});

test("resync state: a snapshot enqueued ungates the device, clears its loss and raises its watermark", () => {
  const { devices } = state(true);
  const track = devices.trackFor(1)!;
  devices.lose(track, 5);
  drain(devices);
  devices.snapshotEnqueued(track, 40);
  assert.deepEqual(
    { gated: track.gated, lostEvents: track.lostEvents, watermarkSeq: track.watermarkSeq },
    { gated: false, lostEvents: 0, watermarkSeq: 40 },
  );
  assert.deepEqual(devices.dirtyDevices(), []);
  // An older snapshot never moves the watermark back.
  devices.snapshotEnqueued(track, 12);
  assert.equal(track.watermarkSeq, 40);
});

test("resync state: dirty devices are listed ascending, whatever the order they were seen in", () => {
  const { devices } = state(false);
  for (const id of [9, 3, 7, 1]) devices.trackFor(id);
  for (const id of [9, 1, 7]) devices.lose(devices.byId[id]!, 1);
  assert.deepEqual(devices.dirtyDevices(), [1, 7, 9]);
});

test("resync state: the resync queue keeps request order and holds each device once", () => {
  const { devices, requested } = state(true);
  for (const id of [4, 2, 8]) devices.trackFor(id);
  devices.requestResyncOf(8);
  devices.requestResyncOf(4);
  devices.requestResyncOf(8);
  assert.equal(requested(), 2);
  assert.deepEqual(drain(devices), [8, 4]);
  // Once taken, a device may be queued again.
  devices.requestResyncOf(8);
  assert.deepEqual(drain(devices), [8]);
});

test("resync state: a resync request does not gate; ALL_DEVICES asks for every known device", () => {
  const { devices } = state(true, [3, 1, 6]);
  devices.requestResyncOf(ALL_DEVICES);
  assert.equal(devices.byId[3]!.gated, false);
  assert.deepEqual(drain(devices), [3, 1, 6]);
  // A request for one device queues it; an id the client did not announce is ignored.
  devices.requestResyncOf(6);
  devices.requestResyncOf(-4);
  devices.requestResyncOf(7);
  assert.deepEqual(drain(devices), [6]);
});

test("resync state: a lost connection gates and queues every device when a source can heal them", () => {
  const { devices } = state(true, [0, 5]);
  devices.connectionLost(false);
  assert.deepEqual(devices.dirtyDevices(), [0, 5]);
  assert.deepEqual(drain(devices), [0, 5]);
});

test("resync state: without a source a lost connection marks every device lossy only if events were lost", () => {
  const { devices } = state(false, [0, 5]);
  devices.connectionLost(false);
  assert.deepEqual(devices.dirtyDevices(), []);
  devices.connectionLost(true);
  assert.deepEqual(devices.dirtyDevices(), [0, 5]);
  assert.deepEqual(drain(devices), []);
});

test("resync state: gateAll and loseOnEveryDevice reach every known device", () => {
  const healable = state(true, [2, 4]).devices;
  healable.loseOnEveryDevice(0);
  assert.deepEqual(healable.dirtyDevices(), [2, 4], "a 0-event loss still gates");
  const initial = state(true, [6, 1]).devices;
  initial.gateAll();
  assert.deepEqual(drain(initial), [6, 1]);
  assert.equal(initial.byId[6]!.gated, true);
});

test("resync state: clearPending lets a device be queued again", () => {
  const { devices } = state(true);
  const track = devices.trackFor(3)!;
  devices.requestResync(track);
  devices.clearPending(track);
  assert.equal(track.resyncPending, false);
  assert.deepEqual([...devices.pendingDevices()], []);
});
