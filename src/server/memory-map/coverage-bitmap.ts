/**
 * One bit per alignment unit of a region: set where some extent covers the unit. Used by the aggregated
 * memory map, whose extents all start and end on unit boundaries: marking them costs O(units they
 * span / 32), and the union's figures (bytes covered per slice, the longest uncovered run) come from
 * word-wide scans, with no sort. Reused from request to request (grown, never shrunk).
 *
 * Bit i of the bitmap is unit i: word i >>> 5, bit i & 31, so the lowest address is the lowest bit.
 */
export class CoverageBitmap {
  /** The bits; CoverageCounts sets them itself (word-wide, on its hot loop) between reset and reads. */
  words = new Int32Array(1024);
  /** Units of the current region. */
  private units = 0;
  /** `longestUncovered`'s count of covered units (one span: the whole region). */
  private readonly wholeSpan = new Float64Array(1);

  /** Clears the bitmap for a region of `units` units. */
  reset(units: number): void {
    const wordCount = (units + 31) >>> 5;
    if (wordCount > this.words.length) this.words = new Int32Array(wordCount);
    else this.words.fill(0, 0, wordCount);
    this.units = units;
  }

  /** Whether unit `unit` is covered. */
  covered(unit: number): boolean {
    return ((this.words[unit >>> 5] >>> (unit & 31)) & 1) === 1;
  }

  /** Covered units in [from, to). */
  countCovered(from: number, to: number): number {
    if (from >= to) return 0;
    const words = this.words;
    const first = from >>> 5;
    const last = (to - 1) >>> 5;
    const headMask = -1 << (from & 31);
    const tailMask = -1 >>> (31 - ((to - 1) & 31));
    if (first === last) return popcount(words[first] & headMask & tailMask);
    let n = popcount(words[first] & headMask) + popcount(words[last] & tailMask);
    for (let w = first + 1; w < last; w++) {
      const word = words[w];
      // Mostly empty or full words in a real map.
      if (word === 0) continue;
      n += word === -1 ? 32 : popcount(word);
    }
    return n;
  }

  /**
   * Covered units per span of `wordsPerSpan` words (32 units each; the last span shorter) into `out`,
   * and the longest uncovered run, in one pass over the words: what the aggregated map reads when its
   * slices fall on word boundaries.
   */
  coveredPerSpanAndLongestUncovered(wordsPerSpan: number, out: Float64Array): number {
    const words = this.words;
    const wordCount = (this.units + 31) >>> 5;
    const spare = wordCount * 32 - this.units;
    const last = wordCount - 1;
    const lastWord = wordCount > 0 ? words[last] : 0;
    if (spare > 0) words[last] = lastWord | (-1 << (32 - spare));
    let best = 0;
    let run = 0;
    let span = 0;
    for (let from = 0; from < wordCount; from += wordsPerSpan, span++) {
      const to = Math.min(from + wordsPerSpan, wordCount);
      let covered = 0;
      for (let w = from; w < to; w++) {
        const word = words[w];
        if (word === 0) {
          run += 32;
          continue;
        }
        if (word === -1) {
          covered += 32;
          if (run > best) best = run;
          run = 0;
          continue;
        }
        covered += popcount(word);
        run += Math.clz32(word & -word) ^ 31;
        if (run > best) best = run;
        if (best < 30) {
          const inner = longestInnerRun(word);
          if (inner > best) best = inner;
        }
        run = Math.clz32(word);
      }
      out[span] = covered;
    }
    if (run > best) best = run;
    if (spare > 0) {
      words[last] = lastWord;
      // The spare bits were counted as covered in the last span.
      out[span - 1] -= spare;
    }
    return best;
  }

  /** The longest run of uncovered units (the region's edges bound it). */
  longestUncovered(): number {
    const wordCount = (this.units + 31) >>> 5;
    return this.coveredPerSpanAndLongestUncovered(Math.max(1, wordCount), this.wholeSpan);
  }
}

/** Set bits of a 32-bit word. */
function popcount(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** The longest run of clear bits of a nonzero word that touches neither end of it. */
function longestInnerRun(word: number): number {
  let best = 0;
  let run = 0;
  let seenSet = false;
  for (let bit = 0; bit < 32; bit++) {
    if ((word >>> bit) & 1) {
      if (seenSet && run > best) best = run;
      seenSet = true;
      run = 0;
    } else {
      run++;
    }
  }
  return best;
}
