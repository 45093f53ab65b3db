import { Worker } from "node:worker_threads";
import { ShardStartError } from "./errors.js";
import type { FromShard, ShardWorkerData } from "./messages.js";
import { ShardCallLane } from "./shard-calls.js";

/** How one worker thread of a shard is started and what it reports; the pool decides what follows. */
export interface ShardWorkerEvents {
  /** Every message after "ready", in the order the worker posted them. */
  message(message: FromShard): void;
  /** The thread ended after it was ready; `error` is what it threw, if it threw. */
  exit(code: number, error: Error | undefined): void;
}

/** One running (or starting) worker thread of a shard, with its call lane. */
export class ShardWorker {
  readonly lane: ShardCallLane;
  /** performance.now() when it said it was ready; undefined before. */
  readyAtMs: number | undefined;
  private readonly worker: Worker;
  private exited = false;
  private readonly exitedPromise: Promise<void>;

  /**
   * Starts the thread; `ready` resolves when it says so, or rejects with ShardStartError when it throws,
   * exits, or stays silent for `readyTimeoutMs` first (the thread is terminated then).
   */
  static start(
    shard: number,
    workerUrl: URL,
    data: unknown,
    readyTimeoutMs: number,
    events: ShardWorkerEvents,
  ): { worker: ShardWorker | undefined; ready: Promise<void> } {
    const lane = new ShardCallLane(shard);
    let worker: ShardWorker;
    try {
      worker = new ShardWorker(shard, workerUrl, data, lane);
    } catch (error) {
      lane.close();
      return { worker: undefined, ready: Promise.reject(new ShardStartError(shard, error)) };
    }
    return { worker, ready: worker.wire(shard, readyTimeoutMs, events) };
  }

  private constructor(shard: number, workerUrl: URL, data: unknown, lane: ShardCallLane) {
    this.lane = lane;
    const workerData: ShardWorkerData = {
      shard,
      calls: lane.workerPort,
      replySignal: lane.replySignal,
      data,
    };
    this.worker = new Worker(workerUrl, { workerData, transferList: [lane.workerPort] });
    this.exitedPromise = new Promise((resolve) => this.worker.once("exit", () => resolve()));
  }

  private wire(shard: number, readyTimeoutMs: number, events: ShardWorkerEvents): Promise<void> {
    let thrown: Error | undefined;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new ShardStartError(shard, `it did not say it was ready within ${readyTimeoutMs} ms`));
        void this.worker.terminate();
      }, readyTimeoutMs);
      this.worker.on("error", (error) => {
        thrown = error;
      });
      this.worker.on("message", (message: FromShard) => {
        if (this.readyAtMs === undefined) {
          if (message.kind !== "ready") return; // nothing but "ready" is expected before it
          this.readyAtMs = performance.now();
          clearTimeout(timer);
          resolve();
          return;
        }
        events.message(message);
      });
      this.worker.on("exit", (code) => {
        this.exited = true;
        this.lane.close();
        clearTimeout(timer);
        if (this.readyAtMs === undefined) {
          reject(
            new ShardStartError(shard, thrown ?? `its thread exited with code ${code} before it was ready`),
          );
          return;
        }
        events.exit(code, thrown);
      });
    });
  }

  get hasExited(): boolean {
    return this.exited;
  }

  post(message: unknown): void {
    this.worker.postMessage(message);
  }

  /**
   * Asks the thread to stop (the "stop" message), waits up to `timeoutMs` for it to exit, then
   * terminates it. Resolves once it has exited either way.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.exited) return;
    try {
      this.worker.postMessage({ kind: "stop" });
    } catch {
      // already closing: terminate below
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    const outcome = await Promise.race([this.exitedPromise, late]);
    clearTimeout(timer);
    if (outcome === "late") await this.worker.terminate();
    await this.exitedPromise;
  }

  /** Ends the thread at once (a worker that failed to start, or one stuck past its stop timeout). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
    await this.exitedPromise;
  }
}
