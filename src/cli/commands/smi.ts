import { Command, InvalidArgumentError } from "commander";
import { resolveServerUrl } from "../../monitor/endpoint.js";
import { MonitorError } from "../../monitor/errors.js";
import { listenForQuit } from "../../monitor/quit-key.js";
import { DEFAULT_SMI_COLUMNS } from "../../monitor/smi/columns.js";
import { fetchSummary } from "../../monitor/smi/fetch-summary.js";
import { toSmiJson } from "../../monitor/smi/json.js";
import { renderSmi } from "../../monitor/smi/render.js";
import { watchScreen } from "../../monitor/smi/watch.js";
import { ExitCode, exitCodeOf } from "../exit-codes.js";
import { stopRequests } from "../stop-requests.js";

interface SmiOptions {
  json?: boolean;
  watch?: boolean;
  loop?: number | true;
  interval: number;
  id?: number[];
  pid?: number[];
  wide?: boolean;
  server?: string;
  http?: string;
}

const MIN_INTERVAL_MS = 50;
/** `-l` with no value: nvidia-smi's default loop, seconds. */
const DEFAULT_LOOP_SECONDS = 5;

function parseInterval(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < MIN_INTERVAL_MS) {
    throw new InvalidArgumentError(`use a whole number of milliseconds >= ${MIN_INTERVAL_MS}, e.g. 1000`);
  }
  return ms;
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds * 1000 < MIN_INTERVAL_MS) {
    throw new InvalidArgumentError(`use a number of seconds >= ${MIN_INTERVAL_MS / 1000}, e.g. 1`);
  }
  return seconds;
}

/** "0,2" → [0, 2]: a comma-separated list of whole numbers in [0, max]. */
function idList(what: string, max: number) {
  return (value: string): number[] => {
    const ids = value.split(",").map((part) => part.trim());
    if (ids.some((id) => !/^\d+$/.test(id) || Number(id) > max)) {
      throw new InvalidArgumentError(`use ${what}s separated by commas, e.g. 0,1`);
    }
    return ids.map(Number);
  };
}

/** Width the tables must fit: the terminal's, or $COLUMNS / 100 when the output is not a terminal. */
function outputColumns(): number {
  if (process.stdout.isTTY === true && process.stdout.columns > 0) return process.stdout.columns;
  const fromEnv = Number(process.env["COLUMNS"]);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_SMI_COLUMNS;
}

const HELP = `
Columns are in MiB (DRAM and SYSMEM whole, the others to 0.1). Each device has four lines: used,
peak (highest since the server started, so bursts inside an operation show), total, and use%
(L1 counts CB, which lives in L1; "!" marks use over capacity). The tables fit 100 columns, or 80
on a narrower terminal ($COLUMNS when piped); --wide shows every column.

Exit codes: 0 ok, 2 usage error, 3 no server at the address, 4 the server answered with an error.
--json: one document (one per line with -l/--watch), schema in docs/SMI.md.

Examples:
  allocwatch smi                 the table, once
  allocwatch smi -l 1            every second until q or Ctrl+C (nvidia-smi -l)
  allocwatch smi -i 0 --pid 42   device 0, process 42 only
  allocwatch smi --json | jq .devices[0].memory.DRAM`;

/** `allocwatch smi`: device and process memory at a glance, from the server's HTTP API. */
export function smiCommand(): Command {
  return new Command("smi")
    .description("show device memory per device and per process (like nvidia-smi)")
    .option("--json", "print the reading as JSON (schemaVersion, timestamp, server version)")
    .option("-i, --id <ids>", "only these device ids (comma-separated)", idList("device id", 65_534))
    .option("--pid <pids>", "only these processes (comma-separated pids)", idList("pid", 2 ** 31))
    .option(
      "-l, --loop [sec]",
      `refresh every SEC seconds (default ${DEFAULT_LOOP_SECONDS}) until q`,
      parseSeconds,
    )
    .option("-w, --watch", "refresh every --interval ms until q or Ctrl+C")
    .option("--interval <ms>", "refresh interval with --watch, ms", parseInterval, 1000)
    .option("--wide", "every column, whatever the terminal width")
    .option("--server <url>", "server HTTP API base URL (e.g. http://127.0.0.1:7477)")
    .option("--http <host:port>", "server HTTP address (default 127.0.0.1:7477, or $ALLOCWATCH_HTTP)")
    .addHelpText("after", HELP)
    .exitOverride((err) => {
      // Commander's own usage errors exit 1; the monitors' contract is 2 (help and version stay 0).
      process.exit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
    })
    .action(async (options: SmiOptions) => {
      try {
        await runSmi(options);
      } catch (err) {
        if (!(err instanceof MonitorError)) throw err;
        process.stderr.write(`allocwatch: ${err.message}\n`);
        process.exitCode = exitCodeOf(err.code);
      }
    });
}

async function runSmi(options: SmiOptions): Promise<void> {
  const baseUrl = resolveServerUrl({
    server: options.server,
    http: options.http,
    env: process.env["ALLOCWATCH_HTTP"],
  });
  const looping = options.loop !== undefined || options.watch === true;
  const intervalMs =
    options.loop !== undefined
      ? Math.round((options.loop === true ? DEFAULT_LOOP_SECONDS : options.loop) * 1000)
      : options.interval;
  const color = process.stdout.isTTY === true && !process.env["NO_COLOR"];
  const filter = { deviceIds: options.id, pids: options.pid };
  const show = async (): Promise<string> => {
    const summary = await fetchSummary(baseUrl);
    const now = new Date();
    return options.json
      ? JSON.stringify(
          toSmiJson(summary, { ...filter, now, serverUrl: baseUrl }),
          null,
          looping ? undefined : 2,
        ) + "\n"
      : renderSmi(summary, {
          ...filter,
          serverUrl: baseUrl,
          now,
          color,
          columns: outputColumns(),
          wide: options.wide === true,
        });
  };
  if (!looping) {
    process.stdout.write(await show());
    return;
  }
  const stop = new AbortController();
  const stopListening = stopRequests.listen(() => stop.abort());
  const stopKeys = listenForQuit(process.stdin, () => stop.abort());
  try {
    // While looping, a missing server is a state to show, not a reason to quit: it may be starting.
    await watchScreen(
      () =>
        show().catch((err: unknown) => {
          if (err instanceof MonitorError) return `allocwatch: ${err.message}\n`;
          throw err;
        }),
      { intervalMs, out: process.stdout, signal: stop.signal },
    );
  } finally {
    stopKeys();
    stopListening();
  }
}
