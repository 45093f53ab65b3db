// TtShmSource's life cycle: the periodic scan (fake and real clock), fds held between scans and closed
// by stop(), option validation, a failing scan that keeps the last view, and the slot records' bound.
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidOptionError, ServerErrorCode } from "../../src/server/errors.js";
import { ManualTimers } from "../../src/server/timers.js";
import { SlotOwners } from "../../src/server/tt-shm/slot-owners.js";
import {
  DEFAULT_TT_SHM_DIRECTORY,
  DEFAULT_TT_SHM_INTERVAL_MS,
  DEFAULT_TT_SHM_MAX_FILES,
  TtShmSource,
} from "../../src/server/tt-shm/tt-shm-source.js";
import { waitFor } from "../support/wait-for.js";
import { epochNowNs, fdsInto, readerOf, tempDir } from "./fixture.js";
import { captureLogs } from "./log-capture.js";
import { writeRegionFile } from "./region-writer.js";

test("defaults: /dev/shm, 10 Hz, 256 files", () => {
  assert.equal(DEFAULT_TT_SHM_DIRECTORY, "/dev/shm");
  assert.equal(DEFAULT_TT_SHM_INTERVAL_MS, 100);
  assert.equal(DEFAULT_TT_SHM_MAX_FILES, 256);
});

test("start() scans at once, then every intervalMs on the injected clock; stop() ends it", (t) => {
  const dir = tempDir(t);
  const timers = new ManualTimers();
  const { source } = readerOf(t, dir, { timers, intervalMs: 250 });
  writeRegionFile(dir, { layout: 4, asicId: 1n });
  source.start();
  source.start(); // a second start changes nothing
  assert.equal(source.devices().length, 1, "scanned at start");
  assert.equal(timers.pendingCount, 1);
  writeRegionFile(dir, { layout: 4, asicId: 2n });
  timers.advance(249);
  assert.equal(source.devices().length, 1, "not before intervalMs");
  timers.advance(1);
  assert.equal(source.devices().length, 2);
  source.stop();
  assert.equal(timers.pendingCount, 0);
  writeRegionFile(dir, { layout: 4, asicId: 3n });
  timers.advance(10_000);
  assert.equal(source.devices().length, 2, "no scan after stop; the last view stays");
  assert.equal(source.scanOnce().length, 2, "scanOnce after stop returns the last view");
});

test("on the real (unref'd) timer a new region shows up; fds stay open between scans and stop() closes them", async (t) => {
  const dir = tempDir(t);
  const { source } = readerOf(t, dir, { intervalMs: 5 });
  source.start();
  writeRegionFile(dir, {
    layout: 4,
    asicId: 5n,
    slots: [{ pid: process.pid, name: "node", lastUpdateNs: epochNowNs() }],
  });
  const devices = await waitFor(() => (source.devices().length === 1 ? source.devices() : undefined), {
    what: "the region to be read",
  });
  assert.equal(devices[0]?.processes[0]?.alive, true);
  const scans = 3;
  for (let i = 0; i < scans; i++) {
    const before = source.devices();
    await waitFor(() => source.devices() !== before, { what: "another scan" });
    assert.equal(fdsInto(dir), 1, "one fd, kept across scans");
  }
  source.stop();
  assert.equal(fdsInto(dir), 0);
});

test("invalid options are refused with SERVER_INVALID_OPTION and the option's name", () => {
  const { logger } = captureLogs();
  const bad: [object, RegExp][] = [
    [{ intervalMs: 0 }, /intervalMs/],
    [{ intervalMs: 1.5 }, /intervalMs/],
    [{ maxFiles: 0 }, /maxFiles/],
    [{ maxFiles: 4097 }, /maxFiles/],
    [{ maxFiles: Number.NaN }, /maxFiles/],
    [{ directory: "" }, /directory/],
  ];
  for (const [options, name] of bad) {
    assert.throws(
      () => new TtShmSource({ logger, ...options }),
      (error: unknown) =>
        error instanceof InvalidOptionError &&
        error.code === ServerErrorCode.INVALID_OPTION &&
        name.test(error.message),
      JSON.stringify(options),
    );
  }
});

test("a scan that fails unexpectedly keeps the last view, logs once, and never throws", (t) => {
  const dir = tempDir(t);
  let fail = false;
  const { source, lines } = readerOf(t, dir, {
    processes: {
      startTicks: () => {
        if (fail) throw new Error("lookup defect");
        return 1;
      },
      startedAtEpochNs: () => undefined,
    },
  });
  writeRegionFile(dir, { layout: 4, slots: [{ pid: 42, name: "x" }] });
  const first = source.scanOnce();
  assert.equal(first.length, 1);
  fail = true;
  assert.equal(source.scanOnce(), first);
  assert.equal(source.scanOnce(), first);
  assert.equal(
    lines.filter((l) => l.msg === "tt-metal memory region scan failed; keeping the last view").length,
    1,
  );
});

test("slot records are kept only for files still read", () => {
  const owners = new SlotOwners({ startTicks: () => 1, startedAtEpochNs: () => undefined });
  owners.beginScan();
  for (const file of ["a", "b", "c"]) owners.isAlive(file, { index: 0, pid: 1, lastUpdateNs: 0 }, true);
  assert.equal(owners.fileCount, 3);
  owners.retainOnly((file) => file === "b");
  assert.equal(owners.fileCount, 1);
});
