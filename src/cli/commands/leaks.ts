import { Command, InvalidArgumentError } from "commander";
import { resolveServerUrl } from "../../monitor/endpoint.js";
import { fetchLeaks } from "../../monitor/leaks/fetch-leaks.js";
import { renderLeaks } from "../../monitor/leaks/render.js";

interface LeaksOptions {
  pid?: number;
  json?: boolean;
  limit: number;
  server?: string;
  http?: string;
}

/** The server's bound on one answer (`/api/v1/leaks?limit=`). */
const MAX_LIMIT = 1000;

function parsePid(value: string): number {
  const pid = Number(value);
  if (!/^\d+$/.test(value) || !(pid >= 1 && pid <= 0xffffffff)) {
    throw new InvalidArgumentError("use a process id (a whole number >= 1)");
  }
  return pid;
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value) || !(limit >= 1 && limit <= MAX_LIMIT)) {
    throw new InvalidArgumentError(`use a whole number in 1..${MAX_LIMIT}`);
  }
  return limit;
}

/** `allocwatch leaks`: what processes still held when they ended, from the server's leak reports. */
export function leaksCommand(): Command {
  return new Command("leaks")
    .description(
      "list leak reports: processes that ended (exited, were killed, never came back) still holding " +
        "device memory, with the bytes per memory type and the contexts (operations) that allocated them",
    )
    .option("--pid <pid>", "only the reports of this process id", parsePid)
    .option("--json", "print the reports as JSON (LeaksResponse, docs/API.md), with every field")
    .option("-n, --limit <n>", `newest reports to show, 1..${MAX_LIMIT}`, parseLimit, 20)
    .option("--server <url>", "server HTTP API base URL (e.g. http://127.0.0.1:7477)")
    .option("--http <host:port>", "server HTTP address (default 127.0.0.1:7477, or $ALLOCWATCH_HTTP)")
    .addHelpText(
      "after",
      "\nA report is recorded when a session ends holding allocations: its process exited or was killed\n" +
        "without freeing them, or said goodbye while some were still allocated. A process that freed\n" +
        "everything leaves none. The server keeps the newest 256 in memory (or its history database).\n" +
        "Name contexts in a client to see which operation leaked (docs/INTEGRATION.md).",
    )
    .action(async (options: LeaksOptions) => {
      const baseUrl = resolveServerUrl({
        server: options.server,
        http: options.http,
        env: process.env["ALLOCWATCH_HTTP"],
      });
      const answer = await fetchLeaks(
        baseUrl,
        options.pid === undefined ? { limit: options.limit } : { pid: options.pid, limit: options.limit },
      );
      process.stdout.write(
        options.json ? `${JSON.stringify(answer, null, 2)}\n` : renderLeaks(answer.reports),
      );
    });
}
