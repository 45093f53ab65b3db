import type { Logger } from "pino";
import type { LeakReport } from "../api-types.js";
import type { Registry } from "../registry.js";
import type { SessionTable } from "../session-table.js";
import type { TimerScheduler } from "../timers.js";
import type { LeakArchive } from "./leak-archive.js";
import { buildLeakReport } from "./leak-report.js";

/**
 * Records a leak report, before its allocations are released, for every session that ends still holding
 * some: its process exited or was killed (process-exited), never came back (grace-expired), said
 * GOODBYE without freeing everything (goodbye: the process ended with the memory still allocated, as a
 * leak it is), or was pushed out by newer sessions of its process (superseded). A server shutdown
 * records none: the processes did not end. A session that freed everything records none.
 */
export function recordLeaks(
  sessions: SessionTable,
  registry: Registry,
  archive: LeakArchive,
  clocks: { timers: TimerScheduler; epochMs: () => number },
  log: Logger,
): void {
  sessions.listen({
    releasing: (session, reason) => {
      if (reason === "server-shutdown") return;
      const report = buildLeakReport(session, reason, registry, {
        nowMs: clocks.timers.nowMs(),
        epochMs: clocks.epochMs(),
      });
      if (report !== undefined) saveLeakReport(report, archive, log);
    },
  });
}

/**
 * Saves a leak report and logs it; a failing store (a history database) is logged and must not stop the
 * session's release. Also what the main thread does with a shard's reports (shards/shard-mirror.ts).
 */
export function saveLeakReport(report: LeakReport, archive: LeakArchive, log: Logger): void {
  let saved: LeakReport;
  try {
    saved = archive.save(report);
  } catch (error) {
    log.error({ err: error, sessionId: report.sessionId }, "leak report not stored");
    return;
  }
  log.warn(
    {
      sessionId: saved.sessionId,
      clientPid: saved.pid,
      reason: saved.reason,
      reportId: saved.id,
      bytes: saved.bytes,
    },
    "session ended holding allocations: leak report recorded",
  );
}
