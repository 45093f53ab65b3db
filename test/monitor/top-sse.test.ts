// The stream decoder: messages come out whole however the text is cut into chunks.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { SseDecoder, SseMessageTooLongError } from "../../src/monitor/top/sse.js";

test("event and data fields, comments skipped, multi-line data joined, CRLF accepted", () => {
  const decoder = new SseDecoder();
  assert.deepEqual(decoder.push(': ping\n\nevent: summary\ndata: {"a":1}\n\n'), [
    { event: "summary", data: '{"a":1}' },
  ]);
  assert.deepEqual(decoder.push("data: x\r\ndata: y\r\n\r\nevent: series\ndata:z"), [
    { event: "message", data: "x\ny" },
  ]);
  assert.deepEqual(decoder.push("\n\n"), [{ event: "series", data: "z" }]);
});

test("any cut of the stream into chunks gives the same messages", () => {
  const message = fc.record({
    event: fc.constantFrom("summary", "series"),
    data: fc.string({ unit: "grapheme" }).filter((s) => !/[\r\n]/.test(s)),
  });
  fc.assert(
    fc.property(
      fc.array(message, { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (messages, cuts) => {
        const text = messages.map((m) => `: c\n\nevent: ${m.event}\ndata: ${m.data}\n\n`).join("");
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const decoder = new SseDecoder();
        const got = [];
        let from = 0;
        for (const p of [...points, text.length]) {
          got.push(...decoder.push(text.slice(from, p)));
          from = p;
        }
        assert.deepEqual(
          got,
          messages.map((m) => ({ event: m.event, data: m.data })),
        );
      },
    ),
  );
});

test("a message past the bound is refused, not buffered without end", () => {
  const decoder = new SseDecoder(100);
  assert.throws(() => decoder.push(`data: ${"x".repeat(200)}`), SseMessageTooLongError);
  // The decoder starts afresh.
  assert.deepEqual(decoder.push("data: ok\n\n"), [{ event: "message", data: "ok" }]);
});
