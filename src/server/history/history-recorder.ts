import type { Logger } from "pino";
import { MEMORY_TYPE_COUNT } from "../../protocol/memory-type.js";
import type { AnomalyRecord } from "../anomaly-log.js";
import { API_MEMORY_TYPES, type HistoryLifetimeDevice, type PerMemoryType } from "../api-types.js";
import type { FigureHolders } from "../series/series-view.js";
import {
  SERIES_BUCKETS,
  type SeriesClock,
  type UsageFigure,
  type UsageSeries,
} from "../series/usage-series.js";
import type { SessionView } from "../session.js";
import type { SessionTableHooks } from "../session-table.js";
import type { TimerScheduler } from "../timers.js";
import type { HistoryStore } from "./history-store.js";
import type { LifetimeEnd, LifetimeStart } from "./lifetime-store.js";
import type { SubjectKey } from "./sample-store.js";

/**
 * Lifetime starts, ends and anomalies that may wait for the next write, each; past it they are dropped
 * and counted (a flood of anomalies must not grow the server's memory).
 */
export const MAX_PENDING_RECORDS = 10_000;
/** How long after each second boundary the second is written, ms (the series has rolled over by then). */
const WRITE_DELAY_MS = 100;
/** A failing write is logged the first time and then once every this many failures. */
const FAILURE_LOG_PERIOD = 60;

export interface HistoryRecorderDeps {
  store: HistoryStore;
  registry: FigureHolders;
  series: UsageSeries;
  timers: TimerScheduler;
  /** The wall clock, ms since the epoch (the series' clock). */
  epochMs: () => number;
  log: Logger;
}

/**
 * Feeds the history database once a second, off the ingest path: the 1-s buckets the series completed
 * since the previous write (every device × type and process × device × type in use), the lifetimes of
 * sessions that began or ended, and the anomalies recorded, all in one transaction; then downsampling
 * and retention (HistoryStore.maintain). Events never touch the database: the registry only records
 * totals into the series, as it does without history.
 */
export class HistoryRecorder {
  /** Seconds up to this one are written. */
  private writtenSecond: number;
  /** Per figure, the subject id of each memory type (0: not looked up yet). */
  private subjectIds = new WeakMap<UsageFigure, Int32Array>();
  private starts: LifetimeStart[] = [];
  private ends: LifetimeEnd[] = [];
  private anomalies: AnomalyRecord[] = [];
  /** Seconds of sessions released before they were written (their figures leave with them). */
  private lastSeconds: FinalSample[] = [];
  private timer: unknown;
  private stopped = false;
  /** Records dropped because MAX_PENDING_RECORDS were waiting, since start. */
  droppedRecords = 0;
  /** Writes that failed (disk full, I/O error), since start; their seconds are lost. */
  writeFailures = 0;

  constructor(private readonly deps: HistoryRecorderDeps) {
    this.writtenSecond = deps.series.clock.second - 1;
  }

  /** Session hooks: lifetimes begin at a session's first attach and end as it is released. */
  sessionHooks(): SessionTableHooks<SessionView> {
    return {
      opened: (session, reattached) => {
        if (!reattached) this.sessionStarted(session);
      },
      releasing: (session, reason) => this.sessionEnding(session, reason),
    };
  }

  /** For AnomalyLog.onRecord. */
  anomaly(record: AnomalyRecord): void {
    if (this.anomalies.length < MAX_PENDING_RECORDS) this.anomalies.push(record);
    else this.droppedRecords++;
  }

  /** Writes once a second, just after each second boundary of the wall clock, until `close`. */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    const delay = 1000 - (this.deps.epochMs() % 1000) + WRITE_DELAY_MS;
    this.timer = this.deps.timers.set(() => {
      this.timer = undefined;
      this.write();
      this.start();
    }, delay);
  }

  /**
   * Writes what is waiting: every completed second not yet written (at most the series' window), and
   * the pending lifetimes and anomalies. Failures are logged and counted, never thrown (the server goes
   * on without those seconds).
   */
  write(): void {
    const { store, series } = this.deps;
    if (store.isClosed) return;
    series.catchUp();
    const clock = series.clock;
    const last = clock.second - 1;
    const first = Math.max(this.writtenSecond + 1, clock.second - SERIES_BUCKETS + 1);
    const starts = this.starts;
    const ends = this.ends;
    const anomalies = this.anomalies;
    const lastSeconds = this.lastSeconds;
    this.starts = [];
    this.ends = [];
    this.anomalies = [];
    this.lastSeconds = [];
    this.writtenSecond = Math.max(this.writtenSecond, last);
    const nowMs = this.deps.epochMs();
    try {
      store.write(() => {
        for (const start of starts) store.lifetimes.start(start);
        if (first <= last) this.writeSeconds(first, last);
        for (const sample of lastSeconds) {
          const subject = store.samples.subject(sample.key);
          store.samples.insert(sample.second, subject, sample.min, sample.max, sample.last);
        }
        for (const end of ends) {
          store.lifetimes.end(end);
          store.samples.endSession(end.sessionId, clock.second);
        }
        for (const record of anomalies) store.anomalies.insert(record);
        store.maintain(nowMs);
      });
    } catch (error) {
      // The transaction rolled back: subject ids it created are gone too.
      this.subjectIds = new WeakMap();
      if (this.writeFailures++ % FAILURE_LOG_PERIOD === 0) {
        this.deps.log.error(
          { err: error, path: store.path, failures: this.writeFailures },
          "cannot write the history database: these seconds are not kept",
        );
      }
    }
  }

  /** Stops the timer, writes what is waiting and closes the database. */
  close(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.timers.clear(this.timer);
    this.timer = undefined;
    this.write();
    this.deps.store.close();
  }

  private writeSeconds(first: number, last: number): void {
    for (const device of this.deps.registry.devices()) {
      this.writeFigure(device.series, device.deviceId, 0, "", first, last);
      for (const ledger of device.ledgers) {
        const account = ledger.account;
        this.writeFigure(ledger.series, device.deviceId, account.pid, account.sessionId, first, last);
      }
    }
  }

  /** The buckets of seconds first..last of one figure, for every type it has buckets of. */
  private writeFigure(
    figure: UsageFigure,
    deviceId: number,
    pid: number,
    sessionId: string,
    first: number,
    last: number,
  ): void {
    const clock = this.deps.series.clock;
    const samples = this.deps.store.samples;
    let ids = this.subjectIds.get(figure);
    for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
      if (!figure.hasBuckets(t)) continue;
      const from = Math.max(first, figure.firstSecond[t]!);
      if (from > last) continue;
      if (ids === undefined) {
        ids = new Int32Array(MEMORY_TYPE_COUNT);
        this.subjectIds.set(figure, ids);
      }
      if (ids[t] === 0) {
        ids[t] = samples.subject({
          deviceId,
          memoryType: t,
          pid,
          sessionId,
          processName: this.processNames.get(sessionId) ?? "",
        });
      }
      const ring = figure.rings[t]!;
      for (let second = from; second <= last; second++) {
        const i = bucketOffset(clock, second);
        samples.insert(second, ids[t]!, ring[i]!, ring[i + 1]!, ring[i + 2]!);
      }
    }
  }

  /** Process names of live sessions (a series is named when first written). */
  private readonly processNames = new Map<string, string>();

  private sessionStarted(session: SessionView): void {
    this.processNames.set(session.sessionId, session.identity.processName);
    if (this.starts.length >= MAX_PENDING_RECORDS) {
      this.droppedRecords++;
      return;
    }
    this.starts.push({
      sessionId: session.sessionId,
      pid: session.pid,
      processName: session.identity.processName,
      source: session.identity.source,
      startedAtMs: this.deps.epochMs(),
    });
  }

  /**
   * The seconds of `session`'s figures not written yet, the current one included: its figures leave with
   * it, and a process that lived less than a second would otherwise leave no sample at all.
   */
  private keepLastSeconds(session: SessionView): void {
    const series = this.deps.series;
    series.catchUp();
    const clock = series.clock;
    for (const [deviceId, ledger] of session.account.ledgers) {
      const figure = ledger.series;
      for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
        if (!figure.hasBuckets(t)) continue;
        const from = Math.max(
          this.writtenSecond + 1,
          figure.firstSecond[t]!,
          clock.second - SERIES_BUCKETS + 1,
        );
        for (let second = from; second <= clock.second; second++) {
          if (this.lastSeconds.length >= MAX_PENDING_RECORDS) {
            this.droppedRecords++;
            return;
          }
          const i = bucketOffset(clock, second);
          const ring = figure.rings[t]!;
          this.lastSeconds.push({
            key: {
              deviceId,
              memoryType: t,
              pid: session.pid,
              sessionId: session.sessionId,
              processName: session.identity.processName,
            },
            second,
            min: ring[i]!,
            max: ring[i + 1]!,
            last: ring[i + 2]!,
          });
        }
      }
    }
  }

  private sessionEnding(session: SessionView, reason: string): void {
    this.processNames.delete(session.sessionId);
    if (this.ends.length >= MAX_PENDING_RECORDS) {
      this.droppedRecords++;
      return;
    }
    const devices: HistoryLifetimeDevice[] = [];
    for (const [deviceId, ledger] of session.account.ledgers) {
      devices.push({
        deviceId,
        peakBytes: perType(ledger.peakBytes),
        leakedBytes: perType(ledger.usedBytes),
      });
    }
    devices.sort((a, b) => a.deviceId - b.deviceId);
    this.keepLastSeconds(session);
    this.ends.push({ sessionId: session.sessionId, endedAtMs: this.deps.epochMs(), reason, devices });
  }
}

/** One second of a released session's figure, kept for the next write. */
interface FinalSample {
  key: SubjectKey;
  second: number;
  min: number;
  max: number;
  last: number;
}

/**
 * Where the bucket of `second` (within the window) starts in a ring: it sits (clock.second − second)
 * slots behind the head (series-view.ts), 3 numbers a slot.
 */
function bucketOffset(clock: SeriesClock, second: number): number {
  let index = clock.head - (clock.second - second);
  if (index < 0) index += SERIES_BUCKETS;
  return index * 3;
}

function perType(values: Float64Array): PerMemoryType {
  const out = {} as PerMemoryType;
  for (let t = 0; t < API_MEMORY_TYPES.length; t++) out[API_MEMORY_TYPES[t]!] = values[t] ?? 0;
  return out;
}
