/**
 * Every way a native-protocol byte stream (or an encoder's input) can be wrong, each with a stable
 * string code. Callers match on `code`, never on `message`. docs/PROTOCOL.md lists them with their meaning.
 */
export const ProtocolErrorCode = {
  /** The length field exceeds the frame limit. Detected from the 4 length bytes alone, before buffering. */
  FRAME_TOO_LARGE: "PROTO_FRAME_TOO_LARGE",
  /** The length field is 0: a frame must at least carry its type byte. */
  EMPTY_FRAME: "PROTO_EMPTY_FRAME",
  /** The frame type byte is not one this version defines. */
  UNKNOWN_FRAME_TYPE: "PROTO_UNKNOWN_FRAME_TYPE",
  /** The frame ends before a field its type requires. */
  FRAME_TOO_SHORT: "PROTO_FRAME_TOO_SHORT",
  /** The frame is longer than its fields (trailing bytes), or a record count disagrees with the length. */
  LENGTH_MISMATCH: "PROTO_LENGTH_MISMATCH",
  /** HELLO or WELCOME does not start with PROTOCOL_MAGIC. */
  BAD_MAGIC: "PROTO_BAD_MAGIC",
  /** HELLO or WELCOME names a protocol version this side does not speak. */
  UNSUPPORTED_VERSION: "PROTO_UNSUPPORTED_VERSION",
  /** An event record's op is neither ALLOC nor FREE. */
  INVALID_OP: "PROTO_INVALID_OP",
  /** A memory type byte is >= MEMORY_TYPE_COUNT. */
  INVALID_MEMORY_TYPE: "PROTO_INVALID_MEMORY_TYPE",
  /** A device id is 0xFFFF (reserved for ALL_DEVICES) where a single device is required. */
  INVALID_DEVICE_ID: "PROTO_INVALID_DEVICE_ID",
  /** A u64 field is >= 2^53 (JavaScript numbers cannot hold it exactly). */
  U64_OUT_OF_RANGE: "PROTO_U64_OUT_OF_RANGE",
  /** A reserved field is not zero. */
  RESERVED_NOT_ZERO: "PROTO_RESERVED_NOT_ZERO",
  /** An event's sequence number is 0 (sequences start at 1). */
  INVALID_SEQ: "PROTO_INVALID_SEQ",
  /** A string field is not well-formed UTF-8. */
  BAD_UTF8: "PROTO_BAD_UTF8",
  /** A string field is longer than its limit, bytes. */
  STRING_TOO_LONG: "PROTO_STRING_TOO_LONG",
  /** HELLO lists more than MAX_DEVICES_PER_HELLO devices. */
  TOO_MANY_DEVICES: "PROTO_TOO_MANY_DEVICES",
  /** HELLO lists the same device id twice. */
  DUPLICATE_DEVICE: "PROTO_DUPLICATE_DEVICE",
  /** ERROR frame's code is empty or not made of A-Z, 0-9 and '_' starting with a letter. */
  INVALID_ERROR_CODE: "PROTO_INVALID_ERROR_CODE",
  /** Some other field has a value outside its documented range (e.g. WELCOME.maxFrameBytes). */
  INVALID_FIELD: "PROTO_INVALID_FIELD",
  /** The stream ended in the middle of a frame. */
  TRUNCATED_FRAME: "PROTO_TRUNCATED_FRAME",
  /** A well-formed frame that is not allowed in the connection's current state (see ConnectionState). */
  UNEXPECTED_FRAME: "PROTO_UNEXPECTED_FRAME",
  /** SNAPSHOT_END disagrees with its SNAPSHOT_BEGIN (watermark, allocation count). */
  SNAPSHOT_MISMATCH: "PROTO_SNAPSHOT_MISMATCH",
  /** An encoder (or decoder option) was given a value it cannot represent: a bug in the caller. */
  INVALID_VALUE: "PROTO_INVALID_VALUE",
  /** The frame callback threw; the decoder gave up on the rest of the stream. */
  DECODER_ABORTED: "PROTO_DECODER_ABORTED",
} as const;
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export function isProtocolError(value: unknown): value is ProtocolError {
  return value instanceof ProtocolError;
}
