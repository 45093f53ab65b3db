/**
 * Anomaly kinds: what the server noticed in a client's reports. Each is counted; the most recent are
 * kept in a bounded list (AnomalyLog). The values are stable: the HTTP API reports them as they are.
 */
export const AnomalyKind = {
  /** ALLOC of an allocation id that is already live in its (session, device). */
  DUPLICATE_ALLOCATION: "DUPLICATE_ALLOCATION",
  /** FREE of an allocation id that is not live. */
  UNKNOWN_FREE: "UNKNOWN_FREE",
  /** FREE whose memory type or size differs from the ALLOC's (the stored values win). */
  FREE_MISMATCH: "FREE_MISMATCH",
  /**
   * Two live allocations of one session start at the same address of one (device, memory type) region
   * (the seed's address-reuse bug signature).
   */
  ADDRESS_OVERLAP: "ADDRESS_OVERLAP",
  /**
   * ALLOC of 0 bytes (recorded, so that its FREE pairs up). tt-metal never asks the allocator for a
   * zero-size buffer, so no runtime reports one: the reporting is wrong somewhere.
   */
  ZERO_SIZE_ALLOCATION: "ZERO_SIZE_ALLOCATION",
  /**
   * ALLOC that would take a device's total of one memory type past 2^53 − 1 bytes, where float64
   * arithmetic stops being exact; not recorded, so every total stays exact.
   */
  TOTAL_OVERFLOW: "TOTAL_OVERFLOW",
  /** Two sessions describe one device id differently (the first description stays). */
  DESCRIPTOR_CONFLICT: "DESCRIPTOR_CONFLICT",
  /** An event whose sequence number was already applied (and no snapshot covers it). */
  DUPLICATE_SEQ: "DUPLICATE_SEQ",
  /**
   * A run of missing sequence numbers in a complete stream (`allocwatch race` replays). The live server
   * counts a missing number it gives up on as a transport recovery (RecoveryKind.GAP_TIMEOUT) instead:
   * the snapshot it asks for keeps the view exact.
   */
  SEQUENCE_GAP: "SEQUENCE_GAP",
  /**
   * No longer recorded: an event too far ahead of the missing one, or beyond the reorder budget, is a
   * transport recovery (RecoveryKind.FAR_AHEAD, RecoveryKind.REORDER_OVERFLOW). Kept so that the value
   * keeps its meaning for readers of older counts.
   */
  REORDER_OVERFLOW: "REORDER_OVERFLOW",
  /**
   * A snapshot that disagrees with itself (count, watermark, more than the server takes). One cut off by
   * its connection closing is not one: that is the recovery SNAPSHOT_INTERRUPTED.
   */
  SNAPSHOT_INVALID: "SNAPSHOT_INVALID",
  /** A connection sent bytes the protocol refuses; it got an ERROR frame and was closed. */
  PROTOCOL_ERROR: "PROTOCOL_ERROR",
  /**
   * An ALLOC record or snapshot entry cites a context id the session never defined (CONTEXT frame); the
   * allocation is recorded without a context.
   */
  UNKNOWN_CONTEXT: "UNKNOWN_CONTEXT",
  /** A CONTEXT frame past the session's limit of contexts (default 4096); the definition was dropped. */
  CONTEXT_LIMIT: "CONTEXT_LIMIT",
  /** A CONTEXT frame redefines an id with another text; the first text stays. */
  CONTEXT_CONFLICT: "CONTEXT_CONFLICT",
  // Legacy tt-metal protocol only (src/server/legacy).
  /** Legacy frame with its device id out of range; the frame was ignored. */
  INVALID_DEVICE_ID: "INVALID_DEVICE_ID",
  /** Legacy frame with its size out of range; the frame was ignored. */
  INVALID_SIZE: "INVALID_SIZE",
  /** Legacy frame with its buffer type out of range; the frame was ignored. */
  INVALID_BUFFER_TYPE: "INVALID_BUFFER_TYPE",
  /** Legacy frame with its buffer id out of range; the frame was ignored. */
  INVALID_BUFFER_ID: "INVALID_BUFFER_ID",
  /** Legacy frame with its pid out of range (not 1..4194304); the frame was ignored. */
  INVALID_PID: "INVALID_PID",
  /**
   * A legacy frame on the frame grid skipped whole (unknown or server-to-client type), or cut off by
   * the end of the stream; the connection continues.
   */
  LEGACY_BAD_FRAME: "LEGACY_BAD_FRAME",
  /**
   * A legacy connection lost the frame grid (garbage, a partial write, another layout): bytes were
   * discarded until a plausible frame boundary and decoding resumed there. One per episode.
   */
  LEGACY_QUARANTINE: "LEGACY_QUARANTINE",
  /**
   * A legacy memory frame naming a process_id that is neither the connection's own process (the
   * kernel's word) nor one of its threads; the frame was ignored.
   */
  LEGACY_PID_MISMATCH: "LEGACY_PID_MISMATCH",
  /** A FREE held by the reorder window met a late ALLOC of the same key; both dropped. */
  REORDERED_FREE: "REORDERED_FREE",
} as const;
export type AnomalyKind = (typeof AnomalyKind)[keyof typeof AnomalyKind];
