// Durations as flags take them (--history-retention 7d, history --since 1h).
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidOptionError } from "../../src/server/errors.js";
import { formatDuration, parseDuration } from "../../src/server/history/duration.js";
import { resolveHistoryOptions } from "../../src/server/history/history-options.js";
import { defaultHistoryPath } from "../../src/server/history/history-path.js";
import { historyServeOptions } from "../../src/server/history/history-serve-flags.js";

test("durations: a whole number and a unit; anything else is refused naming the flag", () => {
  assert.equal(parseDuration("7d", "--x"), 7 * 86_400_000);
  assert.equal(parseDuration("12h", "--x"), 12 * 3_600_000);
  assert.equal(parseDuration("90m", "--x"), 5_400_000);
  assert.equal(parseDuration("30s", "--x"), 30_000);
  assert.equal(parseDuration("2w", "--x"), 14 * 86_400_000);
  for (const bad of ["7", "d", "1.5h", "-1h", "0s", "3651d", "7 days", ""]) {
    assert.throws(
      () => parseDuration(bad, "--history-retention"),
      (e: unknown) =>
        e instanceof InvalidOptionError &&
        /--history-retention must be a whole number and a unit/.test(e.message),
      bad,
    );
  }
  assert.equal(formatDuration(7 * 86_400_000), "7d");
  assert.equal(formatDuration(5_400_000), "90m");
});

test("serve's history flags: on by default under the XDG state directory, --no-history off", () => {
  assert.equal(
    defaultHistoryPath({ XDG_STATE_HOME: "/srv/state" }, "/home/u"),
    "/srv/state/allocwatch/history.sqlite",
  );
  assert.equal(defaultHistoryPath({}, "/home/u"), "/home/u/.local/state/allocwatch/history.sqlite");
  // A relative XDG_STATE_HOME is invalid by the XDG rule and ignored.
  assert.equal(
    defaultHistoryPath({ XDG_STATE_HOME: "rel" }, "/home/u"),
    "/home/u/.local/state/allocwatch/history.sqlite",
  );
  const env = { XDG_STATE_HOME: "/s" };
  assert.deepEqual(historyServeOptions({}, env), {
    path: "/s/allocwatch/history.sqlite",
    ifUnusable: "warn",
  });
  assert.deepEqual(historyServeOptions({ history: true, historyRetention: "12h" }, env), {
    path: "/s/allocwatch/history.sqlite",
    ifUnusable: "warn",
    retentionMs: 12 * 3_600_000,
  });
  assert.deepEqual(historyServeOptions({ history: "/tmp/h.sqlite" }, env), {
    path: "/tmp/h.sqlite",
    ifUnusable: "refuse",
  });
  assert.equal(historyServeOptions({ history: false }, env), false);
  assert.throws(
    () => historyServeOptions({ history: false, historyRetention: "1d" }, env),
    /drop --no-history/,
  );
  assert.throws(() => historyServeOptions({ historyRetention: "1 day" }, env), /--history-retention must be/);
  assert.equal(resolveHistoryOptions(undefined), undefined);
  assert.equal(resolveHistoryOptions(false), undefined);
  assert.throws(() => resolveHistoryOptions({ path: "" }), /history.path \(--history\) must be a file path/);
  assert.throws(() => resolveHistoryOptions({ path: "/x", retentionMs: 10 }), /history.retentionMs/);
  assert.deepEqual(resolveHistoryOptions({ path: "/x" }), {
    path: "/x",
    retentionMs: 7 * 86_400_000,
    ifUnusable: "refuse",
  });
  assert.throws(
    () => resolveHistoryOptions({ path: "/x", ifUnusable: "ignore" as "warn" }),
    /ifUnusable must be "refuse" or "warn"/,
  );
});
