#!/usr/bin/env node
// The composition root: the only place that wires the parts together. Each subcommand lives in
// src/cli/commands/<name>.ts and exports a function returning a commander Command.
import { Command } from "commander";
import { VERSION } from "../version.js";
import { demoCommand } from "./commands/demo.js";
import { historyCommand } from "./commands/history.js";
import { leaksCommand } from "./commands/leaks.js";
import { raceCommand } from "./commands/race.js";
import { serveCommand } from "./commands/serve.js";
import { smiCommand } from "./commands/smi.js";
import { startCommand } from "./commands/start.js";
import { topCommand } from "./commands/top.js";
import { stopRequests } from "./stop-requests.js";

const program = new Command("allocwatch")
  .description("Exact, cross-process tracker of accelerator device memory (tt-metal model).")
  .version(VERSION)
  .showHelpAfterError("(run with --help for usage)");

// Subcommands register here, one line each, in the order `--help` lists them.
program.addCommand(serveCommand());
program.addCommand(smiCommand());
program.addCommand(leaksCommand());
program.addCommand(topCommand());
program.addCommand(historyCommand());
program.addCommand(demoCommand());
program.addCommand(startCommand());
program.addCommand(raceCommand());

// Before anything writes: a reader that goes away (`| head`) ends a command quietly, never with EPIPE.
stopRequests.watchOutput();
program.parseAsync(process.argv).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`allocwatch: ${message}\n`);
  process.exitCode = 1;
});
