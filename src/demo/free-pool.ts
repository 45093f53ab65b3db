import { Worker } from "node:worker_threads";
import type { SharedDeviceHandle } from "../device/device.js";
import type { BufferTransfer, DeviceBuffer } from "../device/device-buffer.js";

/** What a free worker starts with (structured-cloned into the thread). */
export interface FreeWorkerData {
  index: number;
  devices: SharedDeviceHandle[];
  sessionId: string;
  resumeSecret: string;
  processName: string;
  socketPath: string | undefined;
  originNs: bigint;
  /** One Int32 per worker: bytes of the buffers posted to it and not yet freed. */
  inFlight: SharedArrayBuffer;
  /** How long the worker waits for its connection before it reports ready anyway, ms. */
  connectTimeoutMs: number;
}

export type ToFreeWorker =
  | { kind: "free"; transfer: BufferTransfer }
  | { kind: "drain"; token: number }
  | { kind: "close" };

type FromFreeWorker =
  | { kind: "ready"; connected: boolean }
  | { kind: "drained"; token: number }
  | { kind: "closed" };

export interface FreePoolOptions {
  workers: number;
  devices: SharedDeviceHandle[];
  /** The process's session and its resume secret: the workers' clients join it. */
  sessionId: string;
  resumeSecret: string;
  processName: string;
  socketPath: string | undefined;
  originNs: bigint;
  /**
   * Most bytes waiting to be freed on all workers together; beyond it the caller frees in place, so a
   * lagging worker cannot run the device out of L1. Default 32 MiB.
   */
  maxInFlightBytes?: number;
  /** How long each worker waits for its connection at start, ms (see `ready`). Default 3000. */
  connectTimeoutMs?: number;
}

const workerEntry = new URL("./free-worker.js", import.meta.url);

/**
 * Worker threads that free buffers the main thread hands them, as a runtime frees tensors from another
 * thread: the worker's FREE races the main thread's next allocations on the shared allocator.
 * Bounded: when a worker lags too many bytes behind, the buffer is freed in place instead.
 */
export class FreePool {
  /** Buffers handed to a worker thread, and freed here because their worker was too far behind. */
  readonly counters = { handedOver: 0, freedInPlace: 0 };
  private readonly workers: Worker[] = [];
  private readonly inFlight: Int32Array;
  private readonly maxInFlightBytesPerWorker: number;
  private next = 0;
  private token = 0;
  private readonly waiting = new Map<number, () => void>();
  /** Resolves when every worker has its connection (or gave up waiting for it). */
  readonly ready: Promise<void>;

  constructor(options: FreePoolOptions) {
    const shared = new SharedArrayBuffer(4 * options.workers);
    this.inFlight = new Int32Array(shared);
    const readies: Promise<void>[] = [];
    this.maxInFlightBytesPerWorker = Math.floor(
      (options.maxInFlightBytes ?? 32 * 1024 * 1024) / options.workers,
    );
    for (let index = 0; index < options.workers; index++) {
      const data: FreeWorkerData = {
        index,
        devices: options.devices,
        sessionId: options.sessionId,
        resumeSecret: options.resumeSecret,
        processName: options.processName,
        socketPath: options.socketPath,
        originNs: options.originNs,
        inFlight: shared,
        connectTimeoutMs: options.connectTimeoutMs ?? 3000,
      };
      const worker = new Worker(workerEntry, { workerData: data });
      readies.push(
        new Promise<void>((resolve) => {
          worker.on("message", (message: FromFreeWorker) => {
            if (message.kind === "ready") resolve();
            else if (message.kind === "drained") this.waiting.get(message.token)?.();
          });
          worker.once("exit", () => resolve());
        }),
      );
      this.workers.push(worker);
    }
    this.ready = Promise.all(readies).then(() => undefined);
  }

  /** Frees `buffer` on a worker thread (round robin), or here when that worker is too far behind. */
  release(buffer: DeviceBuffer): void {
    const index = this.next;
    this.next = (this.next + 1) % this.workers.length;
    if (Atomics.load(this.inFlight, index) + buffer.sizeBytes > this.maxInFlightBytesPerWorker) {
      buffer.deallocate();
      this.counters.freedInPlace++;
      return;
    }
    Atomics.add(this.inFlight, index, buffer.sizeBytes);
    this.counters.handedOver++;
    this.workers[index]!.postMessage({ kind: "free", transfer: buffer.transfer() } satisfies ToFreeWorker);
  }

  /** Resolves when every buffer handed over so far is freed and each worker's client has flushed. */
  async drain(): Promise<void> {
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

  /** Closes every worker's client (GOODBYE) once its frees are done, and ends the threads. */
  async close(): Promise<void> {
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
}
