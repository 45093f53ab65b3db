// A history write that fails at runtime (here a real SQLITE_FULL: the file may not grow past its cap, as
// on a full disk) loses those seconds, is logged once per 60 failures and counted, and never throws
// into the server.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import pino from "pino";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import { HistoryRecorder } from "../../src/server/history/history-recorder.js";
import { HistoryStore } from "../../src/server/history/history-store.js";
import { Registry } from "../../src/server/registry.js";
import { UsageSeries } from "../../src/server/series/usage-series.js";
import { ManualTimers } from "../../src/server/timers.js";
import { tempHistoryDir } from "./history-fixtures.js";

test("a full database: seconds lost, one error line, counted, nothing thrown", () => {
  const files = tempHistoryDir();
  const clock = { ms: 1_800_000_000_000 };
  const series = new UsageSeries(new ManualTimers(), () => clock.ms);
  const registry = new Registry(new AnomalyLog(), series);
  for (let p = 0; p < 64; p++) {
    const account = registry.openAccount(p.toString(16).padStart(32, "0"), 1000 + p);
    for (let d = 0; d < 4; d++) registry.ledger(account, d);
  }
  const lines: string[] = [];
  const log = pino(
    { level: "error" },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const store = HistoryStore.open(files.path, 86_400_000, clock.ms, 256 * 1024);
  const recorder = new HistoryRecorder({
    store,
    registry,
    series,
    timers: new ManualTimers(),
    epochMs: () => clock.ms,
    log,
  });
  try {
    let value = 0;
    for (let second = 0; second < 120 && recorder.writeFailures === 0; second++) {
      for (const device of registry.devices()) {
        device.series.record(0, ++value);
        for (const ledger of device.ledgers) ledger.series.record(0, ++value);
      }
      clock.ms += 1000;
      recorder.write();
    }
    assert.ok(recorder.writeFailures > 0, "the 256 KiB cap was reached");
    for (let i = 0; i < 5; i++) {
      clock.ms += 1000;
      assert.doesNotThrow(() => recorder.write());
    }
    assert.equal(recorder.writeFailures, 6);
    assert.equal(lines.length, 1, lines.join(""));
    const line = JSON.parse(lines[0]!) as { msg: string; path: string; err: { code: string } };
    assert.match(line.msg, /cannot write the history database: these seconds are not kept/);
    assert.equal(line.path, files.path);
    assert.equal(line.err.code, "SQLITE_FULL");
  } finally {
    recorder.close();
    files.remove();
  }
});
