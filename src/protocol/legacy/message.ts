import type { LegacyMessageType } from "./layout.js";

/**
 * One request frame of the original protocol, decoded. Only the fields a request uses: the response
 * fields (offset 40 on) are zero in every request, and `timestamp` is ignored, as the original server
 * ignored it (it stamps its own clock).
 */
export interface LegacyMessage {
  type: LegacyMessageType;
  /** i32 at offset 4. -1 in DEVICE_INFO_QUERY asks for the device count. */
  deviceId: number;
  /** u64 at offset 8, bytes. -1 when the value is >= 2^53 (not exactly representable). */
  sizeBytes: number;
  /** u8 at offset 16: LegacyBufferType for ALLOC, LegacyKernelType for KERNEL_LOAD. */
  bufferType: number;
  /** i32 at offset 20: the sender's pid as it reports it. */
  processId: number;
  /**
   * u64 at offset 24: the buffer's device address (ALLOC/FREE), the CB address (CB_*), the kernel id
   * (KERNEL_*). -1 when >= 2^53.
   */
  bufferId: number;
}

export function emptyLegacyMessage(): LegacyMessage {
  return { type: 1, deviceId: 0, sizeBytes: 0, bufferType: 0, processId: 0, bufferId: 0 };
}
