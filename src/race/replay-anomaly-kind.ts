import { AnomalyKind } from "../server/anomaly-kind.js";

/**
 * The anomaly kinds a replay finds: a subset of the server's AnomalyKind (one vocabulary), so a race
 * report and a server's anomaly counts name the same thing the same way. The replay judges a stream as a
 * whole, so its checks are wider than the live server's where noted.
 */
export const ReplayAnomalyKind = {
  /** A FREE whose identity is not live (the seed's "Deallocation for unknown buffer"). */
  UNKNOWN_FREE: AnomalyKind.UNKNOWN_FREE,
  /** An ALLOC whose identity is already live. */
  DUPLICATE_ALLOCATION: AnomalyKind.DUPLICATE_ALLOCATION,
  /**
   * An ALLOC whose bank range intersects another live allocation of the same address space (memory type
   * or region); the server only sees two allocations starting at one address.
   */
  ADDRESS_OVERLAP: AnomalyKind.ADDRESS_OVERLAP,
  /**
   * A FREE that disagrees with its ALLOC; the detail says which: its size (any mode), or its address
   * (ordered mode only). One anomaly per disagreement.
   */
  FREE_MISMATCH: AnomalyKind.FREE_MISMATCH,
  /** A run of missing sequence numbers (ordered mode only; one anomaly per run). */
  SEQUENCE_GAP: AnomalyKind.SEQUENCE_GAP,
  /** The same sequence number reported twice (ordered mode only). */
  DUPLICATE_SEQ: AnomalyKind.DUPLICATE_SEQ,
} as const;
export type ReplayAnomalyKind = (typeof ReplayAnomalyKind)[keyof typeof ReplayAnomalyKind];
export const REPLAY_ANOMALY_KINDS: readonly ReplayAnomalyKind[] = Object.values(ReplayAnomalyKind);
