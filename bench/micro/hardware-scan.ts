import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { HardwareDevices } from "../../src/server/hardware/hardware-devices.js";
import type { Benchmark } from "../harness/benchmark.js";

/** fds this process holds open while the "busy host" metric is measured. */
const EXTRA_FDS = 10_000;

/**
 * One hardware scan (HardwareDevices.scanOnce) of a fake root with two device nodes:
 * - without kmd `pids` files, so holders come from a walk of this host's real /proc/<pid>/fd (as with
 *   tt-kmd < 2.5.0): as the host is, and with 10,000 more fds open (a busy host), reported per fd too;
 * - with `pids` files (tt-kmd >= 2.5.0): no walk.
 * Each run averages 20 scans. Informational: it sizes the scan interval (docs/PERFORMANCE.md).
 */
export const hardwareScan: Benchmark = {
  name: "hardware_scan_ms",
  tier: "micro",
  description:
    "HardwareDevices.scanOnce: /proc fd walk as the host is, with 10k more fds, and with kmd pids files",
  metrics: [
    { name: "hardware_scan_ms", unit: "ms", comparison: "<=" },
    { name: "hardware_scan_fds", unit: "fds", comparison: "<=" },
    { name: "hardware_scan_busy_ms", unit: "ms", comparison: "<=" },
    { name: "hardware_scan_ns_per_fd", unit: "ns/fd", comparison: "<=" },
    { name: "hardware_scan_kmd_ms", unit: "ms", comparison: "<=" },
  ],
  async open(context) {
    const scans = context.quick ? 5 : 20;
    const root = mkdtempSync(join(tmpdir(), "allocwatch-bench-hw-"));
    const kmdRoot = join(root, "kmd");
    for (const base of [root, kmdRoot]) {
      mkdirSync(join(base, "dev", "tenstorrent"), { recursive: true });
      for (const ordinal of [0, 1]) {
        writeFileSync(join(base, "dev", "tenstorrent", String(ordinal)), "");
        const sysfs = join(base, "sys", "class", "tenstorrent", `tenstorrent!${ordinal}`);
        mkdirSync(sysfs, { recursive: true });
        writeFileSync(join(sysfs, "tt_card_type"), "n150\n");
      }
    }
    for (const ordinal of [0, 1]) {
      mkdirSync(join(kmdRoot, "proc", "driver", "tenstorrent", String(ordinal)), { recursive: true });
      writeFileSync(
        join(kmdRoot, "proc", "driver", "tenstorrent", String(ordinal), "pids"),
        `${process.pid}\n`,
      );
    }
    const log = pino({ level: "silent" });
    const walk = new HardwareDevices({ log, devRoot: root });
    const kmd = new HardwareDevices({ log, devRoot: kmdRoot });
    const measure = (hardware: HardwareDevices): { ms: number; fds: number } => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < scans; i++) hardware.scanOnce();
      const ms = Number(process.hrtime.bigint() - started) / 1e6 / scans;
      return { ms, fds: hardware.lastScanCost()?.fdsChecked ?? 0 };
    };
    return {
      async runOnce() {
        const host = measure(walk);
        const extra: number[] = [];
        let busy: { ms: number; fds: number };
        try {
          for (let i = 0; i < EXTRA_FDS; i++)
            extra.push(openSync(join(root, "dev", "tenstorrent", "0"), "r"));
          busy = measure(walk);
        } finally {
          for (const fd of extra) closeSync(fd);
        }
        const holders = walk.devices()[0]?.holders.length;
        if (holders !== 1)
          throw new Error(`the busy walk should find this process holding device 0 (${holders})`);
        return {
          hardware_scan_ms: host.ms,
          hardware_scan_fds: host.fds,
          hardware_scan_busy_ms: busy.ms,
          hardware_scan_ns_per_fd: (busy.ms * 1e6) / busy.fds,
          hardware_scan_kmd_ms: measure(kmd).ms,
        };
      },
      async close() {
        rmSync(root, { recursive: true, force: true });
      },
    };
  },
};
