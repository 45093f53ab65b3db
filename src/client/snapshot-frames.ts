import { encodeSnapshotBegin, encodeSnapshotChunk, encodeSnapshotEnd } from "../protocol/encode-frame.js";
import type { LiveAllocation } from "../protocol/event.js";
import { maxAllocationsPerChunk } from "../protocol/layout.js";
import type { DeviceSnapshot, SnapshotSource } from "./types.js";

/**
 * Asks the source for the device's live set and encodes it for a server whose frame limit is
 * `maxFrameBytes`. Throws when the source fails, has nothing for the device, or states a seq that is not
 * a non-negative integer (the seq becomes the device's watermark), or when the wire cannot carry it.
 */
export function takeSnapshotFrames(
  source: SnapshotSource | undefined,
  deviceId: number,
  maxFrameBytes: number,
  contextOf?: (allocationId: number) => number,
): { seq: number; frames: Uint8Array[] } {
  const snapshot = source?.(deviceId);
  if (snapshot === undefined) throw new Error("the snapshot source returned nothing for this device");
  if (!Number.isSafeInteger(snapshot.seq) || snapshot.seq < 0) {
    throw new Error(`snapshot seq ${snapshot.seq} is not a non-negative integer`);
  }
  const frames = encodeSnapshotFrames(deviceId, snapshot, maxFrameBytes, contextOf);
  return { seq: snapshot.seq, frames };
}

/**
 * The frames of one device snapshot: SNAPSHOT_BEGIN, as many SNAPSHOT_CHUNKs as the server's frame limit
 * requires, SNAPSHOT_END. Throws ProtocolError for a snapshot the wire cannot carry (a bad source).
 * `contextOf` states each entry's context id (protocol version 3; absent or 0 = none).
 */
export function encodeSnapshotFrames(
  deviceId: number,
  snapshot: DeviceSnapshot,
  maxFrameBytes: number,
  contextOf?: (allocationId: number) => number,
): Uint8Array[] {
  const { seq, allocations } = snapshot;
  const total = allocations.length;
  const perChunk = maxAllocationsPerChunk(maxFrameBytes);
  const frames: Uint8Array[] = [
    encodeSnapshotBegin({ deviceId, watermarkSeq: seq, totalAllocations: total }),
  ];
  for (let start = 0; start < total; start += perChunk) {
    const end = Math.min(total, start + perChunk);
    const chunk: LiveAllocation[] = new Array(end - start);
    for (let i = start; i < end; i++) {
      // Copy only the wire fields: a source may hand out richer objects (banks, page size...).
      const a = allocations[i];
      const entry: LiveAllocation = {
        allocationId: a.allocationId,
        memoryType: a.memoryType,
        address: a.address,
        sizeBytes: a.sizeBytes,
      };
      const contextId = contextOf?.(a.allocationId) ?? 0;
      if (contextId !== 0) entry.contextId = contextId;
      chunk[i - start] = entry;
    }
    frames.push(encodeSnapshotChunk({ deviceId, allocations: chunk }));
  }
  frames.push(encodeSnapshotEnd({ deviceId, watermarkSeq: seq }));
  return frames;
}
