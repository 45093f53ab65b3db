import { MessageChannel, type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import { ShardCallFailedError, ShardCallTimeoutError } from "./errors.js";
import type { CallReply, CallRequest } from "./messages.js";

/**
 * The main thread's end of one shard's synchronous call lane. A call posts its request on a channel of
 * its own (never on the worker's port, so no asynchronous message is ever consumed here) and blocks in
 * Atomics.wait on a shared counter that the worker bumps after posting each reply; receiveMessageOnPort
 * then takes the reply off the port without the event loop, which is not running while we block.
 * Replies carry the call's id: one for an older call that timed out arrives late and is dropped.
 */
export class ShardCallLane {
  /** The worker's end: transferred to it in its workerData. */
  readonly workerPort: MessagePort;
  readonly replySignal = new SharedArrayBuffer(4);
  /** Late replies dropped since start (to calls that had timed out). */
  lateReplies = 0;
  private readonly port: MessagePort;
  private readonly replies = new Int32Array(this.replySignal);
  private nextId = 1;

  constructor(private readonly shard: number) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.workerPort = port2;
    // Never read by the event loop: only receiveMessageOnPort takes from it; it keeps nothing alive.
    this.port.unref();
  }

  /** Posts a request; returns its id, for `await`. Throws what postMessage throws (an uncloneable request). */
  send(request: unknown): number {
    const id = this.nextId++;
    const message: CallRequest = { id, request };
    this.port.postMessage(message);
    return id;
  }

  /**
   * Blocks until the reply to call `id` arrives or `deadlineMs` (performance.now() time) passes.
   * Throws ShardCallTimeoutError (with `timeoutMs` in its message) or ShardCallFailedError.
   */
  await(id: number, deadlineMs: number, timeoutMs: number): unknown {
    for (;;) {
      // Read before draining: a reply posted after the drain has bumped past `seen`, so the wait returns.
      const seen = Atomics.load(this.replies, 0);
      for (let received = receiveMessageOnPort(this.port); received !== undefined; ) {
        const reply = received.message as CallReply;
        if (reply.id === id) {
          if (reply.ok) return reply.value;
          throw new ShardCallFailedError(this.shard, reply.message);
        }
        this.lateReplies++;
        received = receiveMessageOnPort(this.port);
      }
      const left = deadlineMs - performance.now();
      if (left <= 0) throw new ShardCallTimeoutError(this.shard, timeoutMs);
      Atomics.wait(this.replies, 0, seen, left);
    }
  }

  close(): void {
    this.port.close();
  }
}
