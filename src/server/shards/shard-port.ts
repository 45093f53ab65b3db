import { Socket } from "node:net";
import { isMainThread, parentPort, type Transferable, workerData } from "node:worker_threads";
import {
  type CallReply,
  type CallRequest,
  CLAIM_ADOPTED,
  CLAIM_POSTED,
  type FromShard,
  type ShardWorkerData,
  type ToShard,
} from "./messages.js";

/** What a shard's worker does with what the main thread sends it. */
export interface ShardHandlers {
  /**
   * A connection handed over by the main thread (ShardPool.handOver), opened on this thread. `id` is
   * the pool's; `meta` whatever the main thread attached. A handler that throws gets the socket
   * destroyed (the main thread logs it); its close is reported like any other.
   */
  connection(id: number, socket: Socket, meta: unknown): void;
  /**
   * A synchronous call (ShardPool.call): the main thread is blocked until this returns, so it must be
   * quick. The value must be structured-cloneable. A throw reaches the caller as ShardCallFailedError.
   */
  call(request: unknown): unknown;
  /** An asynchronous message (ShardPool.post). */
  message?(message: unknown): void;
  /**
   * The pool is closing: close connections and let the thread end (the pool terminates it after its
   * stop timeout otherwise). The transport closes its own ports after this settles.
   */
  stop(): Promise<void> | void;
}

/** The worker's end of the transport. */
export interface ShardPort {
  /** This shard's index in the pool. */
  readonly shard: number;
  /** ShardPool.start's workerData, as cloned into this thread. */
  readonly workerData: unknown;
  /** Tells the pool this shard can take work; ShardPool.start resolves once every shard has. */
  ready(): void;
  /** An asynchronous message to the main thread (ShardPool.onMessage), in order with this shard's others. */
  push(message: unknown, transfer?: readonly Transferable[]): void;
  /**
   * Tells the pool a handed-over connection is closed. Not needed for the socket this transport opened:
   * its 'close' reports it. For a handler that keeps the connection open past its socket (it never
   * should); a second report of one id is ignored.
   */
  closed(connectionId: number): void;
}

/** This worker's shard index and workerData, before connecting (to build its handlers from them). */
export function shardContext(): { shard: number; workerData: unknown } {
  const data = transportData();
  return { shard: data.shard, workerData: data.data };
}

/**
 * Connects a worker thread started by ShardPool to the main thread. Call once, at the worker's start;
 * call `ready()` once its handlers can take work.
 */
export function connectShard(handlers: ShardHandlers): ShardPort {
  const data = transportData();
  const parent = parentPort!;
  const calls = data.calls;
  const replies = new Int32Array(data.replySignal);
  const open = new Set<number>();
  const send = (message: FromShard, transfer?: readonly Transferable[]) =>
    parent.postMessage(message, transfer as Transferable[] | undefined);

  const closed = (id: number) => {
    if (!open.delete(id)) return;
    send({ kind: "closed", id });
  };

  const adopt = (message: Extract<ToShard, { kind: "connection" }>) => {
    const claim = new Int32Array(message.claim);
    // The main thread abandons (and closes) a descriptor only after this thread died; a live thread wins.
    if (Atomics.compareExchange(claim, 0, CLAIM_POSTED, CLAIM_ADOPTED) !== CLAIM_POSTED) return;
    // allowHalfOpen as on the main thread's listener: a peer's half-close still gets our answer.
    const socket = new Socket({ fd: message.fd, readable: true, writable: true, allowHalfOpen: true });
    open.add(message.id);
    socket.once("close", () => closed(message.id));
    try {
      handlers.connection(message.id, socket, message.meta);
    } catch (error) {
      send({ kind: "connection-failed", id: message.id, message: describe(error) });
      socket.destroy();
    }
  };

  let stopping = false;
  parent.on("message", (message: ToShard) => {
    switch (message.kind) {
      case "connection":
        adopt(message);
        return;
      case "message":
        handlers.message?.(message.message);
        return;
      case "stop":
        if (stopping) return;
        stopping = true;
        void Promise.resolve()
          .then(() => handlers.stop())
          .finally(() => {
            calls.close();
            parent.close();
          });
        return;
    }
  });

  calls.on("message", (call: CallRequest) => {
    let reply: CallReply;
    try {
      reply = { id: call.id, ok: true, value: handlers.call(call.request) };
    } catch (error) {
      reply = { id: call.id, ok: false, message: describe(error) };
    }
    try {
      calls.postMessage(reply);
    } catch (error) {
      // The value could not be cloned: the caller still gets an answer instead of a timeout.
      calls.postMessage({
        id: call.id,
        ok: false,
        message: `its reply cannot be posted: ${describe(error)}`,
      });
    }
    // After the post: the main thread, woken, finds the reply already in its port's queue.
    Atomics.add(replies, 0, 1);
    Atomics.notify(replies, 0);
  });

  return {
    shard: data.shard,
    workerData: data.data,
    ready: () => send({ kind: "ready" }),
    push: (message, transfer) => send({ kind: "push", message }, transfer),
    closed,
  };
}

function transportData(): ShardWorkerData {
  const data = workerData as Partial<ShardWorkerData> | undefined;
  if (isMainThread || parentPort === null || data?.calls === undefined || data.replySignal === undefined) {
    throw new Error("connectShard: this is not a worker thread started by ShardPool");
  }
  return data as ShardWorkerData;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
