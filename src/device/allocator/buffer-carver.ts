/**
 * Consecutive typed arrays over one buffer from a byte offset on: how the allocator's structures lay
 * their columns out in the allocator's one state buffer (plain or shared). Constructors only.
 */
export class BufferCarver {
  constructor(
    private readonly buffer: ArrayBufferLike,
    /** Where the next array starts, bytes. */
    public at: number,
  ) {}

  doubles(count: number): Float64Array {
    const view = new Float64Array(this.buffer, this.at, count);
    this.at += count * 8;
    return view;
  }

  ints(count: number): Int32Array {
    const view = new Int32Array(this.buffer, this.at, count);
    this.at += count * 4;
    return view;
  }
}
