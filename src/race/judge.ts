/**
 * Judge one run's reports as the strategy's server would apply them: the original address-keyed server for
 * the address strategies, allocwatch's sequence order for `ordered`; then compare what the server believes
 * live with each device's allocator.
 */
import type { AllocatorSnapshot } from "../device/allocator/types.js";
import { compareLiveSets } from "./live-set-comparison.js";
import { type Anomaly, type ReplayEvent, replayEvents, streamKey } from "./replay.js";
import { REPLAY_ANOMALY_KINDS, type ReplayAnomalyKind } from "./replay-anomaly-kind.js";
import type { Strategy } from "./strategy.js";

/** Anomalies per kind (the server's AnomalyKind names). */
export type AnomalyCounts = Record<ReplayAnomalyKind, number>;

export interface Judgement {
  /** Anomalies of every kind, plus one for each device whose replayed live set is not the allocator's. */
  failures: number;
  anomalies: number;
  byKind: AnomalyCounts;
  /** The server's live set equals the allocator's on every device. */
  liveSetEqual: boolean;
  /** Live allocations whose report the server never applied, or applied to another buffer. */
  liveMismatches: number;
  /** The first anomalies found, for a counterexample's description. */
  samples: Anomaly[];
}

export function judge(
  strategy: Strategy,
  arrived: readonly ReplayEvent[],
  snapshots: ReadonlyMap<number, AllocatorSnapshot>,
): Judgement {
  const mode = strategy.server === "sequence" ? "ordered" : "naive";
  const replay = replayEvents(arrived, { mode, maxSamples: 5 });
  let liveMismatches = 0;
  let unequalDevices = 0;
  for (const [deviceId, snapshot] of snapshots) {
    const replayed = replay.live.get(streamKey(0, deviceId)) ?? [];
    const comparison = compareLiveSets(mode, replayed, snapshot.allocations);
    if (!comparison.equal) unequalDevices++;
    liveMismatches += comparison.missing.length + comparison.extra.length;
  }
  const byKind = {} as AnomalyCounts;
  for (const kind of REPLAY_ANOMALY_KINDS) byKind[kind] = replay.byKind[kind];
  return {
    failures: replay.anomalies + unequalDevices,
    anomalies: replay.anomalies,
    byKind,
    liveSetEqual: unequalDevices === 0,
    liveMismatches,
    samples: replay.samples,
  };
}

export function emptyCounts(): AnomalyCounts {
  const counts = {} as AnomalyCounts;
  for (const kind of REPLAY_ANOMALY_KINDS) counts[kind] = 0;
  return counts;
}
