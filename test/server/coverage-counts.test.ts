// The counts behind the kept memory map coverage, against a plain array of counts: adding and removing
// extents in any order (overlaps included) leaves exactly the units some extent still covers, and the
// limits (count blocks, 255 extents on one unit) are reported, never wrapped.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { CoverageCounts, MAX_UNIT_COVERAGE } from "../../src/server/memory-map/coverage-counts.js";

const extentArb = (units: number) =>
  fc
    .tuple(fc.nat({ max: units - 1 }), fc.integer({ min: 1, max: 80 }))
    .map(([from, length]) => [from, Math.min(units, from + length)] as const);

test("add/remove in any order: a unit is covered exactly while some added extent still covers it", () => {
  fc.assert(
    fc.property(
      fc
        .integer({ min: 1, max: 400 })
        .chain((units) =>
          fc.tuple(
            fc.constant(units),
            fc.array(fc.tuple(fc.boolean(), fc.nat(), extentArb(units)), { minLength: 1, maxLength: 60 }),
          ),
        ),
      ([units, steps]) => {
        const counts = new CoverageCounts();
        counts.reset(units);
        const model = new Int32Array(units);
        const live: (readonly [number, number])[] = [];
        for (const [remove, pick, extent] of steps) {
          if (remove && live.length > 0) {
            const [from, to] = live.splice(pick % live.length, 1)[0];
            counts.remove(from, to);
            for (let u = from; u < to; u++) model[u]--;
          } else {
            assert.equal(counts.add(extent[0], extent[1]), true);
            live.push(extent);
            for (let u = extent[0]; u < extent[1]; u++) model[u]++;
          }
          for (let u = 0; u < units; u++) assert.equal(counts.bitmap.covered(u), model[u] > 0, `unit ${u}`);
        }
        // Once nothing overlaps any more, no count block is left behind.
        while (live.length > 0) {
          const [from, to] = live.pop() as readonly [number, number];
          counts.remove(from, to);
        }
        assert.equal(counts.overlapWords, 0);
        assert.equal(counts.bitmap.countCovered(0, units), 0);
      },
    ),
    { numRuns: 400 },
  );
});

test("reset forgets every count, overlaps included", () => {
  const counts = new CoverageCounts();
  counts.reset(100);
  counts.add(0, 50);
  counts.add(10, 20);
  assert.equal(counts.overlapWords, 1);
  counts.reset(100);
  assert.equal(counts.overlapWords, 0);
  assert.equal(counts.bitmap.countCovered(0, 100), 0);
  counts.add(10, 20);
  counts.remove(10, 20);
  assert.equal(counts.bitmap.countCovered(0, 100), 0);
});

test("past the count-block limit or 255 extents on one unit, add says so", () => {
  const twoBlocks = new CoverageCounts(2);
  twoBlocks.reset(32 * 4);
  for (const word of [0, 1, 2]) twoBlocks.add(word * 32, word * 32 + 4);
  assert.equal(twoBlocks.add(0, 1), true);
  assert.equal(twoBlocks.add(32, 33), true);
  // A third word with an overlap needs a third block.
  assert.equal(twoBlocks.add(64, 65), false);
  // A block given back (its overlap removed) can serve another word.
  const reused = new CoverageCounts(1);
  reused.reset(64);
  reused.add(0, 4);
  reused.add(0, 1);
  reused.remove(0, 1);
  reused.add(32, 36);
  assert.equal(reused.add(33, 34), true);
  assert.equal(reused.overlapWords, 1);

  const deep = new CoverageCounts();
  deep.reset(32);
  for (let i = 0; i < MAX_UNIT_COVERAGE; i++) assert.equal(deep.add(3, 5), true);
  assert.equal(deep.add(4, 6), false);
});
