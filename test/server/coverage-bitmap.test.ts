// The coverage bitmap behind the aggregated memory map, against a plain array of booleans.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { CoverageCounts } from "../../src/server/memory-map/coverage-counts.js";

test("covered, countCovered and longestUncovered agree with a byte-per-unit model", () => {
  // The bits are set as the memory map sets them: through the counts that own the bitmap.
  const counts = new CoverageCounts();
  const bitmap = counts.bitmap;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 300 }).chain((units) =>
        fc.tuple(
          fc.constant(units),
          fc.array(
            fc
              .tuple(fc.nat({ max: units }), fc.nat({ max: units }))
              .map(([a, b]) => [Math.min(a, b), Math.max(a, b)]),
            { maxLength: 12 },
          ),
          fc
            .tuple(fc.nat({ max: units }), fc.nat({ max: units }))
            .map(([a, b]) => [Math.min(a, b), Math.max(a, b)]),
        ),
      ),
      ([units, ranges, [qFrom, qTo]]) => {
        counts.reset(units);
        const model = new Uint8Array(units);
        for (const [from, to] of ranges) {
          if (from < to) assert.ok(counts.add(from, to));
          model.fill(1, from, to);
        }
        for (let u = 0; u < units; u++) assert.equal(bitmap.covered(u), model[u] === 1);
        let count = 0;
        for (let u = qFrom; u < qTo; u++) count += model[u];
        assert.equal(bitmap.countCovered(qFrom, qTo), count);
        let best = 0;
        let run = 0;
        for (let u = 0; u < units; u++) {
          run = model[u] === 1 ? 0 : run + 1;
          best = Math.max(best, run);
        }
        assert.equal(bitmap.longestUncovered(), best);
        // Reading the longest run leaves the bits as they were.
        for (let u = 0; u < units; u++) assert.equal(bitmap.covered(u), model[u] === 1);
        // Per span of whole words, in one pass, with the same longest run.
        for (const wordsPerSpan of [1, 2, 5]) {
          const spans = Math.ceil(units / (32 * wordsPerSpan));
          const out = new Float64Array(spans + 1).fill(-1);
          assert.equal(bitmap.coveredPerSpanAndLongestUncovered(wordsPerSpan, out), best);
          for (let k = 0; k < spans; k++) {
            let n = 0;
            for (let u = k * 32 * wordsPerSpan; u < Math.min((k + 1) * 32 * wordsPerSpan, units); u++)
              n += model[u];
            assert.equal(out[k], n, `span ${k} of ${wordsPerSpan} words`);
          }
          assert.equal(out[spans], -1, "nothing written past the last span");
        }
      },
    ),
    { numRuns: 500 },
  );
});
