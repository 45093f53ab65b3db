/**
 * The registry's per-slot typed columns as others read them (Registry.slotColumns: the memory map's walk in
 * slot order), and how a column grows. The columns themselves stay fields of Registry: `allocate`/`free`,
 * the server's hot path, write them directly.
 */

/** Registry.slotColumns: read-only views of the slot columns. */
export interface SlotColumns {
  readonly slotCount: number;
  readonly ledgerSerial: Int32Array;
  /** Changes whenever the slot takes a new allocation (wraps after 2^32 reuses of one slot). */
  readonly generation: Uint32Array;
  readonly memoryType: Uint8Array;
  /** Start address, bytes. */
  readonly address: Float64Array;
  readonly sizeBytes: Float64Array;
}

/** A copy of `array` in a new column of `capacity` entries. */
export function grownFloat64(array: Float64Array, capacity: number): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(capacity);
  grown.set(array);
  return grown;
}
