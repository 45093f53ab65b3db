import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { formatBytes, formatMiB } from "../../src/monitor/units.js";

test("bytes print in binary units with one decimal above 1 KiB", () => {
  const cases: [number, string][] = [
    [0, "0 B"],
    [1, "1 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [1024 * 1024 - 1, "1.0 MiB"],
    [12.5 * 1024 ** 2, "12.5 MiB"],
    [12 * 1024 ** 3, "12.0 GiB"],
    [3 * 1024 ** 4, "3.0 TiB"],
    [-1, "?"],
    [Number.NaN, "?"],
  ];
  for (const [bytes, text] of cases) assert.equal(formatBytes(bytes), text, `formatBytes(${bytes})`);
});

test("the printed size is within rounding of the exact size and never shows 1024.0 of a unit", () => {
  const scale: Record<string, number> = {
    B: 1,
    KiB: 1024,
    MiB: 1024 ** 2,
    GiB: 1024 ** 3,
    TiB: 1024 ** 4,
    PiB: 1024 ** 5,
  };
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (bytes) => {
      const [value, unit] = formatBytes(bytes).split(" ");
      assert.ok(Number(value) < 1024, formatBytes(bytes));
      const back = Number(value) * scale[unit!]!;
      assert.ok(Math.abs(back - bytes) <= 0.05 * scale[unit!]!, `${bytes} -> ${formatBytes(bytes)}`);
    }),
  );
});

test("MiB with fixed decimals; use too small to show is <0.1 or <1, never 0", () => {
  const MiB = 1024 ** 2;
  const cases: [number, 0 | 1, string][] = [
    [0, 1, "0.0"],
    [0, 0, "0"],
    [300, 1, "<0.1"],
    [300, 0, "<1"],
    [12.5 * MiB, 1, "12.5"],
    [12 * 1024 * MiB, 0, "12288"],
    [0.6 * MiB, 0, "1"],
    [-1, 1, "?"],
  ];
  for (const [bytes, decimals, text] of cases)
    assert.equal(formatMiB(bytes, decimals), text, `${bytes}, ${decimals}`);
});
