import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { listenForQuit } from "../../src/monitor/quit-key.js";

class FakeTerminal extends EventEmitter {
  isTTY = true;
  raw: boolean[] = [];
  flowing = false;
  setRawMode(mode: boolean) {
    this.raw.push(mode);
  }
  resume() {
    this.flowing = true;
  }
  pause() {
    this.flowing = false;
  }
}

test("q, Q and Ctrl+C quit; other keys do not; stopping restores the terminal's mode", () => {
  for (const key of ["q", "Q", "\x03"]) {
    const input = new FakeTerminal();
    let quits = 0;
    const stop = listenForQuit(input, () => quits++);
    assert.deepEqual(input.raw, [true]);
    input.emit("data", Buffer.from("x"));
    input.emit("data", " ");
    assert.equal(quits, 0);
    input.emit("data", Buffer.from(key));
    assert.equal(quits, 1, JSON.stringify(key));
    stop();
    assert.deepEqual(input.raw, [true, false]);
    assert.equal(input.flowing, false);
    assert.equal(input.listenerCount("data"), 0);
  }
});

test("input that is not a terminal (a pipe) is left alone", () => {
  const input = new FakeTerminal();
  input.isTTY = false;
  let quits = 0;
  const stop = listenForQuit(input, () => quits++);
  input.emit("data", "q");
  stop();
  assert.equal(quits, 0);
  assert.deepEqual(input.raw, []);
  assert.equal(input.listenerCount("data"), 0);
});
