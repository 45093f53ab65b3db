/**
 * The native protocol codec in one import. Wire layout: docs/PROTOCOL.md.
 */

export { type ConnectionPhase, type ConnectionSide, ConnectionState } from "./connection-state.js";
export { decodeFrameBody } from "./decode-frame.js";
export {
  encodeContext,
  encodeError,
  encodeEvents,
  encodeEventsFrame,
  encodeFrame,
  encodeGoodbye,
  encodeHello,
  encodeResyncRequest,
  encodeSnapshotBegin,
  encodeSnapshotChunk,
  encodeSnapshotEnd,
  encodeWelcome,
} from "./encode-frame.js";
export { isProtocolError, ProtocolError, ProtocolErrorCode } from "./errors.js";
export { EventBatchEncoder } from "./event-batch-encoder.js";
export { EventRecordOffset, emptyAllocationEvent, readEventRecord } from "./event-record.js";
export { decodeFrames, FrameDecoder, type FrameDecoderOptions, frameTypeName } from "./frame-decoder.js";
export * from "./layout.js";
