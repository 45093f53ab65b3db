/** A demo process's output line, for a person. */
export interface DemoLine {
  text: string;
  /** Something went wrong (a client error): belongs on stderr. */
  problem: boolean;
}

/**
 * A demo process's milestone line (JSON on its stdout) as one human line; other lines pass unchanged.
 */
export function describeDemoLine(line: string, child: { index: number; pid: number }): DemoLine {
  const prefix = `[demo ${child.index} pid ${child.pid}]`;
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { text: `${prefix} ${line}`, problem: false };
  }
  const name = String(event["name"] ?? "");
  switch (event["event"]) {
    case "started":
      return {
        text: `${prefix} ${name}: model loaded on ${event["devices"]} device(s), ${event["workers"]} free-worker thread(s)${event["leak"] ? ", LEAKING" : ""}`,
        problem: false,
      };
    case "progress":
    case "finished":
    case "stopped": {
      const leaked = Number(event["leakedBytes"] ?? 0);
      const errors = Number(event["errors"] ?? 0);
      return {
        text:
          `${prefix} ${name}: ${event["event"] === "progress" ? "" : `${event["event"]} after `}` +
          `${event["steps"]} steps, ${event["events"]} alloc/free events (${event["freesOnWorkers"]} frees on workers), ` +
          `sent ${event["sent"]}, dropped ${event["dropped"]}, resyncs ${event["resyncs"]}` +
          (errors > 0 ? `, client errors ${errors}` : "") +
          (leaked > 0 ? `, leaked ${(leaked / 1024 ** 2).toFixed(1)} MiB` : ""),
        problem: false,
      };
    }
    case "client-error": {
      const cause = event["reason"] === undefined ? event["code"] : `${event["code"]} ${event["reason"]}`;
      const consequence =
        event["reason"] !== undefined
          ? "; its events are counted as dropped until it connects, then a snapshot makes the view exact"
          : "";
      return { text: `${prefix} ${name}: ${event["message"]} (${cause})${consequence}`, problem: true };
    }
    default:
      return { text: `${prefix} ${line}`, problem: false };
  }
}
