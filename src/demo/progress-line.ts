/**
 * A demo process's milestone line (JSON on its stdout) as one human line; other lines pass unchanged.
 */
export function describeDemoLine(line: string, child: { index: number; pid: number }): string {
  const prefix = `[demo ${child.index} pid ${child.pid}]`;
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${prefix} ${line}`;
  }
  const name = String(event["name"] ?? "");
  switch (event["event"]) {
    case "started":
      return `${prefix} ${name}: model loaded on ${event["devices"]} device(s), ${event["workers"]} free-worker thread(s)${event["leak"] ? ", LEAKING" : ""}`;
    case "progress":
    case "finished":
    case "stopped": {
      const leaked = Number(event["leakedBytes"] ?? 0);
      return (
        `${prefix} ${name}: ${event["event"] === "progress" ? "" : `${event["event"]} after `}` +
        `${event["steps"]} steps, ${event["events"]} alloc/free events (${event["freesOnWorkers"]} frees on workers), ` +
        `sent ${event["sent"]}, dropped ${event["dropped"]}, resyncs ${event["resyncs"]}` +
        (leaked > 0 ? `, leaked ${(leaked / 1024 ** 2).toFixed(1)} MiB` : "")
      );
    }
    default:
      return `${prefix} ${line}`;
  }
}
