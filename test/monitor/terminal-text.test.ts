import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { fit, isControl, terminalSafe, truncate } from "../../src/monitor/terminal-text.js";

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
