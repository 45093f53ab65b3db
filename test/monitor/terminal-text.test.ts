import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { visibleWidth } from "../../src/monitor/table.js";
import {
  columns,
  fit,
  isControl,
  takeColumns,
  terminalSafe,
  truncate,
} from "../../src/monitor/terminal-text.js";
import { clip, seg } from "../../src/monitor/top/line.js";

test("every C0 and C1 control character and DEL becomes ?; printable text is untouched", () => {
  const ESC = String.fromCharCode(27);
  assert.equal(terminalSafe(`a${ESC}[31mb\u0007\u009bc\u007f`), "a?[31mb??c?");
  assert.equal(terminalSafe("llama-decoder é ✓"), "llama-decoder é ✓");
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (text) => {
      const safe = terminalSafe(text);
      assert.equal(safe.length, text.length);
      for (let i = 0; i < safe.length; i++) assert.equal(isControl(safe.charCodeAt(i)), false);
    }),
  );
});

test("truncate ends a cut name with … and fit pads to the exact width", () => {
  assert.equal(truncate("abcdef", 4), "abc…");
  assert.equal(truncate("abc", 4), "abc");
  assert.equal(fit("abcdef", 4), "abc…");
  assert.equal(fit("ab", 4, "right"), "  ab");
  assert.equal(fit("ab", 4), "ab  ");
});

test("wide characters take two columns: CJK names are cut and padded to the exact width", () => {
  assert.equal(columns("llama"), 5);
  assert.equal(columns("推理服务"), 8);
  assert.equal(columns("e\u0301"), 1, "a combining accent takes none");
  assert.equal(columns("🚀x"), 3, "an astral emoji (a surrogate pair) is one wide character");
  assert.equal(fit("推理服务", 6), "推理… ", "cut before a wide character that would not fit, then padded");
  assert.equal(fit("推理", 6, "right"), "  推理");
  assert.equal(takeColumns("推理服务", 5), "推理");
  assert.equal(visibleWidth("\u001b[31m推理\u001b[0m"), 4);
  // A line with wide characters is clipped to at most the width, never past it.
  const clipped = clip([seg("pid 1 "), seg("推理服务"), seg(" tail")], 9);
  assert.equal(clipped.map((s) => s.text).join(""), "pid 1 推");
  fc.assert(
    fc.property(fc.string({ unit: "grapheme" }), fc.integer({ min: 0, max: 40 }), (text, width) => {
      assert.equal(columns(fit(text, width)), width);
      assert.ok(columns(truncate(text, width)) <= width);
    }),
    { numRuns: 500 },
  );
});
