import { Command, InvalidArgumentError } from "commander";
import { resolveServerUrl } from "../../monitor/endpoint.js";
import { fetchHistory } from "../../monitor/history/fetch-history.js";
import { renderHistory } from "../../monitor/history/render.js";
import { API_MEMORY_TYPES } from "../../server/api-types.js";
import { parseDuration } from "../../server/history/duration.js";

interface HistoryCliOptions {
  since: string;
  device?: number;
  pid?: number;
  type?: string;
  json?: boolean;
  server?: string;
  http?: string;
}

function wholeNumber(min: number, max: number, what: string): (value: string) => number {
  return (value) => {
    const n = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= min && n <= max))
      throw new InvalidArgumentError(`use ${what}, a whole number in ${min}..${max}`);
    return n;
  };
}

/** `allocwatch history`: memory in use over time, from the server's history database. */
export function historyCommand(): Command {
  return new Command("history")
    .description("show device memory over time (and process lifetimes, anomalies) from the server's history")
    .option(
      "--since <duration>",
      "how far back: a whole number and s, m, h, d or w (e.g. 30m, 1h, 7d)",
      (value) => {
        try {
          parseDuration(value, "--since");
        } catch (error) {
          throw new InvalidArgumentError((error as Error).message);
        }
        return value;
      },
      "1h",
    )
    .option("--device <id>", "only this device", wholeNumber(0, 0xfffe, "a device id"))
    .option(
      "--pid <pid>",
      "that process's memory per device instead of the devices' totals",
      wholeNumber(1, 0x7fffffff, "a pid"),
    )
    .option("--type <type>", `only this memory type: ${API_MEMORY_TYPES.join(", ")}`, (value) => {
      if (!(API_MEMORY_TYPES as readonly string[]).includes(value)) {
        throw new InvalidArgumentError(`use one of ${API_MEMORY_TYPES.join(", ")}`);
      }
      return value;
    })
    .option("--json", "print the server's answer (/api/v1/history) as JSON")
    .option("--server <url>", "server HTTP API base URL (e.g. http://127.0.0.1:7477)")
    .option("--http <host:port>", "server HTTP address (default 127.0.0.1:7477, or $ALLOCWATCH_HTTP)")
    .addHelpText(
      "after",
      "\nThe server keeps history unless started with --no-history: a sample of every device × memory type\n" +
        "and process per second for the last hour, one per minute (lowest, highest, last) for the\n" +
        "retention (serve --history-retention, default 7d). Each chart column shows the highest bytes in use\n" +
        "of its time slice, scaled to that line's peak; a blank column had no sample (server down).\n" +
        "NO_COLOR turns off bold headings.\n\n" +
        "Examples:\n  allocwatch history --since 30m\n  allocwatch history --device 0 --type DRAM --since 1d\n" +
        "  allocwatch history --pid 4242 --json\n",
    )
    .action(async (options: HistoryCliOptions) => {
      const sinceMs = parseDuration(options.since, "--since");
      const baseUrl = resolveServerUrl({
        server: options.server,
        http: options.http,
        env: process.env["ALLOCWATCH_HTTP"],
      });
      const history = await fetchHistory(baseUrl, {
        fromMs: Date.now() - sinceMs,
        deviceId: options.device,
        pid: options.pid,
        type: options.type,
      });
      const color = process.stdout.isTTY === true && !process.env["NO_COLOR"];
      process.stdout.write(
        options.json
          ? `${JSON.stringify(history, null, 2)}\n`
          : renderHistory(history, { serverUrl: baseUrl, color }),
      );
    });
}
