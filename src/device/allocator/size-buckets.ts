/**
 * Best fit's index of small free blocks: one list per exact size, counted in granules (the region's
 * alignment), for sizes of 1 .. BUCKETS - 1 granules, and a two-level bitmap of the non-empty lists.
 * Larger blocks, and blocks whose size is not a whole number of granules, stay in the FreeTree.
 *
 * Why (issue 17 item 4): under best fit most requests fit some free block exactly, and every request of
 * one size takes the same path: the bitmap names the smallest non-empty list at or above the request's
 * size, its first block is the answer, and taking it, adding a freed block or unlinking a merged
 * neighbour are each a few array writes. An ordered index pays a descent, entry shifts and key fixes for
 * each. Keeping each list in address order would bring those costs back, so a list is unordered:
 * placements among equal sizes differ from the address order used before (see FitPolicy.BEST_FIT).
 *
 * Order within a list: a block joins at the front when it becomes free or changes size, so the first
 * block of a list is the one that took its size most recently (FitPolicy.BEST_FIT's tie-break).
 *
 * Layout (typed arrays over a caller-provided buffer, plain or shared): per size, the first block slot;
 * per slot, the next and previous slot in its list; the bitmap (bit b of word w: list 32 w + b is not
 * empty) and its summary (bit w: word w is not zero); a header with the number of blocks listed.
 */
import { BufferCarver } from "./buffer-carver.js";

/** "No slot" (a private constant: see NIL in free-tree.ts). */
const NIL = -1;
/** Lists: sizes 1 .. BUCKETS - 1 granules (list 0 stays empty). 4096: DRAM blocks up to 128 KiB a bank. */
const BUCKETS = 4096;
const WORDS = BUCKETS >> 5;
const SUMMARY_WORDS = WORDS >> 5;
const HEADER_INTS = 2;
const H_COUNT = 0;

export class SizeBuckets {
  /** Bytes of buffer the lists of `capacity` block slots need (a multiple of 8). */
  static byteLength(capacity: number): number {
    const ints = HEADER_INTS + BUCKETS + WORDS + SUMMARY_WORDS + 2 * capacity;
    return Math.ceil((ints * 4) / 8) * 8;
  }

  /** Blocks of at least this many bytes are never listed here. */
  readonly limitBytes: number;
  private readonly header: Int32Array;
  private readonly first: Int32Array;
  private readonly words: Int32Array;
  private readonly summary: Int32Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;

  /**
   * @param granuleBytes the unit of sizes (the region's alignment): sizes that are not a multiple of it
   *   are never listed here.
   */
  constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    readonly capacity: number,
    readonly granuleBytes: number,
  ) {
    const carve = new BufferCarver(buffer, byteOffset);
    this.header = carve.ints(HEADER_INTS);
    this.first = carve.ints(BUCKETS);
    this.words = carve.ints(WORDS);
    this.summary = carve.ints(SUMMARY_WORDS);
    this.next = carve.ints(capacity);
    this.prev = carve.ints(capacity);
    this.limitBytes = BUCKETS * granuleBytes;
  }

  /** Empties every list. Only the creator of the buffer calls this. */
  format(): void {
    this.header.fill(0);
    this.first.fill(NIL);
    this.words.fill(0);
    this.summary.fill(0);
  }

  /** Blocks listed. */
  get count(): number {
    return this.header[H_COUNT]!;
  }

  /** The list of a block of `sizeBytes`, or -1 when such a block belongs in the tree. */
  listOf(sizeBytes: number): number {
    const b = sizeBytes / this.granuleBytes;
    return b < BUCKETS && Number.isInteger(b) ? b : -1;
  }

  /**
   * The first block of the smallest non-empty list holding blocks of at least `sizeBytes` (positive),
   * or NIL when none does.
   */
  smallestFitting(sizeBytes: number): number {
    const from = Math.ceil(sizeBytes / this.granuleBytes);
    if (from >= BUCKETS) return NIL;
    const words = this.words;
    let w = from >> 5;
    // Bits at and above `from` in its word (a shift count is taken mod 32, so mask explicitly).
    let bits = words[w]! & (-1 << (from & 31));
    if (bits === 0) {
      // The next non-zero word after w, from the summary.
      const summary = this.summary;
      w++;
      let s = w >> 5;
      if (s >= SUMMARY_WORDS) return NIL;
      let sbits = summary[s]! & (-1 << (w & 31));
      while (sbits === 0) {
        if (++s >= SUMMARY_WORDS) return NIL;
        sbits = summary[s]!;
      }
      w = (s << 5) + lowestBit(sbits);
      bits = words[w]!;
    }
    return this.first[(w << 5) + lowestBit(bits)]!;
  }

  /** Size of the largest listed block, bytes (0 when none). */
  get largestBytes(): number {
    for (let s = SUMMARY_WORDS - 1; s >= 0; s--) {
      const sbits = this.summary[s]!;
      if (sbits === 0) continue;
      const w = (s << 5) + highestBit(sbits);
      return ((w << 5) + highestBit(this.words[w]!)) * this.granuleBytes;
    }
    return 0;
  }

  /** Puts free block `slot` at the front of list `b` (from listOf). */
  insert(slot: number, b: number): void {
    const head = this.first[b]!;
    this.next[slot] = head;
    this.prev[slot] = NIL;
    if (head === NIL) {
      const w = b >> 5;
      this.words[w]! |= 1 << (b & 31);
      this.summary[w >> 5]! |= 1 << (w & 31);
    } else {
      this.prev[head] = slot;
    }
    this.first[b] = slot;
    this.header[H_COUNT]!++;
  }

  /** Takes free block `slot` out of list `b` (the list it was put in). */
  remove(slot: number, b: number): void {
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (n !== NIL) this.prev[n] = p;
    if (p !== NIL) {
      this.next[p] = n;
    } else {
      this.first[b] = n;
      if (n === NIL) {
        const w = b >> 5;
        const left = this.words[w]! & ~(1 << (b & 31));
        this.words[w] = left;
        if (left === 0) this.summary[w >> 5]! &= ~(1 << (w & 31));
      }
    }
    this.header[H_COUNT]!--;
  }

  /** The lists as slot arrays, by list (for tests and FreeList.checkInvariants). */
  lists(): { sizeBytes: number; slots: number[] }[] {
    const out: { sizeBytes: number; slots: number[] }[] = [];
    for (let b = 0; b < BUCKETS; b++) {
      const slots: number[] = [];
      let p = NIL;
      for (let s = this.first[b]!; s !== NIL; s = this.next[s]!) {
        if (this.prev[s] !== p || slots.length > this.capacity) return [{ sizeBytes: -1, slots }];
        slots.push(s);
        p = s;
      }
      if (slots.length > 0) out.push({ sizeBytes: b * this.granuleBytes, slots });
    }
    return out;
  }

  /** The first broken invariant of the bitmap (for tests), or undefined. */
  checkBitmap(): string | undefined {
    let listed = 0;
    for (let w = 0; w < WORDS; w++) {
      for (let bit = 0; bit < 32; bit++) {
        const b = (w << 5) + bit;
        const set = (this.words[w]! & (1 << bit)) !== 0;
        if (set !== (this.first[b] !== NIL)) return `list ${b}: bit ${set}, first ${this.first[b]}`;
      }
      const summarised = (this.summary[w >> 5]! & (1 << (w & 31))) !== 0;
      if (summarised !== (this.words[w] !== 0)) return `word ${w}: summary bit ${summarised}`;
    }
    for (const list of this.lists()) {
      if (list.sizeBytes < 0) return "a list's links are broken";
      listed += list.slots.length;
    }
    if (listed !== this.count) return `${listed} blocks listed, count ${this.count}`;
    return undefined;
  }
}

/** Index of the lowest set bit of a non-zero word. */
function lowestBit(bits: number): number {
  return 31 - Math.clz32(bits & -bits);
}

/** Index of the highest set bit of a non-zero word. */
function highestBit(bits: number): number {
  return 31 - Math.clz32(bits);
}
