import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface FleetOptions {
  /** Script every child runs (a compiled .js file). */
  entry: string;
  /** Number of children. */
  count: number;
  /** Command-line arguments of child `index` (0-based). */
  argsFor: (index: number) => string[];
  env?: NodeJS.ProcessEnv;
  /** Where the children's output goes, one line at a time, with the child and the stream it came from. */
  log: (line: string, child: { index: number; pid: number }, stream: ChildStream) => void;
  /** How long a child may take to end after SIGTERM before it gets SIGKILL, ms. Default 3000. */
  stopTimeoutMs?: number;
}

export type ChildStream = "stdout" | "stderr";

export interface ChildExit {
  index: number;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A supervised group of workload processes. Children stop on their own (a duration) or when the fleet
 * stops them; a child that dies is reported, not restarted, so a crash stays visible.
 */
export class Fleet {
  readonly children: ChildProcess[] = [];
  /** Resolves once every child has exited. */
  readonly exited: Promise<ChildExit[]>;
  private readonly stopTimeoutMs: number;

  constructor(options: FleetOptions) {
    this.stopTimeoutMs = options.stopTimeoutMs ?? 3000;
    const exits: Promise<ChildExit>[] = [];
    for (let index = 0; index < options.count; index++) {
      const child = spawn(process.execPath, [options.entry, ...options.argsFor(index)], {
        env: options.env ?? process.env,
        // stdin: a pipe never written to. It closes when this process ends, however it ends (even
        // SIGKILL): a child that watches it (process-main.ts --supervised) never outlives its fleet.
        stdio: ["pipe", "pipe", "pipe"],
      });
      this.children.push(child);
      const from = { index, pid: child.pid ?? 0 };
      if (child.stdout)
        createInterface({ input: child.stdout }).on("line", (line) => options.log(line, from, "stdout"));
      if (child.stderr)
        createInterface({ input: child.stderr }).on("line", (line) => options.log(line, from, "stderr"));
      exits.push(
        new Promise((resolve) => {
          child.once("exit", (code, signal) => resolve({ index, pid: child.pid ?? 0, code, signal }));
          // A child that cannot even start (e.g. a missing entry script) ends the same way.
          child.once("error", () => resolve({ index, pid: child.pid ?? 0, code: 1, signal: null }));
        }),
      );
    }
    this.exited = Promise.all(exits);
  }

  /** SIGTERM every running child (they flush and say goodbye), SIGKILL stragglers; resolves when all ended. */
  async stop(): Promise<ChildExit[]> {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    }
    const timer = setTimeout(() => {
      for (const child of this.children) {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    }, this.stopTimeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
