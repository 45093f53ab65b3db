/**
 * Why a tt-metal shared-memory region could not be decoded, each with a stable string code (callers
 * and tests match on `code`, never on `message`). A problem is a value, not a thrown error: a region is
 * read ten times a second while its writers work on it, so most problems are transient states.
 * docs/PROTOCOL.md ("tt-metal shared-memory regions") lists them.
 */
export const TtShmProblemCode = {
  /** Fewer bytes than the layout of the version the region states (or than a version field). */
  TOO_SHORT: "TT_SHM_TOO_SHORT",
  /** A version this reader has no layout for. */
  UNKNOWN_VERSION: "TT_SHM_UNKNOWN_VERSION",
  /** Version 0 (a zero-filled region nobody finished initialising), or v4 `init_state` not READY yet. */
  INITIALISING: "TT_SHM_INITIALISING",
  /** A field no writer produces (a counter >= 2^53, an absurd device id or pid...): torn or garbage content. */
  IMPLAUSIBLE: "TT_SHM_IMPLAUSIBLE",
} as const;
export type TtShmProblemCode = (typeof TtShmProblemCode)[keyof typeof TtShmProblemCode];

export interface TtShmProblem {
  readonly code: TtShmProblemCode;
  /** For people: what was found, with the field and its offset where there is one. */
  readonly message: string;
}
