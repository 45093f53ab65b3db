import { Command } from "commander";
import { createElement } from "react";
import { resolveServerUrl } from "../../monitor/endpoint.js";
import { MonitorError } from "../../monitor/errors.js";
import { LiveFeed } from "../../monitor/top/live-feed.js";
import { ExitCode, exitCodeOf } from "../exit-codes.js";
import { stopRequests } from "../stop-requests.js";

interface TopOptions {
  server?: string;
  http?: string;
}

// The alternate screen: top draws full-screen and, on exit, the terminal shows what it showed before.
const ENTER_ALTERNATE_SCREEN = "\x1b[?1049h\x1b[H\x1b[2J";
const LEAVE_ALTERNATE_SCREEN = "\x1b[?1049l";

const HELP = `
Keys: ↑/↓ select a process, Enter its largest and oldest allocations (Esc back), s sort, f one device
at a time, ? help, q or Ctrl+C quit. Bars show used (█, CB inside L1 as ▓) and the peak (|); the chart
is the last 60 s, each cell the per-second maximum, so bursts show. Follows the server's live stream
(/api/v1/stream); with no server it says so and retries every second. NO_COLOR turns colours off.
Needs a terminal: for pipes and logs use \`allocwatch smi -l 1\` (or \`smi --json -l 1\`).`;

/** `allocwatch top`: a full-screen live view of device memory (in the spirit of nvtop and tt-smi). */
export function topCommand(): Command {
  return new Command("top")
    .description("live full-screen view of device memory: bars, 60 s charts, processes, drill-down")
    .option("--server <url>", "server HTTP API base URL (e.g. http://127.0.0.1:7477)")
    .option("--http <host:port>", "server HTTP address (default 127.0.0.1:7477, or $ALLOCWATCH_HTTP)")
    .addHelpText("after", HELP)
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
    })
    .action(async (options: TopOptions) => {
      let baseUrl: string;
      try {
        baseUrl = resolveServerUrl({
          server: options.server,
          http: options.http,
          env: process.env["ALLOCWATCH_HTTP"],
        });
      } catch (err) {
        if (!(err instanceof MonitorError)) throw err;
        process.stderr.write(`allocwatch: ${err.message}\n`);
        process.exitCode = exitCodeOf(err.code);
        return;
      }
      if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
        process.stderr.write(
          "allocwatch: top needs a terminal; for a pipe or a log use `allocwatch smi -l 1` (or `smi --json -l 1`)\n",
        );
        process.exitCode = ExitCode.USAGE;
        return;
      }
      await runTop(baseUrl);
    });
}

async function runTop(baseUrl: string): Promise<void> {
  // Ink draws only the last frame when the environment says CI (it reads CI and CONTINUOUS_INTEGRATION
  // once, when it loads). top runs only on a terminal, so such a variable must not blank the screen: it is
  // set aside for this process, and Ink is loaded after.
  for (const name of ["CI", "CONTINUOUS_INTEGRATION"]) {
    if (name in process.env) process.env[name] = "false";
  }
  const [{ render }, { TopApp }] = await Promise.all([import("ink"), import("../../monitor/top/app.js")]);
  const feed = new LiveFeed(baseUrl);
  feed.start();
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.stdout.write(LEAVE_ALTERNATE_SCREEN);
  };
  // Whatever ends the process, the terminal gets its screen back.
  process.once("exit", restore);
  process.stdout.write(ENTER_ALTERNATE_SCREEN);
  const app = render(
    createElement(TopApp, { source: feed, serverUrl: baseUrl, color: !process.env["NO_COLOR"] }),
    { exitOnCtrlC: true, patchConsole: false },
  );
  const stopListening = stopRequests.listen(() => app.unmount());
  try {
    await app.waitUntilExit();
  } finally {
    stopListening();
    await feed.stop();
    restore();
    process.off("exit", restore);
  }
  process.exitCode = ExitCode.OK;
}
