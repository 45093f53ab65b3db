import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { DEFAULT_TT_SHM_DIRECTORY, TtShmSource } from "../../src/server/tt-shm/tt-shm-source.js";
import { writeRegionFile } from "../../test/tt-shm/region-writer.js";
import type { Benchmark } from "../harness/benchmark.js";
import { BenchmarkFailedError } from "../harness/errors.js";
import { median } from "../harness/stats.js";

const FILES = 32;
const SLOTS_PER_FILE = 4;

/**
 * TtShmSource.scanOnce over 32 v4 region files in a folder of /dev/shm: readdir, a stat and a
 * pread per file, decoding, and the dead-slot rule for 4 slots per file (the benchmark's own pid, its
 * parent, an exited pid and a pid shared by every file: three /proc lookups per scan after caching).
 * A run is many scans; its value is their median.
 */
export const ttShmScan: Benchmark = {
  name: "tt_shm_scan_ms",
  tier: "micro",
  description: `TtShmSource.scanOnce over ${FILES} v4 region files, ${SLOTS_PER_FILE} slots each (median scan per run)`,
  metrics: [{ name: "tt_shm_scan_ms", unit: "ms", target: 1, comparison: "<=" }],
  warmupRuns: 2,
  async open(context) {
    const scans = context.quick ? 100 : 1000;
    // A folder inside /dev/shm: tmpfs, as tt-metal's regions are (the OS temp folder where it is missing).
    const parent = existsSync(DEFAULT_TT_SHM_DIRECTORY) ? DEFAULT_TT_SHM_DIRECTORY : tmpdir();
    const dir = mkdtempSync(join(parent, "allocwatch-bench-ttshm-"));
    const exited = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
      encoding: "utf8",
    }).stdout;
    const pids = [process.pid, process.ppid, Number(exited), process.pid];
    const now = BigInt(Date.now()) * 1_000_000n;
    for (let f = 0; f < FILES; f++) {
      writeRegionFile(dir, {
        layout: 4,
        asicId: 0x1000_0000_0000n + BigInt(f),
        deviceId: f,
        totals: { DRAM: 1 << 30, L1: 1 << 20, CB: 1 << 16 },
        chips: [{ chipId: f, used: { DRAM: 1 << 30, L1: 1 << 20, CB: 1 << 16 } }],
        slots: pids.slice(0, SLOTS_PER_FILE).map((pid, i) => ({
          index: i * 7,
          pid,
          name: `worker-${i}`,
          used: { DRAM: 1 << 28 },
          lastUpdateNs: now,
        })),
      });
    }
    const source = new TtShmSource({ logger: pino({ level: "silent" }), directory: dir });
    const scanNs = new Float64Array(scans);
    return {
      async runOnce() {
        for (let i = 0; i < scans; i++) {
          const started = process.hrtime.bigint();
          const devices = source.scanOnce();
          scanNs[i] = Number(process.hrtime.bigint() - started);
          if (devices.length !== FILES)
            throw new BenchmarkFailedError(`read ${devices.length} of ${FILES} regions`);
        }
        return { tt_shm_scan_ms: median(Array.from(scanNs)) / 1e6 };
      },
      async close() {
        source.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
