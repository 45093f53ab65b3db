import assert from "node:assert/strict";
import { test } from "node:test";
import { watchScreen } from "../../src/monitor/smi/watch.js";

const ESC = String.fromCharCode(27);

test("on a terminal each frame is redrawn in place: home, overwrite, clear the rest; cursor restored", async () => {
  const writes: string[] = [];
  const stop = new AbortController();
  let frames = 0;
  await watchScreen(
    async () => {
      frames++;
      if (frames === 2) stop.abort();
      return `frame ${frames}\nsecond line\n`;
    },
    { intervalMs: 5, out: { isTTY: true, write: (t: string) => writes.push(t) }, signal: stop.signal },
  );
  assert.equal(writes[0], `${ESC}[?25l${ESC}[2J`);
  assert.equal(writes[1], `${ESC}[Hframe 1${ESC}[K\nsecond line${ESC}[K\n${ESC}[J`);
  assert.equal(writes.at(-1), `${ESC}[?25h`);
  assert.equal(writes.length, 3, "the frame computed after Ctrl+C is not drawn");
});

test("elsewhere (a pipe) frames are appended, with no control codes", async () => {
  const writes: string[] = [];
  const stop = new AbortController();
  let frames = 0;
  await watchScreen(
    async () => {
      frames++;
      if (frames === 3) stop.abort();
      return `frame ${frames}`;
    },
    { intervalMs: 5, out: { write: (t: string) => writes.push(t) }, signal: stop.signal },
  );
  assert.deepEqual(writes, ["frame 1\n", "frame 2\n"]);
});
