// The history database on its own, with the clock injected (every time is passed in): 1-s samples
// become 1-min samples past an hour, everything goes past the retention, leak reports and lifetimes
// are kept across a reopen, and every way the file can be unusable is a typed error.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { HistoryOpenError } from "../../src/server/history/history-errors.js";
import { parseHistoryRequest } from "../../src/server/history/history-request.js";
import { HistoryStore } from "../../src/server/history/history-store.js";
import { LeakStore } from "../../src/server/history/leak-store.js";
import { MAX_HISTORY_POINTS } from "../../src/server/history/sample-query.js";
import { SCHEMA_VERSION } from "../../src/server/history/schema.js";
import { leakReport, perType, tempHistoryDir } from "./history-fixtures.js";

const HOUR_MS = 3_600_000;
/** A whole hour, so that minutes and hours of the test line up with the epoch's. */
const T0 = 1_800_000_000;

function query(store: HistoryStore, nowMs: number, params: Record<string, string>) {
  return store.history(parseHistoryRequest(new URLSearchParams(params), nowMs));
}

/** Device 0 DRAM: 120 seconds from T0, value = second index, with a 10 MB burst in second 30. */
function writeTwoMinutes(store: HistoryStore): void {
  store.write(() => {
    const device = store.samples.subject({
      deviceId: 0,
      memoryType: 0,
      pid: 0,
      sessionId: "",
      processName: "",
    });
    for (let i = 0; i < 120; i++) {
      store.samples.insert(T0 + i, device, i, i === 30 ? 10_000_000 : i, i);
    }
  });
}

test("1-s samples are served as they are for an hour, then as 1-min min/max/last", () => {
  const { path, remove } = tempHistoryDir();
  const store = HistoryStore.open(path, 7 * 24 * HOUR_MS, T0 * 1000);
  try {
    writeTwoMinutes(store);
    const soon = (T0 + 200) * 1000;
    store.write(() => store.maintain(soon));
    const fine = query(store, soon, { from: String(T0 * 1000), to: String((T0 + 119) * 1000), step: "1000" });
    assert.equal(fine.series.length, 1);
    assert.equal(fine.series[0]!.points.length, 120);
    assert.deepEqual(fine.series[0]!.points[30], { t: (T0 + 30) * 1000, min: 30, max: 10_000_000, last: 30 });
    assert.equal(fine.series[0]!.pid, null);
    assert.equal(fine.series[0]!.memoryType, "DRAM");

    // An hour and a bit later the two minutes are 1-min rows: the burst survives as max.
    const later = (T0 + 3600 + 180) * 1000;
    store.write(() => store.maintain(later));
    const from = String(T0 * 1000);
    const to = String((T0 + 119) * 1000);
    assert.deepEqual(query(store, later, { from, to, step: "1000" }).series, [], "no 1-s rows left");
    const coarse = query(store, later, { from, to, step: "60000" });
    assert.deepEqual(coarse.series[0]!.points, [
      { t: T0 * 1000, min: 0, max: 10_000_000, last: 59 },
      { t: (T0 + 60) * 1000, min: 60, max: 119, last: 119 },
    ]);
    // Merging further: one 2-minute step.
    assert.deepEqual(query(store, later, { from, to, step: "120000" }).series[0]!.points, [
      { t: T0 * 1000, min: 0, max: 10_000_000, last: 119 },
    ]);
  } finally {
    store.close();
    remove();
  }
});

test("retention: samples, ended lifetimes, anomalies and leak reports older than it are deleted", () => {
  const { path, remove } = tempHistoryDir();
  const store = HistoryStore.open(path, 2 * HOUR_MS, T0 * 1000);
  try {
    writeTwoMinutes(store);
    store.write(() => {
      store.lifetimes.start({
        sessionId: "a".repeat(32),
        pid: 11,
        processName: "old",
        source: "native",
        startedAtMs: T0 * 1000,
      });
      store.lifetimes.end({
        sessionId: "a".repeat(32),
        endedAtMs: (T0 + 100) * 1000,
        reason: "goodbye",
        devices: [],
      });
      store.lifetimes.start({
        sessionId: "b".repeat(32),
        pid: 12,
        processName: "live",
        source: "native",
        startedAtMs: T0 * 1000,
      });
      store.anomalies.insert({
        kind: "UNKNOWN_FREE",
        sessionId: "",
        pid: 11,
        deviceId: 0,
        detail: "x",
        timeMs: (T0 + 5) * 1000,
      });
    });
    store.leaks.save(leakReport(11, (T0 + 100) * 1000, 4096));
    const all = { from: String(T0 * 1000), step: "60000" };

    // 1 h 59 min later: all kept (downsampled).
    let now = (T0 + 2 * 3600 - 60) * 1000;
    store.write(() => store.maintain(now));
    let answer = query(store, now, all);
    assert.equal(answer.series[0]!.points.length, 2);
    assert.equal(answer.lifetimes.length, 2);
    assert.equal(answer.anomalies.length, 1);
    assert.equal(store.leaks.list({ limit: 10 }).length, 1);

    // 2 h 5 min later: the samples, the ended lifetime, the anomaly and the report are gone; the live
    // session's lifetime stays.
    now = (T0 + 2 * 3600 + 300) * 1000;
    store.write(() => store.maintain(now));
    answer = query(store, now, all);
    assert.deepEqual(answer.series, []);
    assert.deepEqual(
      answer.lifetimes.map((l) => l.processName),
      ["live"],
    );
    assert.deepEqual(answer.anomalies, []);
    assert.deepEqual(store.leaks.list({ limit: 10 }), []);
    assert.equal(answer.retentionMs, 2 * HOUR_MS);

    // A process's series is forgotten once the retention has passed its last sample; a device's never.
    store.write(() => {
      const mine = { deviceId: 0, memoryType: 1, pid: 12, sessionId: "b".repeat(32), processName: "live" };
      const id = store.samples.subject(mine);
      store.samples.insert(Math.floor(now / 1000), id, 1, 1, 1);
      store.samples.endSession("b".repeat(32), Math.floor(now / 1000));
    });
    const subjects = () =>
      store.samples.subject({ deviceId: 9, memoryType: 0, pid: 0, sessionId: "", processName: "" });
    const before = subjects();
    now += 3 * HOUR_MS;
    store.write(() => store.maintain(now));
    assert.deepEqual(query(store, now, { from: String(T0 * 1000), pid: "12", step: "60000" }).series, []);
    // The device's subject is still the same row; the ended process's is gone (a new id when written again).
    assert.equal(subjects(), before);
    const again = store.samples.subject({
      deviceId: 0,
      memoryType: 1,
      pid: 12,
      sessionId: "b".repeat(32),
      processName: "live",
    });
    assert.ok(again > before, `${again} is a new row`);
  } finally {
    store.close();
    remove();
  }
});

test("an answer holds at most MAX_HISTORY_POINTS points and says it was cut", () => {
  const { path, remove } = tempHistoryDir();
  const store = HistoryStore.open(path, 7 * 24 * HOUR_MS, T0 * 1000);
  try {
    store.write(() => {
      for (let type = 0; type < 4; type++) {
        const id = store.samples.subject({
          deviceId: 0,
          memoryType: type,
          pid: 0,
          sessionId: "",
          processName: "",
        });
        for (let i = 0; i < 3000; i++) store.samples.insert(T0 + i, id, 1, 1, 1);
      }
    });
    const now = (T0 + 3000) * 1000;
    const answer = query(store, now, { from: String(T0 * 1000), to: String(now), step: "1000" });
    assert.equal(answer.truncated, true);
    assert.equal(answer.maxPoints, MAX_HISTORY_POINTS);
    assert.equal(
      answer.series.reduce((n, s) => n + s.points.length, 0),
      MAX_HISTORY_POINTS,
    );
    const one = query(store, now, { from: String(T0 * 1000), to: String(now), step: "1000", type: "L1" });
    assert.equal(one.truncated, false);
    assert.deepEqual(
      one.series.map((s) => [s.memoryType, s.points.length]),
      [["L1", 3000]],
    );
  } finally {
    store.close();
    remove();
  }
});

test("leak reports: ids increase, newest first, pid filter and limit, kept across a reopen, bounded", () => {
  const { path, remove } = tempHistoryDir();
  let store = HistoryStore.open(path, 7 * 24 * HOUR_MS, T0 * 1000);
  try {
    const first = store.leaks.save(leakReport(100, T0 * 1000, 4096));
    const second = store.leaks.save(leakReport(200, T0 * 1000 + 1, 8192));
    assert.ok(first.id > 0 && second.id > first.id);
    assert.deepEqual(
      store.leaks.list({ limit: 10 }).map((r) => r.pid),
      [200, 100],
    );
    assert.deepEqual(store.leaks.list({ pid: 100, limit: 10 }), [first]);
    assert.equal(store.leaks.list({ limit: 1 }).length, 1);
    store.close();

    store = HistoryStore.open(path, 7 * 24 * HOUR_MS, T0 * 1000);
    assert.deepEqual(store.leaks.list({ limit: 10 }), [second, first]);
    assert.equal(store.leaks.list({ limit: 10 })[0]!.byContext[0]!.context, "matmul");
    const third = store.leaks.save(leakReport(300, T0 * 1000 + 2, 1));
    assert.ok(third.id > second.id);
  } finally {
    store.close();
    remove();
  }
  const db = new Database(":memory:");
  db.exec("CREATE TABLE leak_reports (id INTEGER PRIMARY KEY, ended_ms INTEGER, pid INTEGER, report TEXT)");
  const bounded = new LeakStore(db, 3);
  for (let i = 1; i <= 5; i++) bounded.save(leakReport(i, T0 * 1000, i));
  assert.deepEqual(
    bounded.list({ limit: 10 }).map((r) => r.pid),
    [5, 4, 3],
  );
  db.close();
});

test("a lifetime left open by a server that stopped is ended at its last recorded second", () => {
  const { path, remove } = tempHistoryDir();
  let store = HistoryStore.open(path, 7 * 24 * HOUR_MS, T0 * 1000);
  try {
    writeTwoMinutes(store);
    store.write(() =>
      store.lifetimes.start({
        sessionId: "c".repeat(32),
        pid: 13,
        processName: "p",
        source: "native",
        startedAtMs: T0 * 1000,
      }),
    );
    store.close();
    store = HistoryStore.open(path, 7 * 24 * HOUR_MS, (T0 + 999) * 1000);
    const [lifetime] = query(store, (T0 + 999) * 1000, { from: String(T0 * 1000) }).lifetimes;
    assert.equal(lifetime!.endReason, "server-stopped");
    assert.equal(lifetime!.endedAtMs, (T0 + 119) * 1000);
    assert.deepEqual(lifetime!.leakedBytes, perType({}));
  } finally {
    store.close();
    remove();
  }
});

test("unusable files are typed errors with stable codes, and are left as they were", () => {
  const { dir, path, remove } = tempHistoryDir();
  try {
    const garbage = join(dir, "garbage.sqlite");
    writeFileSync(garbage, "not a database ".repeat(200));
    assert.throws(
      () => HistoryStore.open(garbage, HOUR_MS, 0),
      (e: unknown) =>
        e instanceof HistoryOpenError &&
        e.code === "SERVER_HISTORY_CORRUPT" &&
        /is not a readable allocwatch history database.*--no-history/.test(e.message),
    );
    assert.equal(readFileSync(garbage, "utf8"), "not a database ".repeat(200));

    const newer = join(dir, "newer.sqlite");
    const db = new Database(newer);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => HistoryStore.open(newer, HOUR_MS, 0),
      (e: unknown) =>
        e instanceof HistoryOpenError &&
        e.code === "SERVER_HISTORY_NEWER_SCHEMA" &&
        new RegExp(
          `schema version ${SCHEMA_VERSION + 1}, newer than this allocwatch's ${SCHEMA_VERSION}`,
        ).test(e.message),
    );

    const held = HistoryStore.open(path, HOUR_MS, 0);
    try {
      assert.throws(
        () => HistoryStore.open(path, HOUR_MS, 0),
        (e: unknown) =>
          e instanceof HistoryOpenError &&
          e.code === "SERVER_HISTORY_LOCKED" &&
          /in use by another process/.test(e.message),
      );
    } finally {
      held.close();
    }
    // Released with the first store: it opens again.
    HistoryStore.open(path, HOUR_MS, 0).close();

    // A directory that cannot exist (its parent is a file): even root cannot create it.
    assert.throws(
      () => HistoryStore.open(join(garbage, "sub", "history.sqlite"), HOUR_MS, 0),
      (e: unknown) =>
        e instanceof HistoryOpenError &&
        e.code === "SERVER_HISTORY_UNWRITABLE" &&
        /cannot create or write the history database/.test(e.message),
    );
  } finally {
    remove();
  }
});

test("a minute merged in several ranges reads the same at every step: half merged, and merged", () => {
  const { path, remove } = tempHistoryDir();
  const store = HistoryStore.open(path, 7 * 24 * HOUR_MS, T0 * 1000);
  try {
    writeTwoMinutes(store);
    const later = (T0 + 3600 + 180) * 1000;
    const from = String(T0 * 1000);
    const to = String((T0 + 119) * 1000);
    const coarse = () => query(store, later, { from, to, step: "60000" }).series[0]!.points;
    const expected = [
      { t: T0 * 1000, min: 0, max: 10_000_000, last: 59 },
      { t: (T0 + 60) * 1000, min: 60, max: 119, last: 119 },
    ];
    assert.deepEqual(coarse(), expected, "from the 1-s rows alone");
    // The first minute merged in three ranges (the burst in the second), the second minute not yet.
    store.write(() => store.samples.downsample(T0, T0 + 25));
    assert.deepEqual(coarse(), expected, "a quarter merged");
    store.write(() => store.samples.downsample(T0 + 25, T0 + 40));
    store.write(() => store.samples.downsample(T0 + 40, T0 + 60));
    assert.deepEqual(coarse(), expected, "one minute merged");
    assert.equal(store.samples.oldestFineSecond(), T0 + 60);
    // maintain finishes the rest (a few ranges within its budget, or over several calls).
    for (let call = 0; call < 100 && store.samples.oldestFineSecond() !== undefined; call++) {
      store.write(() => store.maintain(later));
    }
    assert.equal(store.samples.oldestFineSecond(), undefined);
    assert.deepEqual(coarse(), expected, "both minutes merged");
  } finally {
    store.close();
    remove();
  }
});
