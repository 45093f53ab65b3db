// Builds a Sequencer over a real Registry with a hand-driven clock, and generates valid event streams.

import fc from "fast-check";
import type { LiveAllocation } from "../../src/protocol/event.js";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import type { SessionLinks } from "../../src/server/gap-rule.js";
import { Registry } from "../../src/server/registry.js";
import { ReorderBudget } from "../../src/server/reorder-budget.js";
import { Sequencer, SequencerCounters } from "../../src/server/sequencer.js";
import { SnapshotIntakeBudget } from "../../src/server/snapshot-collector.js";
import { ManualTimers } from "../../src/server/timers.js";
import { ledgerContents } from "../support/ledger-contents.js";

export interface StreamEvent {
  op: 1 | 2;
  deviceId: number;
  memoryType: number;
  seq: number;
  allocationId: number;
  address: number;
  sizeBytes: number;
}

/**
 * The session's live connections as a test drives them: `open(id)` a connection, `close(id)` it; every
 * event the harness pushes from a connection marks it as delivering at the clock's time.
 */
export class TestLinks implements SessionLinks {
  private readonly ids: number[] = [];
  private readonly at = new Map<number, number>();
  constructor(private readonly timers: ManualTimers) {}

  open(id: number): void {
    this.ids.push(id);
    this.at.set(id, this.timers.nowMs());
  }

  close(id: number): void {
    this.ids.splice(this.ids.indexOf(id), 1);
    this.at.delete(id);
  }

  delivered(id: number): void {
    if (this.at.has(id)) this.at.set(id, this.timers.nowMs());
  }

  get linkCount(): number {
    return this.ids.length;
  }

  linkId(i: number): number {
    return this.ids[i];
  }

  linkDeliveredAtMs(i: number): number {
    return this.at.get(this.ids[i])!;
  }
}

export function makeSequencer(
  options: {
    reorderCapacity?: number;
    gapTimeoutMs?: number;
    budgetBytes?: number;
    timers?: ManualTimers;
    /** Entries every snapshot in progress may hold (SnapshotIntakeBudget); default no limit. */
    intakeEntries?: number;
  } = {},
) {
  const anomalies = new AnomalyLog(64);
  const registry = new Registry(anomalies);
  const account = registry.openAccount("a".repeat(32), 1234);
  const ledger = registry.ledger(account, 0);
  const counters = new SequencerCounters();
  const timers = options.timers ?? new ManualTimers();
  const links = new TestLinks(timers);
  const budget = new ReorderBudget(options.budgetBytes ?? Number.POSITIVE_INFINITY);
  const resyncs: { deviceId: number; reason: string }[] = [];
  const intakeBudget = new SnapshotIntakeBudget(options.intakeEntries ?? Number.POSITIVE_INFINITY);
  const sequencer = new Sequencer(0, {
    registry,
    ledger,
    anomalies,
    counters,
    timers,
    options: {
      reorderCapacity: options.reorderCapacity ?? 1024,
      gapTimeoutMs: options.gapTimeoutMs ?? 100,
      maxSnapshotAllocations: 1_000_000,
    },
    budget,
    intakeBudget,
    links,
    requestResync: (deviceId, reason) => resyncs.push({ deviceId, reason }),
  });
  /** Delivers `e` on connection `source` (default 1). */
  const push = (e: StreamEvent, source = 1) => {
    links.delivered(source);
    sequencer.push(source, e.op, e.memoryType, e.seq, e.allocationId, e.address, e.sizeBytes);
  };
  const liveSet = () => sortById(ledgerContents(registry, ledger));
  const recoveries = counters.recoveries;
  return {
    sequencer,
    registry,
    ledger,
    anomalies,
    counters,
    recoveries,
    timers,
    links,
    budget,
    intakeBudget,
    resyncs,
    push,
    liveSet,
  };
}

export function sortById<T extends { allocationId: number }>(list: T[]): T[] {
  return list.slice().sort((a, b) => a.allocationId - b.allocationId);
}

/** What the runtime would hold after applying `events` in seq order (per device). */
export function liveAfter(
  events: readonly StreamEvent[],
  deviceId: number,
  throughSeq = Infinity,
): LiveAllocation[] {
  const live = new Map<number, LiveAllocation>();
  for (const e of [...events].filter((e) => e.deviceId === deviceId).sort((a, b) => a.seq - b.seq)) {
    if (e.seq > throughSeq) break;
    if (e.op === 1) {
      live.set(e.allocationId, {
        allocationId: e.allocationId,
        memoryType: e.memoryType as LiveAllocation["memoryType"],
        address: e.address,
        sizeBytes: e.sizeBytes,
      });
    } else live.delete(e.allocationId);
  }
  return sortById([...live.values()]);
}

/**
 * A valid stream for `devices` devices: each device's events have seq 1..n, ids are never reused,
 * frees free live allocations, and addresses are reused after frees (as a real allocator does).
 */
export function streamArb(devices: number, maxLength: number): fc.Arbitrary<StreamEvent[]> {
  return fc
    .array(
      fc.record({
        deviceId: fc.nat(devices - 1),
        free: fc.boolean(),
        pick: fc.nat(),
        memoryType: fc.nat(6),
        sizeBytes: fc.integer({ min: 1, max: 1 << 24 }),
      }),
      { maxLength },
    )
    .map((commands) => {
      const out: StreamEvent[] = [];
      const state = Array.from({ length: devices }, () => ({
        seq: 0,
        nextId: 1,
        live: [] as StreamEvent[],
        freeAddresses: [] as number[],
        top: 0,
      }));
      for (const c of commands) {
        const s = state[c.deviceId];
        if (c.free && s.live.length > 0) {
          const [victim] = s.live.splice(c.pick % s.live.length, 1);
          s.freeAddresses.push(victim.address);
          out.push({ ...victim, op: 2, seq: ++s.seq });
        } else {
          let address = s.freeAddresses.pop();
          if (address === undefined) {
            s.top += 1 << 24;
            address = s.top;
          }
          const alloc: StreamEvent = {
            op: 1,
            deviceId: c.deviceId,
            memoryType: c.memoryType,
            seq: ++s.seq,
            allocationId: s.nextId++,
            address,
            sizeBytes: c.sizeBytes,
          };
          s.live.push(alloc);
          out.push(alloc);
        }
      }
      return out;
    });
}
