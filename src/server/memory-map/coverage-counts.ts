/**
 * How many extents cover each alignment unit of a region, kept as allocations come and go: a
 * CoverageBitmap (bit set ⇔ at least one extent) plus exact counts only for the bitmap words where
 * extents overlap. So adding or removing an extent costs O(words it spans) where nothing overlaps (one
 * OR / AND-NOT per word) and O(units) only where something does, and the memory is the bitmap's
 * (1 bit per unit) plus 1 bit per word (whether it has counts) plus ~50 bytes per word that holds an
 * overlap (its 32 counts and an entry in a Map from word to count block).
 *
 * Why counts at all: a memory map kept up to date between requests must un-mark an extent when it is
 * freed, and a unit another live extent also covers must stay covered (two processes describing one
 * device, or a client whose buffers overlap).
 */
import { CoverageBitmap } from "./coverage-bitmap.js";

/** Most words with an overlap (each a 32-unit count block of 34 bytes): 2^18 = 8.5 MiB. */
export const MAX_OVERLAP_BLOCKS = 2 ** 18;
/** Most extents counted on one unit. */
export const MAX_UNIT_COVERAGE = 255;

const NO_BLOCK = -1;

export class CoverageCounts {
  readonly bitmap = new CoverageBitmap();
  /**
   * Bit w set ⇔ word w has a count block (else each unit's count is its bit): a 1/32-size bitmap that
   * stays in cache, so the common case never looks at `blockOfWord`.
   */
  private counted = new Int32Array(0);
  /** Count block of each word that has one. */
  private readonly blockOfWord = new Map<number, number>();
  /** Count block b holds units [32b, 32b + 32) of its word. */
  private counts = new Uint8Array(32 * 64);
  /** Per block: units counted ≥ 2 (the block goes back when none is). */
  private multi = new Uint8Array(64);
  private readonly freeBlocks: number[] = [];
  private blocksUsed = 0;

  constructor(private readonly maxBlocks = MAX_OVERLAP_BLOCKS) {}

  /** Nothing covered, for a region of `units` units. */
  reset(units: number): void {
    this.bitmap.reset(units);
    const countedWords = (((units + 31) >>> 5) + 31) >>> 5;
    if (countedWords > this.counted.length) this.counted = new Int32Array(countedWords);
    else this.counted.fill(0, 0, countedWords);
    this.blockOfWord.clear();
    this.freeBlocks.length = 0;
    this.blocksUsed = 0;
  }

  /** Word blocks holding overlaps now. */
  get overlapWords(): number {
    return this.blockOfWord.size;
  }

  /**
   * Counts one more extent over units [from, to), from < to (the caller drops empty extents: they cover
   * nothing, and an empty range would run the word loop from `from` to the top of the address space). False when a limit (MAX_OVERLAP_BLOCKS,
   * MAX_UNIT_COVERAGE) would be passed: the counts are then unusable until `reset`.
   */
  add(from: number, to: number): boolean {
    const words = this.bitmap.words;
    const counted = this.counted;
    const first = from >>> 5;
    const last = (to - 1) >>> 5;
    for (let w = first; w <= last; w++) {
      let mask = -1;
      if (w === first) mask &= -1 << (from & 31);
      if (w === last) mask &= -1 >>> (31 - ((to - 1) & 31));
      let block: number;
      if (((counted[w >>> 5] >>> (w & 31)) & 1) === 0) {
        if ((words[w] & mask) === 0) {
          words[w] |= mask;
          continue;
        }
        block = this.takeBlock(w);
        if (block === NO_BLOCK) return false;
      } else {
        block = this.blockOfWord.get(w) as number;
      }
      const at = block * 32;
      for (let bits = mask; bits !== 0; bits &= bits - 1) {
        const unit = at + (31 - Math.clz32(bits & -bits));
        const count = this.counts[unit];
        if (count === MAX_UNIT_COVERAGE) return false;
        if (count === 1) this.multi[block]++;
        this.counts[unit] = count + 1;
      }
      words[w] |= mask;
    }
    return true;
  }

  /** Counts one extent fewer over units [from, to), which an earlier `add` counted. */
  remove(from: number, to: number): void {
    const words = this.bitmap.words;
    const counted = this.counted;
    const first = from >>> 5;
    const last = (to - 1) >>> 5;
    for (let w = first; w <= last; w++) {
      let mask = -1;
      if (w === first) mask &= -1 << (from & 31);
      if (w === last) mask &= -1 >>> (31 - ((to - 1) & 31));
      if (((counted[w >>> 5] >>> (w & 31)) & 1) === 0) {
        words[w] &= ~mask;
        continue;
      }
      const block = this.blockOfWord.get(w) as number;
      const at = block * 32;
      let cleared = 0;
      for (let bits = mask; bits !== 0; bits &= bits - 1) {
        const bit = bits & -bits;
        const unit = at + (31 - Math.clz32(bit));
        const count = this.counts[unit] - 1;
        this.counts[unit] = count;
        if (count === 1) this.multi[block]--;
        else if (count === 0) cleared |= bit;
      }
      words[w] &= ~cleared;
      if (this.multi[block] === 0) {
        counted[w >>> 5] &= ~(1 << (w & 31));
        this.blockOfWord.delete(w);
        this.freeBlocks.push(block);
      }
    }
  }

  /** A count block for word `w`, filled from its bits; NO_BLOCK past the limit. */
  private takeBlock(w: number): number {
    let block = this.freeBlocks.pop();
    if (block === undefined) {
      if (this.blocksUsed === this.maxBlocks) return NO_BLOCK;
      block = this.blocksUsed++;
      if (block >= this.multi.length) {
        const size = Math.min(this.multi.length * 2, this.maxBlocks);
        const counts = new Uint8Array(size * 32);
        counts.set(this.counts);
        this.counts = counts;
        const multi = new Uint8Array(size);
        multi.set(this.multi);
        this.multi = multi;
      }
    }
    const word = this.bitmap.words[w];
    const at = block * 32;
    for (let bit = 0; bit < 32; bit++) this.counts[at + bit] = (word >>> bit) & 1;
    this.multi[block] = 0;
    this.blockOfWord.set(w, block);
    this.counted[w >>> 5] |= 1 << (w & 31);
    return block;
  }
}
