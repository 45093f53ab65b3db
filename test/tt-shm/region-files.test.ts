// The reader's file handling on real files: which names it reads, one warning per file and problem,
// files still initialising, truncated, replaced, vanished, garbage, too many, a missing directory, and
// things planted under a region's name that must not be opened or followed.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { TtShmFileProblemCode } from "../../src/server/tt-shm/region-files.js";
import { epochNowNs, fdsInto, readerOf, tempDir } from "./fixture.js";
import { INFO, warnings } from "./log-capture.js";
import {
  buildRegion,
  overwriteRegionFile,
  regionFileName,
  replaceRegionFile,
  writeRegionFile,
} from "./region-writer.js";

test("only tt_device_<digits>_memory files are read", (t) => {
  const dir = tempDir(t);
  writeRegionFile(dir, { layout: 4, asicId: 7n });
  const bytes = buildRegion({ layout: 4 });
  for (const name of [
    "tt_device__memory",
    "tt_device_7a_memory",
    "tt_device_7_memory.bak",
    "xtt_device_7_memory",
  ])
    writeFileSync(join(dir, name), bytes);
  const { source, lines } = readerOf(t, dir);
  assert.deepEqual(
    source.scanOnce().map((d) => d.file),
    [join(dir, regionFileName(7n))],
  );
  assert.equal(lines.filter((l) => l.level > INFO).length, 0, "other names are not even warned about");
});

test("a region still initialising is skipped with one warning, and read once it is ready", (t) => {
  const dir = tempDir(t);
  const v4 = writeRegionFile(dir, { layout: 4, asicId: 1n, initState: 1, totals: { DRAM: 10 } });
  const v3 = writeRegionFile(dir, { layout: 3, asicId: 2n, version: 0, totals: { DRAM: 20 } });
  const { source, lines } = readerOf(t, dir);
  for (let i = 0; i < 3; i++) assert.deepEqual(source.scanOnce(), []);
  assert.equal(warnings(lines, TtShmFileProblemCode.INITIALISING, v4).length, 1);
  assert.equal(warnings(lines, TtShmFileProblemCode.INITIALISING, v3).length, 1);

  overwriteRegionFile(v4, buildRegion({ layout: 4, asicId: 1n, totals: { DRAM: 10 } }));
  overwriteRegionFile(v3, buildRegion({ layout: 3, asicId: 2n, totals: { DRAM: 20 } }));
  assert.deepEqual(
    source.scanOnce().map((d) => [d.asicId, d.totalsBytes[0]]),
    [
      ["1", 10],
      ["2", 20],
    ],
  );
  assert.equal(lines.filter((l) => l.msg === "tt-metal memory region readable again").length, 2);

  // A file that recovered may warn again (once) when it has the problem again.
  overwriteRegionFile(v4, buildRegion({ layout: 4, asicId: 1n, initState: 1 }));
  source.scanOnce();
  source.scanOnce();
  assert.equal(warnings(lines, TtShmFileProblemCode.INITIALISING, v4).length, 2);
});

test("a truncated region is skipped (TOO_SHORT, once) and read again when whole", (t) => {
  const dir = tempDir(t);
  const path = writeRegionFile(dir, { layout: 4, totals: { L1: 5 } });
  truncateSync(path, 4000);
  const { source, lines } = readerOf(t, dir);
  assert.deepEqual(source.scanOnce(), []);
  assert.deepEqual(source.scanOnce(), []);
  assert.equal(warnings(lines, TtShmFileProblemCode.TOO_SHORT, path).length, 1);
  overwriteRegionFile(path, buildRegion({ layout: 4, totals: { L1: 5 } }));
  assert.equal(source.scanOnce()[0]?.totalsBytes[1], 5);
});

test("a region replaced under the same name (new file renamed over it) shows the new content", (t) => {
  const dir = tempDir(t);
  const path = writeRegionFile(dir, { layout: 4, totals: { DRAM: 1 } });
  const { source } = readerOf(t, dir);
  assert.equal(source.scanOnce()[0]?.totalsBytes[0], 1);
  const before = statSync(path).ino;
  replaceRegionFile(path, buildRegion({ layout: 4, totals: { DRAM: 2 } }));
  assert.notEqual(statSync(path).ino, before, "a new inode");
  assert.equal(source.scanOnce()[0]?.totalsBytes[0], 2);
  assert.equal(fdsInto(dir), 1, "the replaced file's fd was closed");
  // Rewritten in place (the same inode, as tt-metal writes): read through the held fd.
  overwriteRegionFile(path, buildRegion({ layout: 4, totals: { DRAM: 3 } }));
  assert.equal(source.scanOnce()[0]?.totalsBytes[0], 3);
});

test("a vanished region is dropped and its fd closed; one that appears is picked up", (t) => {
  const dir = tempDir(t);
  const a = writeRegionFile(dir, { layout: 4, asicId: 1n });
  const { source } = readerOf(t, dir);
  assert.equal(source.scanOnce().length, 1);
  unlinkSync(a);
  writeRegionFile(dir, { layout: 2, asicId: 2n });
  assert.deepEqual(
    source.scanOnce().map((d) => d.asicId),
    ["2"],
  );
  assert.equal(fdsInto(dir), 1);
});

test("garbage and unknown versions are skipped with one warning each; other files still read", (t) => {
  const dir = tempDir(t);
  const garbage = join(dir, regionFileName(11n));
  writeFileSync(garbage, Buffer.from("\xef\xbe\xad\xde".repeat(3000), "latin1"));
  const implausible = writeRegionFile(dir, { layout: 4, asicId: 12n, deviceId: 0xffff });
  writeRegionFile(dir, { layout: 4, asicId: 13n });
  const { source, lines } = readerOf(t, dir);
  for (let i = 0; i < 3; i++)
    assert.deepEqual(
      source.scanOnce().map((d) => d.asicId),
      ["13"],
    );
  assert.equal(warnings(lines, TtShmFileProblemCode.UNKNOWN_VERSION, garbage).length, 1);
  assert.equal(warnings(lines, TtShmFileProblemCode.IMPLAUSIBLE, implausible).length, 1);
});

test("more than maxFiles regions: maxFiles are read, the rest ignored with one warning", (t) => {
  const dir = tempDir(t);
  const paths = [1n, 2n, 3n, 4n, 5n].map((asicId) => writeRegionFile(dir, { layout: 4, asicId }));
  const { source, lines } = readerOf(t, dir, { maxFiles: 3 });
  assert.equal(source.scanOnce().length, 3);
  assert.equal(source.scanOnce().length, 3);
  const tooMany = warnings(lines, "TT_SHM_TOO_MANY_FILES");
  assert.equal(tooMany.length, 1);
  assert.equal(tooMany[0]?.ignored, 2);
  assert.equal(fdsInto(dir), 3, "no fd for an ignored file");
  const read = new Set(source.devices().map((d) => d.file));
  for (const path of paths) if (!read.has(path)) unlinkSync(path);
  assert.equal(source.scanOnce().length, 3);
  assert.ok(lines.some((l) => l.msg === "tt-metal memory regions within the file limit again"));
});

test("a missing directory: no crash, one clear warning, regions read once it exists", (t) => {
  const dir = join(tempDir(t), "shm");
  const { source, lines } = readerOf(t, dir);
  assert.deepEqual(source.scanOnce(), []);
  assert.deepEqual(source.scanOnce(), []);
  const missing = warnings(lines, "TT_SHM_DIRECTORY_UNAVAILABLE");
  assert.equal(missing.length, 1);
  assert.equal(missing[0]?.errno, "ENOENT");
  assert.match(missing[0]!.msg, /cannot list .*shm/);
  mkdirSync(dir);
  writeRegionFile(dir, { layout: 4, asicId: 3n, lastUpdateNs: epochNowNs() });
  assert.equal(source.scanOnce().length, 1);
  assert.ok(lines.some((l) => l.msg === "tt-metal memory region directory readable again"));
});

test("read-only: a 0400 region is read, and scans never change its bytes or times", (t) => {
  const dir = tempDir(t);
  const path = writeRegionFile(dir, { layout: 4, totals: { TRACE: 9 }, slots: [{ pid: -1 }] });
  chmodSync(path, 0o400);
  const before = { bytes: readFileSync(path), stat: statSync(path) };
  const { source } = readerOf(t, dir);
  for (let i = 0; i < 5; i++) assert.equal(source.scanOnce()[0]?.totalsBytes[4], 9);
  const after = statSync(path);
  assert.deepEqual(readFileSync(path), before.bytes);
  assert.equal(after.mtimeMs, before.stat.mtimeMs);
  assert.equal(after.size, before.stat.size);
});

test("a symlink, FIFO, directory or socket under a region's name is never followed nor read", async (t) => {
  const dir = tempDir(t);
  const elsewhere = join(tempDir(t), "real-region");
  writeFileSync(elsewhere, buildRegion({ layout: 4 }));
  const link = join(dir, regionFileName(21n));
  symlinkSync(elsewhere, link);
  const fifo = join(dir, regionFileName(22n));
  execFileSync("mkfifo", [fifo]);
  const directory = join(dir, regionFileName(23n));
  mkdirSync(directory);
  const socketPath = join(dir, regionFileName(24n));
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.after(() => server.close());
  const { source, lines } = readerOf(t, dir);
  assert.deepEqual(source.scanOnce(), [], "the FIFO did not block the scan");
  source.scanOnce();
  for (const path of [link, fifo, directory])
    assert.equal(warnings(lines, TtShmFileProblemCode.NOT_A_FILE, path).length, 1, path);
  assert.equal(warnings(lines, TtShmFileProblemCode.OPEN_FAILED, socketPath).length, 1, "ENXIO");
  assert.equal(fdsInto(dir), 0);
});

test("a failed read is warned once and the file reopened on the next scan", (t) => {
  const dir = tempDir(t);
  const path = writeRegionFile(dir, { layout: 4, totals: { DRAM: 8 } });
  const { source, lines } = readerOf(t, dir);
  assert.equal(source.scanOnce().length, 1);
  // Close the reader's fd behind its back: its next pread fails with EBADF.
  const fd = readdirSync("/proc/self/fd").find((n) => {
    try {
      return readlinkSync(`/proc/self/fd/${n}`) === path;
    } catch {
      return false;
    }
  });
  assert.ok(fd !== undefined, "the reader holds the file open");
  closeSync(Number(fd));
  assert.deepEqual(source.scanOnce(), []);
  const failed = warnings(lines, TtShmFileProblemCode.READ_FAILED, path);
  assert.equal(failed.length, 1);
  assert.match(failed[0]!.msg, /EBADF/);
  assert.equal(source.scanOnce()[0]?.totalsBytes[0], 8, "reopened");
  assert.equal(fdsInto(dir), 1);
});
