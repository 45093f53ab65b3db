import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import { HistoryRecorder } from "../../src/server/history/history-recorder.js";
import { HistoryStore } from "../../src/server/history/history-store.js";
import { Registry } from "../../src/server/registry.js";
import { UsageSeries } from "../../src/server/series/usage-series.js";
import { ManualTimers } from "../../src/server/timers.js";
import type { Benchmark } from "../harness/benchmark.js";

/** Memory types each figure uses (DRAM, L1, CB: what a TT-NN program touches). */
const TYPES = [0, 1, 5];
/** Seconds written per run; the run reports the median write. */
const WRITES_PER_RUN = 60;

/**
 * One history write (HistoryRecorder.write: one transaction of a second's samples) on a real file, for
 * a small host (1 device, 8 processes: 27 series) and a large one (8 devices, 32 processes each on all
 * 8: 792 series). The write runs once a second on the server's thread, so ms per write / 1000 is the
 * share of one core history takes from everything else, ingest included (target: 2% = 20 ms).
 */
export const historyWrite: Benchmark = {
  name: "history_write_ms",
  tier: "micro",
  description:
    "HistoryRecorder.write (one 1-s transaction into SQLite, WAL) for 27 series (1 device, 8 processes) " +
    "and 792 series (8 devices × 32 processes × 3 types); median of 60 writes per run; then the " +
    "once-a-minute downsampling of those 60 s (1-s rows → 1-min rows) for 792 series: total, and the " +
    "longest single call (the stall; the work is spread over calls a second apart)",
  metrics: [
    { name: "history_write_ms", unit: "ms/s", target: 20, comparison: "<=" },
    { name: "history_write_ms_792_series", unit: "ms/s", target: 20, comparison: "<=" },
    { name: "history_downsample_ms_792_series", unit: "ms/min", comparison: "<=" },
    { name: "history_downsample_stall_ms_792_series", unit: "ms", comparison: "<=" },
  ],
  async open() {
    const small = HistoryHost.open(1, 8);
    const large = HistoryHost.open(8, 32);
    return {
      async runOnce() {
        const writeMs = small.medianWriteMs();
        const writeLargeMs = large.medianWriteMs();
        const downsample = large.downsample();
        return {
          history_write_ms: writeMs,
          history_write_ms_792_series: writeLargeMs,
          history_downsample_ms_792_series: downsample.totalMs,
          history_downsample_stall_ms_792_series: downsample.longestCallMs,
        };
      },
      async close() {
        small.close();
        large.close();
      },
    };
  },
};

/** A registry with `devices` devices and `processes` sessions on every device, and its history. */
class HistoryHost {
  private value = 0;

  private constructor(
    private readonly dir: string,
    private readonly registry: Registry,
    private readonly clock: { ms: number },
    private readonly recorder: HistoryRecorder,
    private readonly store: HistoryStore,
  ) {}

  static open(devices: number, processes: number): HistoryHost {
    const dir = mkdtempSync(join(tmpdir(), "allocwatch-bench-history-"));
    const clock = { ms: 1_800_000_000_000 };
    const timers = new ManualTimers();
    const series = new UsageSeries(timers, () => clock.ms);
    const registry = new Registry(new AnomalyLog(), series);
    for (let p = 0; p < processes; p++) {
      const account = registry.openAccount(p.toString(16).padStart(32, "0"), 1000 + p);
      for (let d = 0; d < devices; d++) registry.ledger(account, d);
    }
    const store = HistoryStore.open(join(dir, "history.sqlite"), 7 * 86_400_000, clock.ms);
    const recorder = new HistoryRecorder({
      store,
      registry,
      series,
      timers,
      epochMs: () => clock.ms,
      log: pino({ level: "silent" }),
    });
    return new HistoryHost(dir, registry, clock, recorder, store);
  }

  /** Moves one second on (every figure changes in it), writes it; the median of WRITES_PER_RUN writes, ms. */
  medianWriteMs(): number {
    const times: number[] = [];
    for (let i = 0; i < WRITES_PER_RUN; i++) {
      for (const device of this.registry.devices()) {
        for (const t of TYPES) device.series.record(t, ++this.value);
        for (const ledger of device.ledgers) for (const t of TYPES) ledger.series.record(t, ++this.value);
      }
      this.clock.ms += 1000;
      const started = process.hrtime.bigint();
      this.recorder.write();
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    times.sort((a, b) => a - b);
    return times[times.length >> 1]!;
  }

  /**
   * Downsampling as it runs once a minute, an hour later: the minute written since the previous call
   * (one run: 60 s) becomes 1-min rows, over as many `maintain` calls (one a second in the server) as the
   * per-call budget needs. Total ms, and the longest call (what the server's thread stalls for).
   */
  downsample(): { totalMs: number; longestCallMs: number } {
    let totalMs = 0;
    let longestCallMs = 0;
    for (let call = 0; call < 1000; call++) {
      const started = process.hrtime.bigint();
      this.store.write(() => this.store.maintain(this.clock.ms + 3_600_000));
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      totalMs += ms;
      longestCallMs = Math.max(longestCallMs, ms);
      const oldest = this.store.samples.oldestFineSecond();
      // What maintain merges: seconds before the minute an hour before its clock (the clock + 1 h).
      const cutoff = Math.floor(this.clock.ms / 60_000) * 60;
      if (oldest === undefined || oldest >= cutoff) break;
    }
    return { totalMs, longestCallMs };
  }

  close(): void {
    this.recorder.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
