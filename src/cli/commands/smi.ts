import { Command, InvalidArgumentError } from "commander";
import { resolveServerUrl } from "../../monitor/endpoint.js";
import { MonitorError } from "../../monitor/errors.js";
import { fetchSummary } from "../../monitor/smi/fetch-summary.js";
import { toSmiJson } from "../../monitor/smi/json.js";
import { renderSmi } from "../../monitor/smi/render.js";
import { watchScreen } from "../../monitor/smi/watch.js";
import { stopRequests } from "../stop-requests.js";

interface SmiOptions {
  json?: boolean;
  watch?: boolean;
  interval: number;
  server?: string;
  http?: string;
}

const MIN_INTERVAL_MS = 50;

function parseInterval(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < MIN_INTERVAL_MS) {
    throw new InvalidArgumentError(`use a whole number of milliseconds >= ${MIN_INTERVAL_MS}, e.g. 1000`);
  }
  return ms;
}

/** `allocwatch smi`: device and process memory at a glance, from the server's HTTP API. */
export function smiCommand(): Command {
  return new Command("smi")
    .description("show device memory per device and per process (like nvidia-smi)")
    .option("--json", "print the summary as JSON")
    .option("-w, --watch", "refresh until Ctrl+C")
    .option("-i, --interval <ms>", "refresh interval with --watch, ms", parseInterval, 1000)
    .option("--server <url>", "server HTTP API base URL (e.g. http://127.0.0.1:7477)")
    .option("--http <host:port>", "server HTTP address (default 127.0.0.1:7477, or $ALLOCWATCH_HTTP)")
    .action(async (options: SmiOptions) => {
      const baseUrl = resolveServerUrl({
        server: options.server,
        http: options.http,
        env: process.env["ALLOCWATCH_HTTP"],
      });
      const color = process.stdout.isTTY === true && !process.env["NO_COLOR"];
      const show = async (): Promise<string> => {
        const summary = await fetchSummary(baseUrl);
        return options.json
          ? JSON.stringify(toSmiJson(summary), null, options.watch ? undefined : 2) + "\n"
          : renderSmi(summary, { serverUrl: baseUrl, now: new Date(), color });
      };
      if (!options.watch) {
        process.stdout.write(await show());
        return;
      }
      const stop = new AbortController();
      const stopListening = stopRequests.listen(() => stop.abort());
      try {
        // While watching, a missing server is a state to show, not a reason to quit: it may be starting.
        await watchScreen(
          () =>
            show().catch((err: unknown) => {
              if (err instanceof MonitorError) return `allocwatch: ${err.message}\n`;
              throw err;
            }),
          { intervalMs: options.interval, out: process.stdout, signal: stop.signal },
        );
      } finally {
        stopListening();
      }
    });
}
