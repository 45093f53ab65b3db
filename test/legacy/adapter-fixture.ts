// A LegacyAdapter on a real socket, built from the server's real parts, for what startServer cannot
// inject (the device discovery hook) or does not expose (the registry): its reports, its devices.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import pino from "pino";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import { DeviceCatalog } from "../../src/server/device-catalog.js";
import { LegacyAdapter } from "../../src/server/legacy/adapter.js";
import type { DiscoverLegacyDevices } from "../../src/server/legacy/device-table.js";
import { type LegacyOptions, resolveLegacyOptions } from "../../src/server/legacy/options.js";
import { kernelPeerCredentials } from "../../src/server/peer-credentials.js";
import { Registry } from "../../src/server/registry.js";
import { ReorderBudget } from "../../src/server/reorder-budget.js";
import { SequencerCounters } from "../../src/server/sequencer.js";
import { SessionTable } from "../../src/server/session-table.js";
import { systemTimers, type TimerScheduler } from "../../src/server/timers.js";
import { RawLegacyClient } from "./legacy-server.js";

export interface AdapterFixture {
  adapter: LegacyAdapter;
  registry: Registry;
  anomalies: AnomalyLog;
  sessions: SessionTable;
  connect(): Promise<RawLegacyClient>;
  stop(): Promise<void>;
}

export async function startAdapter(
  options: Partial<LegacyOptions> = {},
  extra: { discoveredDevices?: DiscoverLegacyDevices; stdout?: Writable; timers?: TimerScheduler } = {},
): Promise<AdapterFixture> {
  const { timers = systemTimers, ...hooks } = extra;
  const dir = mkdtempSync(join(tmpdir(), "aw-legacy-adapter-"));
  const anomalies = new AnomalyLog(256);
  const registry = new Registry(anomalies);
  const catalog = new DeviceCatalog(anomalies);
  const sessions = new SessionTable(
    {
      registry,
      anomalies,
      counters: new SequencerCounters(),
      timers,
      sequencerOptions: { reorderCapacity: 256, gapTimeoutMs: 100, maxSnapshotAllocations: 1000 },
      reorderBudget: new ReorderBudget(),
    },
    catalog,
  );
  const adapter = new LegacyAdapter(resolveLegacyOptions({ socketPath: join(dir, "tt.sock"), ...options }), {
    sessions,
    registry,
    anomalies,
    catalog,
    timers,
    log: pino({ level: "silent" }),
    peerCredentials: kernelPeerCredentials(),
    ...hooks,
  });
  await adapter.listen();
  return {
    adapter,
    registry,
    anomalies,
    sessions,
    connect: () => RawLegacyClient.connect(adapter.socketPath),
    async stop() {
      await adapter.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
