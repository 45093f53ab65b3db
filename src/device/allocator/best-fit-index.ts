/**
 * Best fit's index of a region's free blocks: SizeBuckets for whole numbers of granules below its limit
 * (nearly every block), the FreeTree ordered by (size, -stamp) for the rest. Both give, among blocks of the
 * smallest fitting size, the one that took its size most recently (FitPolicy.BEST_FIT): a list's first
 * block, or the tree's least key, since every block entering the tree or changing size in it gets the
 * next stamp.
 *
 * State in the caller's buffer (plain or shared): the lists, and a header with the stamp counter and the
 * number of tree blocks below the lists' limit (odd sizes: while there are none, a listed block needs no
 * comparison with the tree).
 */
import type { FreeTree } from "./free-tree.js";
import { SizeBuckets } from "./size-buckets.js";

const NIL = -1;
// Float64 header
const F_STAMP = 0;
// Int32 header (after the Float64 one)
const H_SMALL_IN_TREE = 0;
const HEADER_BYTES = 16;

export class BestFitIndex {
  /** Bytes of buffer the index of `capacity` block slots needs beside the tree (a multiple of 8). */
  static byteLength(capacity: number): number {
    return HEADER_BYTES + SizeBuckets.byteLength(capacity);
  }

  readonly buckets: SizeBuckets;
  private readonly headerF: Float64Array;
  private readonly header: Int32Array;
  private readonly limitBytes: number;

  /**
   * @param tree the region's FreeTree (this index gives its second keys)
   * @param sizes the free list's block sizes, by slot (read only)
   */
  constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    capacity: number,
    granuleBytes: number,
    private readonly tree: FreeTree,
    private readonly sizes: Float64Array,
  ) {
    this.headerF = new Float64Array(buffer, byteOffset, 1);
    this.header = new Int32Array(buffer, byteOffset + 8, 2);
    this.buckets = new SizeBuckets(buffer, byteOffset + HEADER_BYTES, capacity, granuleBytes);
    this.limitBytes = this.buckets.limitBytes;
  }

  /** Empties the lists (the tree is formatted by its owner). Only the creator of the buffer calls this. */
  format(): void {
    this.headerF[F_STAMP] = 0;
    this.header[H_SMALL_IN_TREE] = 0;
    this.buckets.format();
  }

  /** Free blocks in the lists and the tree. */
  get count(): number {
    return this.buckets.count + this.tree.count;
  }

  get largestBytes(): number {
    return Math.max(this.tree.largestBytes, this.buckets.largestBytes);
  }

  /** Tree blocks below the lists' limit (for FreeList.checkInvariants). */
  get smallInTree(): number {
    return this.header[H_SMALL_IN_TREE]!;
  }

  /** The smallest free block of at least `n` bytes, the latest of its size; NIL when none fits. */
  find(n: number): number {
    const listed = this.buckets.smallestFitting(n);
    if (listed === NIL) return this.tree.findBest(n);
    // Odd sizes below the lists' limit sit in the tree: one of them may be smaller than the listed block.
    if (this.header[H_SMALL_IN_TREE] !== 0) {
      const t = this.tree.findBest(n);
      if (t !== NIL && this.sizes[t]! < this.sizes[listed]!) return t;
    }
    return listed;
  }

  /** Indexes free block `s` of `sizeBytes` as the latest of its size. */
  insert(s: number, sizeBytes: number): void {
    const b = this.buckets.listOf(sizeBytes);
    if (b >= 0) {
      this.buckets.insert(s, b);
      return;
    }
    if (sizeBytes < this.limitBytes) this.header[H_SMALL_IN_TREE]!++;
    this.tree.insert(s, this.nextKey(), sizeBytes);
  }

  /** Takes free block `s` of `sizeBytes` out. */
  remove(s: number, sizeBytes: number): void {
    const b = this.buckets.listOf(sizeBytes);
    if (b >= 0) {
      this.buckets.remove(s, b);
      return;
    }
    if (sizeBytes < this.limitBytes) this.header[H_SMALL_IN_TREE]!--;
    this.tree.remove(s);
  }

  /** Free block `s` changed from `oldBytes` to `sizeBytes`: it becomes the latest of its new size. */
  resize(s: number, oldBytes: number, sizeBytes: number): void {
    const buckets = this.buckets;
    if (buckets.listOf(oldBytes) < 0 && buckets.listOf(sizeBytes) < 0) {
      const limit = this.limitBytes;
      this.header[H_SMALL_IN_TREE]! += (sizeBytes < limit ? 1 : 0) - (oldBytes < limit ? 1 : 0);
      this.tree.resize(s, this.nextKey(), sizeBytes);
      return;
    }
    this.remove(s, oldBytes);
    this.insert(s, sizeBytes);
  }

  /** The tree's second key for a block taking its size now: -stamp, so the latest sorts first. */
  private nextKey(): number {
    const stamp = this.headerF[F_STAMP]! + 1;
    this.headerF[F_STAMP] = stamp;
    return -stamp;
  }
}
