import type { LiveAllocation } from "./event.js";

/**
 * Native protocol frames (decoded form). The byte layout is specified in docs/PROTOCOL.md.
 * Every frame on the wire is: u32 LE length (bytes after this field) · u8 frame type · payload.
 */
export const FrameType = {
  /** client → server, first frame of every connection. */
  HELLO: 1,
  /** server → client, answer to HELLO: the connection is accepted. */
  WELCOME: 2,
  /** client → server: a batch of fixed-size event records. */
  EVENTS: 3,
  /** client → server: start of a device snapshot (resync). */
  SNAPSHOT_BEGIN: 4,
  /** client → server: some live allocations of the snapshot in progress. */
  SNAPSHOT_CHUNK: 5,
  /** client → server: end of a device snapshot; the server swaps it in. */
  SNAPSHOT_END: 6,
  /** server → client: please send a snapshot of a device (gap timeout, server restart...). */
  RESYNC_REQUEST: 7,
  /** server → client, last frame before the server closes the connection. */
  ERROR: 8,
  /** client → server: the process is ending cleanly; release its memory now. */
  GOODBYE: 9,
  /** client → server, version 3 and later: defines an allocation context (id → text) for the session. */
  CONTEXT: 10,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const PROTOCOL_MAGIC = 0x48435741; // "AWCH" as LE u32 bytes: 41 57 43 48
/**
 * The version clients send: its HELLO carries a resume secret (docs/PROTOCOL.md §3.1, §9) and its
 * connection may carry allocation contexts (CONTEXT frames, a context id in ALLOC records, §3.8).
 */
export const PROTOCOL_VERSION = 3;
/** Versions this implementation decodes and a server accepts; version 1's HELLO has no resume secret. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1, 2, 3];
/** First version whose connections carry allocation contexts (docs/PROTOCOL.md §3.8). */
export const CONTEXTS_MIN_VERSION = 3;
/** The newest version without contexts: what a client falls back to when a server refuses version 3. */
export const PRE_CONTEXT_VERSION = 2;

/** Whether a connection of `version` carries allocation contexts. */
export function carriesContexts(version: number): boolean {
  return version >= CONTEXTS_MIN_VERSION;
}
/** Default and hard ceiling for one frame (length field value), bytes. */
export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;

/** Capacity of one device, as the client describes it. */
export interface DeviceDescriptor {
  deviceId: number;
  name: string;
  architecture: string;
  /** Capacity per memory type in bytes, indexed by MemoryType (length MEMORY_TYPE_COUNT). 0 = none. */
  capacityBytes: number[];
}

export interface HelloFrame {
  type: typeof FrameType.HELLO;
  version: number;
  /** 32 lowercase hex characters (16 random bytes), chosen by the client once per process. */
  sessionId: string;
  /**
   * Version 2 and later: 32 lowercase hex characters (16 random bytes) chosen with the session id and
   * known only to the process; every later HELLO of the session must repeat it. Absent in version 1.
   */
  resumeSecret?: string;
  pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22); 0 when unknown. */
  processStartTicks: number;
  processName: string;
  devices: DeviceDescriptor[];
}

export interface WelcomeFrame {
  type: typeof FrameType.WELCOME;
  version: number;
  /** Largest frame the server accepts, bytes. */
  maxFrameBytes: number;
}

export interface EventsFrame {
  type: typeof FrameType.EVENTS;
  count: number;
  /**
   * The records, count × EVENT_RECORD_BYTES bytes. A view into the decoder's buffer: valid only
   * during the callback that received the frame; copy what you keep.
   */
  records: Uint8Array;
}

export interface SnapshotBeginFrame {
  type: typeof FrameType.SNAPSHOT_BEGIN;
  deviceId: number;
  /** The device's sequence number the snapshot reflects: every change with seq <= watermark is in it. */
  watermarkSeq: number;
  /** Number of live allocations that the chunks will carry. */
  totalAllocations: number;
}

export interface SnapshotChunkFrame {
  type: typeof FrameType.SNAPSHOT_CHUNK;
  deviceId: number;
  allocations: LiveAllocation[];
}

export interface SnapshotEndFrame {
  type: typeof FrameType.SNAPSHOT_END;
  deviceId: number;
  watermarkSeq: number;
}

export interface ResyncRequestFrame {
  type: typeof FrameType.RESYNC_REQUEST;
  /** Device to resync, or ALL_DEVICES. */
  deviceId: number;
  reason: string;
}
export const ALL_DEVICES = 0xffff;

export interface ErrorFrame {
  type: typeof FrameType.ERROR;
  /** A stable ProtocolErrorCode (or server error code). */
  code: string;
  message: string;
}

export interface GoodbyeFrame {
  type: typeof FrameType.GOODBYE;
}

/**
 * Version 3: names allocation context `contextId` (1 ..= 2^32 − 1) of the session: the operation or
 * label that later ALLOC records and snapshot entries cite by id (0 = none).
 */
export interface ContextFrame {
  type: typeof FrameType.CONTEXT;
  contextId: number;
  /** UTF-8, at most MAX_CONTEXT_BYTES bytes (e.g. "ttnn.matmul"). */
  text: string;
}

export type Frame =
  | HelloFrame
  | WelcomeFrame
  | EventsFrame
  | SnapshotBeginFrame
  | SnapshotChunkFrame
  | SnapshotEndFrame
  | ResyncRequestFrame
  | ErrorFrame
  | GoodbyeFrame
  | ContextFrame;
