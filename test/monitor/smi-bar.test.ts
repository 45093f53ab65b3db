import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { usageBar } from "../../src/monitor/smi/bar.js";

test("fills in proportion to use", () => {
  assert.equal(usageBar(0, 100, 10), "░░░░░░░░░░");
  assert.equal(usageBar(50, 100, 10), "█████░░░░░");
  assert.equal(usageBar(100, 100, 10), "██████████");
  assert.equal(usageBar(250, 100, 4), "████");
  assert.equal(usageBar(5, 0, 4), "░░░░");
});

test("any use shows at least one cell and only 100% fills the bar", () => {
  assert.equal(usageBar(1, 1e12, 10), "█░░░░░░░░░");
  assert.equal(usageBar(999, 1000, 10), "█████████░");
});

test("always `width` cells, and never fewer full cells for more use", () => {
  fc.assert(
    fc.property(
      fc.nat(1e9),
      fc.nat(1e9),
      fc.integer({ min: 1, max: 1e9 }),
      fc.integer({ min: 1, max: 60 }),
      (a, b, total, width) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const full = (s: string) => s.split("").filter((c) => c === "█").length;
        assert.equal(usageBar(lo, total, width).length, width);
        assert.ok(full(usageBar(lo, total, width)) <= full(usageBar(hi, total, width)));
      },
    ),
  );
});
