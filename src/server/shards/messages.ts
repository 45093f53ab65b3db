import type { MessagePort } from "node:worker_threads";

/**
 * What the main thread and a shard's worker say to each other (shard-pool.ts ↔ shard-port.ts). Two
 * lanes: the worker's own port (parentPort ↔ worker 'message') for everything asynchronous, so that a
 * shard's pushes and its connection-closed notices arrive in the order they were sent; and a dedicated
 * MessageChannel for synchronous calls, which the main thread reads with receiveMessageOnPort while it
 * blocks (shard-calls.ts).
 */

/** The worker's workerData: the transport's part and the caller's own. */
export interface ShardWorkerData {
  readonly shard: number;
  /** The worker's end of the call channel. */
  readonly calls: MessagePort;
  /** Int32Array over a SharedArrayBuffer: [0] counts replies posted; bumped and notified after each. */
  readonly replySignal: SharedArrayBuffer;
  readonly data: unknown;
}

/** Main → worker, on the worker's port. */
export type ToShard =
  | {
      kind: "connection";
      id: number;
      fd: number;
      meta: unknown;
      /**
       * Int32Array(1) over a SharedArrayBuffer: 0 = posted; the worker swaps in CLAIM_ADOPTED before it
       * opens the descriptor, the main thread CLAIM_ABANDONED after the worker died. Whoever wins owns
       * (and must close) the descriptor: never both, never neither.
       */
      claim: SharedArrayBuffer;
    }
  | { kind: "message"; message: unknown }
  | { kind: "stop" };

export const CLAIM_POSTED = 0;
export const CLAIM_ADOPTED = 1;
export const CLAIM_ABANDONED = 2;

/** Worker → main, on the worker's port. */
export type FromShard =
  | { kind: "ready" }
  | { kind: "push"; message: unknown }
  | { kind: "closed"; id: number }
  /** The handler for a new connection threw; the connection was closed. */
  | { kind: "connection-failed"; id: number; message: string };

/** Main → worker on the call channel. */
export interface CallRequest {
  id: number;
  request: unknown;
}

/** Worker → main on the call channel. */
export type CallReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };
