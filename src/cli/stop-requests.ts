// How a command is asked to end, the same way for every command: a signal (Ctrl+C, kill, a closed
// terminal), the reader of its output going away (EPIPE: `allocwatch smi --watch | head -2`), or an
// exception nothing caught. Node ignores SIGPIPE, so a closed pipe arrives as an 'error' event on
// stdout, which, unhandled, prints a stack trace and exits 1; here it is an orderly stop with exit 0.

/** Why a command that runs until stopped is asked to stop. */
export type StopCause = "SIGINT" | "SIGTERM" | "SIGHUP" | "EPIPE" | "ERROR";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** What StopRequests needs of the process: the real `process`, or a fake in tests. */
export type CommandProcess = Pick<NodeJS.Process, "on" | "off" | "exit" | "exitCode"> & {
  readonly stdout: NodeJS.EventEmitter;
  readonly stderr: NodeJS.EventEmitter & { write(text: string): unknown };
};

/**
 * The process's stop requests. A command that runs until stopped (serve, start, demo, smi --watch)
 * `listen`s: its stop function is called once, at the first request, and is expected to end the
 * command in order (children stopped, sockets removed). Other commands do not listen: signals keep
 * their default action, and a closed output ends the process at once with exit code 0.
 */
export class StopRequests {
  private stop: ((cause: StopCause) => void) | undefined;
  private requested: StopCause | undefined;
  private watchingOutput = false;

  constructor(private readonly host: CommandProcess) {}

  /** Called once by main.ts, before any command runs. */
  watchOutput(): void {
    if (this.watchingOutput) return;
    this.watchingOutput = true;
    this.host.stdout.on("error", this.onOutputError);
    this.host.stderr.on("error", this.onOutputError);
  }

  /**
   * Until the returned function is called, SIGINT, SIGTERM, SIGHUP, EPIPE on stdout/stderr and an
   * uncaught exception call `stop` (once; later requests are absorbed, so a second Ctrl+C does not cut
   * a shutdown short). An uncaught exception is printed and makes the exit code 1.
   */
  listen(stop: (cause: StopCause) => void): () => void {
    this.stop = stop;
    this.requested = undefined;
    for (const signal of SIGNALS) this.host.on(signal, this.onSignal);
    this.host.on("uncaughtException", this.onUncaught);
    return () => {
      if (this.stop === stop) this.stop = undefined;
      for (const signal of SIGNALS) this.host.off(signal, this.onSignal);
      this.host.off("uncaughtException", this.onUncaught);
    };
  }

  /** The first stop request since `listen`, if any. */
  get cause(): StopCause | undefined {
    return this.requested;
  }

  private request(cause: StopCause): void {
    if (this.requested !== undefined) return;
    this.requested = cause;
    this.stop?.(cause);
  }

  private readonly onSignal = (signal: NodeJS.Signals) => this.request(signal as StopCause);

  private readonly onOutputError = (error: NodeJS.ErrnoException) => {
    // Anything else (EIO, EBADF ...) is a real failure: keep Node's report of it.
    if (error.code !== "EPIPE") throw error;
    // Whoever read our output has all they wanted; that is success (what `cmd | head` expects).
    if (this.requested !== "ERROR") this.host.exitCode = 0;
    if (this.stop === undefined) this.host.exit(0);
    else this.request("EPIPE");
  };

  private readonly onUncaught = (error: unknown) => {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.host.stderr.write(`allocwatch: internal error, stopping: ${text}\n`);
    this.host.exitCode = 1;
    // Failing again while already stopping: the orderly way is broken, end now.
    if (this.requested !== undefined) this.host.exit(1);
    else this.request("ERROR");
  };
}

/** This process's stop requests (main.ts watches the output; long-running commands listen). */
export const stopRequests = new StopRequests(process);
