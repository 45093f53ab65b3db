// A client that produces anomalies at event rate must not flood the server log: at most N lines a
// second, then one line saying how many were left out.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AnomalyRecord } from "../../src/server/anomaly-log.js";
import { AnomalyLogRateLimit } from "../../src/server/anomaly-log-rate-limit.js";

function record(detail: string): AnomalyRecord {
  return { kind: "UNKNOWN_FREE", sessionId: "s", pid: 7, deviceId: 0, detail, timeMs: 0 };
}

test("at most linesPerS lines a second; the next second says how many were suppressed", () => {
  const lines: [unknown, string][] = [];
  let now = 0;
  const limit = new AnomalyLogRateLimit(
    { warn: ((fields: unknown, message: string) => lines.push([fields, message])) as never },
    { nowMs: () => now },
    3,
  );
  for (let i = 0; i < 10; i++) limit.write(record(`a${i}`));
  assert.deepEqual(
    lines.map(([, message]) => message),
    ["a0", "a1", "a2"],
  );
  assert.deepEqual(lines[0]![0], { anomaly: "UNKNOWN_FREE", sessionId: "s", clientPid: 7, deviceId: 0 });

  now = 999;
  limit.write(record("still the first second"));
  assert.equal(lines.length, 3);

  now = 1000;
  limit.write(record("b0"));
  assert.deepEqual(lines.slice(3), [
    [{ suppressed: 8 }, "anomaly log lines suppressed"],
    [{ anomaly: "UNKNOWN_FREE", sessionId: "s", clientPid: 7, deviceId: 0 }, "b0"],
  ]);

  now = 5000;
  limit.write(record("c0"));
  assert.deepEqual(lines.at(-1)![1], "c0", "nothing suppressed: no summary line");
  assert.equal(lines.length, 6);
});
