import assert from "node:assert/strict";
import { test } from "node:test";
import { takeSnapshotFrames } from "../../src/client/snapshot-frames.js";
import type { DeviceSnapshot, LiveAllocation } from "../../src/client/types.js";
import { decodeFrames } from "../../src/protocol/frame-decoder.js";
import { FrameType } from "../../src/protocol/frames.js";
import { maxAllocationsPerChunk } from "../../src/protocol/layout.js";
import { MemoryType } from "../../src/protocol/memory-type.js";

const MAX_FRAME_BYTES = 1 << 20;

function allocation(id: number): LiveAllocation {
  return { allocationId: id, memoryType: MemoryType.DRAM, address: id * 4096, sizeBytes: 4096 };
}

test("snapshot taking: the source's live set becomes BEGIN, chunks within the frame limit, END", () => {
  // The smallest frame limit a server may announce (in WELCOME) forces several chunks.
  const maxFrameBytes = 1024;
  const perChunk = maxAllocationsPerChunk(maxFrameBytes);
  assert.ok(perChunk >= 1);
  const allocations = Array.from({ length: perChunk * 2 + 1 }, (_, i) => ({ ...allocation(i + 1), bank: 3 }));
  const asked: number[] = [];
  const taken = takeSnapshotFrames(
    (deviceId) => {
      asked.push(deviceId);
      return { seq: 77, allocations };
    },
    6,
    maxFrameBytes,
  );
  assert.deepEqual(asked, [6]);
  assert.equal(taken.seq, 77);
  const bytes = Buffer.concat(taken.frames);
  const { frames, error } = decodeFrames(bytes, { maxFrameBytes });
  assert.equal(error, undefined);
  assert.deepEqual(
    frames.map((f) => f.type),
    [
      FrameType.SNAPSHOT_BEGIN,
      FrameType.SNAPSHOT_CHUNK,
      FrameType.SNAPSHOT_CHUNK,
      FrameType.SNAPSHOT_CHUNK,
      FrameType.SNAPSHOT_END,
    ],
  );
  assert.deepEqual(frames[0], {
    type: FrameType.SNAPSHOT_BEGIN,
    deviceId: 6,
    watermarkSeq: 77,
    totalAllocations: allocations.length,
  });
  const carried = frames.flatMap((f) => (f.type === FrameType.SNAPSHOT_CHUNK ? f.allocations : []));
  // Only the wire fields travel (`bank` is the source's own).
  assert.deepEqual(
    carried,
    allocations.map((a) => allocation(a.allocationId)),
  );
  assert.deepEqual(frames[4], { type: FrameType.SNAPSHOT_END, deviceId: 6, watermarkSeq: 77 });
});

test("snapshot taking: an empty live set is BEGIN then END", () => {
  const taken = takeSnapshotFrames(() => ({ seq: 0, allocations: [] }), 0, MAX_FRAME_BYTES);
  assert.deepEqual(
    decodeFrames(Buffer.concat(taken.frames)).frames.map((f) => f.type),
    [FrameType.SNAPSHOT_BEGIN, FrameType.SNAPSHOT_END],
  );
});

test("snapshot taking: a source with nothing, a bad seq, or a failure is an error, not frames", () => {
  assert.throws(() => takeSnapshotFrames(() => undefined, 1, MAX_FRAME_BYTES), /returned nothing/);
  assert.throws(() => takeSnapshotFrames(undefined, 1, MAX_FRAME_BYTES), /returned nothing/);
  for (const seq of [-1, 1.5, Number.NaN, 2 ** 53]) {
    const source = (): DeviceSnapshot => ({ seq, allocations: [] });
    assert.throws(
      () => takeSnapshotFrames(source, 1, MAX_FRAME_BYTES),
      /not a non-negative integer/,
      `seq ${seq}`,
    );
  }
  const failure = new Error("allocator lock timed out");
  assert.throws(
    () =>
      takeSnapshotFrames(
        () => {
          throw failure;
        },
        1,
        MAX_FRAME_BYTES,
      ),
    (e) => e === failure,
  );
});
