import { Worker } from "node:worker_threads";
import type { Buffer, BufferTransfer } from "../device/buffer.js";
import type { SharedDeviceHandle } from "../device/device.js";

/** What a free worker starts with (structured-cloned into the thread). */
export interface FreeWorkerData {
  index: number;
  devices: SharedDeviceHandle[];
  sessionId: string;
  processName: string;
  socketPath: string | undefined;
  originNs: bigint;
  /** One Int32 per worker: buffers posted to it and not yet freed. */
  inFlight: SharedArrayBuffer;
}

export type ToFreeWorker =
  | { kind: "free"; transfers: BufferTransfer[] }
  | { kind: "drain"; token: number }
  | { kind: "close" };

type FromFreeWorker = { kind: "drained"; token: number } | { kind: "closed" };

export interface FreePoolOptions {
  workers: number;
  devices: SharedDeviceHandle[];
  sessionId: string;
  processName: string;
  socketPath: string | undefined;
  originNs: bigint;
  /** Most buffers waiting to be freed per worker; beyond it the caller frees in place. Default 8. */
  maxInFlightPerWorker?: number;
}

const workerEntry = new URL("./free-worker.js", import.meta.url);

/**
 * Worker threads that free buffers the main thread hands them, as a runtime frees tensors from another
 * thread. Bounded: when a worker lags `maxInFlightPerWorker` buffers behind, the buffer is freed in place.
 * Transfers are posted once per turn of the event loop, batched, so a step costs a few messages.
 */
export class FreePool {
  /** Buffers handed to a worker thread, and freed here because their worker was too far behind. */
  readonly counters = { handedOver: 0, freedInPlace: 0 };
  private readonly workers: Worker[] = [];
  private readonly inFlight: Int32Array;
  private readonly pending: BufferTransfer[][];
  private readonly maxInFlight: number;
  private next = 0;
  private flushScheduled = false;
  private token = 0;
  private readonly waiting = new Map<number, () => void>();

  constructor(options: FreePoolOptions) {
    const shared = new SharedArrayBuffer(4 * options.workers);
    this.inFlight = new Int32Array(shared);
    this.pending = Array.from({ length: options.workers }, () => []);
    this.maxInFlight = options.maxInFlightPerWorker ?? 8;
    for (let index = 0; index < options.workers; index++) {
      const data: FreeWorkerData = {
        index,
        devices: options.devices,
        sessionId: options.sessionId,
        processName: options.processName,
        socketPath: options.socketPath,
        originNs: options.originNs,
        inFlight: shared,
      };
      const worker = new Worker(workerEntry, { workerData: data });
      worker.on("message", (message: FromFreeWorker) => {
        if (message.kind === "drained") this.waiting.get(message.token)?.();
      });
      this.workers.push(worker);
    }
  }

  /** Frees `buffer` on a worker thread (round robin), or here when that worker is too far behind. */
  release(buffer: Buffer): void {
    const index = this.next;
    this.next = (this.next + 1) % this.workers.length;
    if (Atomics.load(this.inFlight, index) >= this.maxInFlight) {
      buffer.deallocate();
      this.counters.freedInPlace++;
      return;
    }
    Atomics.add(this.inFlight, index, 1);
    this.counters.handedOver++;
    this.pending[index]!.push(buffer.transfer());
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.post());
    }
  }

  /** Resolves when every buffer handed over so far is freed and each worker's client has flushed. */
  async drain(): Promise<void> {
    this.post();
    await Promise.all(
      this.workers.map((worker) => {
        const token = ++this.token;
        return new Promise<void>((resolve) => {
          this.waiting.set(token, () => {
            this.waiting.delete(token);
            resolve();
          });
          worker.postMessage({ kind: "drain", token } satisfies ToFreeWorker);
        });
      }),
    );
  }

  /** Drains, closes every worker's client (GOODBYE) and ends the threads. */
  async close(): Promise<void> {
    this.post();
    await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.once("exit", () => resolve());
            worker.postMessage({ kind: "close" } satisfies ToFreeWorker);
          }),
      ),
    );
  }

  private post(): void {
    this.flushScheduled = false;
    this.pending.forEach((transfers, index) => {
      if (transfers.length === 0) return;
      this.workers[index]!.postMessage({ kind: "free", transfers } satisfies ToFreeWorker);
      this.pending[index] = [];
    });
  }
}
