import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BenchmarkFailedError } from "./errors.js";

/**
 * Request/response over the IPC channel of a forked bench script (a server under test, a load
 * generator). The child announces itself with one `{ ready: info }` message, then answers each
 * `{ id, type, ... }` request with `{ id, ok, value | error }`.
 */
export interface ChildRequest {
  type: string;
  [key: string]: unknown;
}

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export interface ForkOptions {
  args?: string[];
  /** Node flags, e.g. ["--expose-gc"] or ["--cpu-prof"]. */
  execArgv?: string[];
  /** How long the child may take to send `ready`, ms. */
  readyTimeoutMs?: number;
}

/**
 * With BENCH_CPU_PROF_DIR set, every bench child writes a V8 CPU profile there when it exits
 * (summarise it with bench/tools/profile-summary.js).
 */
function profilingFlags(): string[] {
  const dir = process.env["BENCH_CPU_PROF_DIR"];
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

export class BenchChild<Ready = unknown> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private exitError: Error | undefined;

  private constructor(
    readonly process: ChildProcess,
    readonly ready: Ready,
    readonly label: string,
  ) {
    process.on("message", (message: Reply) => {
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new BenchmarkFailedError(`${label}: ${message.error}`));
    });
    process.on("exit", (code, signal) => {
      this.exitError = new BenchmarkFailedError(`${label} exited (code ${code}, signal ${signal})`);
      for (const waiter of this.pending.values()) waiter.reject(this.exitError);
      this.pending.clear();
    });
  }

  /** Forks `script` (a compiled bench file URL) and waits for its ready message. */
  static start<Ready>(script: URL, options: ForkOptions = {}): Promise<BenchChild<Ready>> {
    const path = fileURLToPath(script);
    const label = path.split("/").slice(-2).join("/");
    const child = fork(path, options.args ?? [], {
      execArgv: [...(options.execArgv ?? []), ...profilingFlags()],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(
          new BenchmarkFailedError(`${label} did not start within ${options.readyTimeoutMs ?? 15000} ms`),
        );
      }, options.readyTimeoutMs ?? 15000);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new BenchmarkFailedError(`${label} exited during start-up (code ${code})`));
      };
      child.once("exit", onExit);
      child.once("message", (message: { ready?: Ready }) => {
        clearTimeout(timer);
        child.off("exit", onExit);
        resolve(new BenchChild(child, message.ready as Ready, label));
      });
    });
  }

  request<T>(message: ChildRequest): Promise<T> {
    if (this.exitError !== undefined) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.process.send({ ...message, id });
    });
  }

  /** Asks the child to exit (it runs its own shutdown), then kills it if it has not within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once("exit", () => resolve()));
    this.process.send({ id: 0, type: "exit" });
    const timer = setTimeout(() => this.process.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

export type RequestHandlers = Record<string, (request: ChildRequest) => unknown | Promise<unknown>>;

/**
 * Child side: sends `ready`, then serves requests until the parent asks to exit (or disconnects),
 * then calls `shutdown` and exits.
 */
export function serveParent(ready: unknown, handlers: RequestHandlers, shutdown: () => Promise<void>): void {
  const send = process.send?.bind(process);
  if (send === undefined)
    throw new Error("bench child scripts must be started by the bench runner (no IPC channel)");
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await shutdown().catch(() => {});
    process.exit(0);
  };
  process.on("disconnect", stop);
  process.on("message", async (request: ChildRequest & { id: number }) => {
    if (request.type === "exit") return stop();
    const handler = handlers[request.type];
    try {
      if (handler === undefined) throw new Error(`unknown request "${request.type}"`);
      const value = await handler(request);
      send({ id: request.id, ok: true, value });
    } catch (err) {
      send({ id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  });
  send({ ready });
}
