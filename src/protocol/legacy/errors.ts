/**
 * Every way a legacy (original tt-metal `AllocMessage`) byte stream can be wrong, each with a stable
 * string code. Callers match on `code`, never on `message`. docs/PROTOCOL.md (L4) lists them.
 *
 * None of them ends a connection (a tt-metal client writes without MSG_NOSIGNAL: a closed socket kills
 * it with SIGPIPE). Two kinds, decided by whether the frame grid can still be trusted:
 * - a *bad frame* is a frame-sized block that sits on the grid but cannot be used (unknown type, a
 *   response type sent to the server): it is skipped whole and counted;
 * - a *quarantine* means the stream can no longer be cut into frames with confidence (a zero type
 *   byte, non-zero padding, data where a request must carry zeros, first bytes that start no frame):
 *   bytes are discarded until a plausible frame boundary, where decoding resumes.
 */
export const LegacyProtocolErrorCode = {
  /** Type byte 13..255 in an otherwise well-formed frame (pads and response fields zero). Skipped. */
  UNKNOWN_TYPE: "LEGACY_UNKNOWN_TYPE",
  /** RESPONSE or DEVICE_INFO_RESPONSE sent to the server. Skipped. */
  UNEXPECTED_TYPE: "LEGACY_UNEXPECTED_TYPE",
  /**
   * Quarantine: type byte 0, non-zero pad bytes, or non-zero response fields in a request. No client of
   * the original protocol sends this (every one zero-fills the struct), so the stream is misaligned,
   * uses another layout, or carries garbage.
   */
  MALFORMED_FRAME: "LEGACY_MALFORMED_FRAME",
  /** Quarantine (auto layout): the first bytes start no frame of any layout. */
  LAYOUT_UNDETECTED: "LEGACY_LAYOUT_UNDETECTED",
  /** The stream ended inside a frame. */
  TRUNCATED_FRAME: "LEGACY_TRUNCATED_FRAME",
  /** An encoder or decoder option was given a value it cannot represent: a bug in the caller. */
  INVALID_VALUE: "LEGACY_INVALID_VALUE",
} as const;
export type LegacyProtocolErrorCode = (typeof LegacyProtocolErrorCode)[keyof typeof LegacyProtocolErrorCode];

export class LegacyProtocolError extends Error {
  override readonly name = "LegacyProtocolError";
  readonly code: LegacyProtocolErrorCode;
  /** Byte offset of the offending frame from the start of the stream, or -1 when not about a frame. */
  readonly streamOffset: number;

  constructor(code: LegacyProtocolErrorCode, message: string, streamOffset = -1) {
    super(message);
    this.code = code;
    this.streamOffset = streamOffset;
  }
}

export function isLegacyProtocolError(value: unknown): value is LegacyProtocolError {
  return value instanceof LegacyProtocolError;
}
