// Shared fixtures of the protocol tests: byte helpers, a chunking-aware decode, and fast-check
// arbitraries for every frame type. Not a test file itself.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ProtocolError } from "../../src/protocol/errors.js";
import type { AllocationEvent, LiveAllocation } from "../../src/protocol/event.js";
import type { EventBatchEncoder } from "../../src/protocol/event-batch-encoder.js";
import { FrameDecoder, type FrameDecoderOptions } from "../../src/protocol/frame-decoder.js";
import {
  type DeviceDescriptor,
  type Frame,
  FrameType,
  type HelloFrame,
  PROTOCOL_VERSION,
} from "../../src/protocol/frames.js";
import {
  MAX_ARCHITECTURE_BYTES,
  MAX_DEVICE_NAME_BYTES,
  MAX_PROCESS_NAME_BYTES,
} from "../../src/protocol/layout.js";
import { MEMORY_TYPE_COUNT, type MemoryType } from "../../src/protocol/memory-type.js";

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes from hex text; whitespace and `#` comments to the end of a line are ignored. */
export function fromHex(text: string): Uint8Array {
  const digits = text.replace(/#[^\n]*/g, "").replace(/\s+/g, "");
  if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) throw new Error(`bad hex: ${digits}`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A frame with a correct length field around an arbitrary type byte and payload. */
export function rawFrame(type: number, payload: ArrayLike<number> = []): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  new DataView(out.buffer).setUint32(0, 1 + payload.length, true);
  out[4] = type;
  out.set(payload, 5);
  return out;
}

/** A comparable form of a frame: EVENTS records as hex (the decoder's view is only valid in the callback). */
export type PlainFrame =
  | Exclude<Frame, { type: typeof FrameType.EVENTS }>
  | { type: 3; count: number; records: string };

export function plain(frame: Frame): PlainFrame {
  return frame.type === FrameType.EVENTS
    ? { type: FrameType.EVENTS, count: frame.count, records: hex(frame.records) }
    : frame;
}

export interface DecodeOutcome {
  frames: PlainFrame[];
  /** Error code, or undefined when the stream decoded cleanly to its end. */
  code: string | undefined;
}

/**
 * Feeds `bytes` cut at `cuts` (sorted or not, out-of-range ignored), then end(). Any exception other
 * than a returned ProtocolError escapes, which is what the robustness tests look for.
 */
export function decodeChunked(
  bytes: Uint8Array,
  cuts: number[] = [],
  options?: FrameDecoderOptions,
): DecodeOutcome {
  const decoder = new FrameDecoder(options);
  const frames: PlainFrame[] = [];
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  points.push(bytes.length);
  let start = 0;
  let error: ProtocolError | undefined;
  for (const point of points) {
    error = decoder.feed(bytes.subarray(start, point), (f) => frames.push(plain(f)));
    start = point;
    if (error !== undefined) break;
  }
  error ??= decoder.end();
  if (error !== undefined && !(error instanceof ProtocolError)) throw new Error("non-ProtocolError returned");
  return { frames, code: error?.code };
}

/** Feeds one byte at a time. */
export function decodeByteByByte(bytes: Uint8Array, options?: FrameDecoderOptions): DecodeOutcome {
  return decodeChunked(
    bytes,
    Array.from({ length: bytes.length }, (_, i) => i),
    options,
  );
}

// ---- arbitraries --------------------------------------------------------------------------------

const utf8 = new TextEncoder();

/** Well-formed strings (no lone surrogates: they cannot round-trip) whose UTF-8 fits in `maxBytes`. */
export function arbText(maxBytes: number): fc.Arbitrary<string> {
  return fc
    .string({ unit: "binary", maxLength: Math.ceil(maxBytes / 2) })
    .filter((s) => utf8.encode(s).length <= maxBytes && new TextDecoder().decode(utf8.encode(s)) === s);
}

export const arbU64 = fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1));
export const arbDeviceId = fc.integer({ min: 0, max: 0xfffe });
export const arbMemoryType = fc.integer({ min: 0, max: MEMORY_TYPE_COUNT - 1 }) as fc.Arbitrary<MemoryType>;
export const arbSessionId = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(hex);

export const arbEvent: fc.Arbitrary<AllocationEvent> = fc.record(
  {
    op: fc.constantFrom(1 as const, 2 as const),
    deviceId: arbDeviceId,
    memoryType: arbMemoryType,
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    allocationId: arbU64,
    address: arbU64,
    sizeBytes: arbU64,
    timestampNs: arbU64,
  },
  { noNullPrototype: true },
);

export const arbLiveAllocation: fc.Arbitrary<LiveAllocation> = fc.record(
  {
    allocationId: arbU64,
    memoryType: arbMemoryType,
    address: arbU64,
    sizeBytes: arbU64,
  },
  { noNullPrototype: true },
);

export const arbDevice: fc.Arbitrary<DeviceDescriptor> = fc.record(
  {
    deviceId: arbDeviceId,
    name: arbText(MAX_DEVICE_NAME_BYTES),
    architecture: arbText(MAX_ARCHITECTURE_BYTES),
    capacityBytes: fc.array(arbU64, { minLength: MEMORY_TYPE_COUNT, maxLength: MEMORY_TYPE_COUNT }),
  },
  { noNullPrototype: true },
);

const arbHelloFields = {
  type: fc.constant(FrameType.HELLO),
  sessionId: arbSessionId,
  pid: fc.integer({ min: 0, max: 0xffffffff }),
  processStartTicks: arbU64,
  processName: arbText(MAX_PROCESS_NAME_BYTES),
  devices: fc.uniqueArray(arbDevice, { selector: (d) => d.deviceId, maxLength: 6 }),
};

/** HELLO of the current version (with a resume secret) or of version 1 (without). */
export const arbHello: fc.Arbitrary<HelloFrame> = fc.oneof(
  fc.record(
    { ...arbHelloFields, version: fc.constant(PROTOCOL_VERSION), resumeSecret: arbSessionId },
    { noNullPrototype: true },
  ),
  fc.record({ ...arbHelloFields, version: fc.constant(1) }, { noNullPrototype: true }),
);

const ERROR_CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";

/** Every frame type, EVENTS in decoded form with its records encoded from `events`. */
export const arbFrame: fc.Arbitrary<Frame> = fc.oneof(
  arbHello,
  fc.record(
    {
      type: fc.constant(FrameType.WELCOME),
      version: fc.constantFrom(1, PROTOCOL_VERSION),
      maxFrameBytes: fc.integer({ min: 1024, max: 1 << 20 }),
    },
    { noNullPrototype: true },
  ),
  fc.array(arbEvent, { maxLength: 40 }).map((events) => eventsFrame(events)),
  fc.record(
    {
      type: fc.constant(FrameType.SNAPSHOT_BEGIN),
      deviceId: arbDeviceId,
      watermarkSeq: arbU64,
      totalAllocations: fc.integer({ min: 0, max: 0xffffffff }),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      type: fc.constant(FrameType.SNAPSHOT_CHUNK),
      deviceId: arbDeviceId,
      allocations: fc.array(arbLiveAllocation, { maxLength: 40 }),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    { type: fc.constant(FrameType.SNAPSHOT_END), deviceId: arbDeviceId, watermarkSeq: arbU64 },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      type: fc.constant(FrameType.RESYNC_REQUEST),
      deviceId: fc.integer({ min: 0, max: 0xffff }),
      reason: arbText(1024),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      type: fc.constant(FrameType.ERROR),
      code: fc
        .tuple(
          fc.constantFrom(...ERROR_CODE_CHARS.slice(0, 26)),
          fc.string({ unit: fc.constantFrom(...ERROR_CODE_CHARS), maxLength: 63 }),
        )
        .map(([first, rest]) => first + rest),
      message: arbText(4096),
    },
    { noNullPrototype: true },
  ),
  fc.constant({ type: FrameType.GOODBYE }),
) as fc.Arbitrary<Frame>;

/** The decoded EVENTS frame for `events` (records laid out as docs/PROTOCOL.md says, via DataView). */
export function eventsFrame(events: readonly AllocationEvent[]): Frame {
  const records = new Uint8Array(events.length * 48);
  const view = new DataView(records.buffer);
  events.forEach((e, i) => {
    const o = i * 48;
    view.setUint8(o, e.op);
    view.setUint8(o + 1, e.memoryType);
    view.setUint16(o + 2, e.deviceId, true);
    view.setUint32(o + 4, 0, true);
    view.setBigUint64(o + 8, BigInt(e.seq), true);
    view.setBigUint64(o + 16, BigInt(e.allocationId), true);
    view.setBigUint64(o + 24, BigInt(e.address), true);
    view.setBigUint64(o + 32, BigInt(e.sizeBytes), true);
    view.setBigUint64(o + 40, BigInt(e.timestampNs), true);
  });
  return { type: FrameType.EVENTS, count: events.length, records };
}

/** Appends `events` to `encoder` (no context), asserting that the encoder accepts every one. */
export function appendEvents(encoder: EventBatchEncoder, events: readonly AllocationEvent[]): void {
  for (const e of events) {
    assert.ok(
      encoder.append(
        e.op,
        e.deviceId,
        e.memoryType,
        e.seq,
        e.allocationId,
        e.address,
        e.sizeBytes,
        e.timestampNs,
      ),
    );
  }
}
