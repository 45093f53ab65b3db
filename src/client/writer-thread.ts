import { Worker } from "node:worker_threads";
import type { ResyncRequestFrame, WelcomeFrame } from "../protocol/frames.js";
import type { ClientError } from "./errors.js";
import type { EventRing } from "./event-ring.js";
import type { RingWriterData } from "./ring-writer-worker.js";
import { clientTestHooks, type WriterFault } from "./test-hooks.js";
import { type FromWriter, fromWire, type ToWriter } from "./writer-messages.js";

/** An exec argument Node refuses: `new Worker` throws (test-hooks.ts "spawn"). */
const REFUSED_EXEC_ARGUMENT = "--allocwatch-writer-start-fault";

/** What a connection tells the client (on the workload's thread). */
export interface LinkEvents {
  onWelcome(frame: WelcomeFrame): void;
  onResyncRequest(frame: ResyncRequestFrame): void;
  /** The connection is over; called exactly once. `error` is why, undefined after a clean end. */
  onClosed(error: ClientError | undefined): void;
}

/** The client's handle on a connection that lives on the writer thread. */
export interface LinkConnection {
  readonly isWelcomed: boolean;
  /** Sends `lastFrame` (GOODBYE) after what was written and half-closes; onClosed follows. */
  end(lastFrame: Uint8Array): void;
  /** Tears the connection down now; onClosed follows. */
  destroy(): void;
  /** Keeps the process alive while the client waits for this connection (flush, close). */
  ref(): void;
  unref(): void;
}

/**
 * The writer thread (ring-writer-worker.ts) as the client sees it: opens connections there, hands it
 * frames for the ring's markers, and passes its reports on. The thread is unref'd: it never keeps the
 * process alive, except while ref() holds it (flush() and close() waiting).
 *
 * A thread that ends without terminate() (an uncaught exception on it, process.exit() there, an outside
 * terminate(), a failed start) calls `onFailed` once, then closes its current connection (onClosed(undefined):
 * the failure was reported), and ignores everything after. The client decides what follows.
 */
export class WriterThread {
  private readonly worker: Worker;
  private nextId = 0;
  private current: { id: number; events: LinkEvents; welcome: (frame: WelcomeFrame) => void } | undefined;
  private terminated = false;
  private dead = false;

  /**
   * `onSettled`: the writer settled everything before a ring position (only while the ring asks).
   * Throws what `new Worker` throws (a thread Node cannot create).
   */
  constructor(
    ring: EventRing,
    batchMaxEvents: number,
    private readonly onSettled: (position: number) => void,
    private readonly onFailed: (error: Error) => void,
  ) {
    const startFault = clientTestHooks.writerStartFaults.shift();
    const workerData: RingWriterData = {
      buffer: ring.buffer,
      batchMaxEvents,
      failAtStart: startFault === "throw",
    };
    // No inherited flags: those of the workload's entry (--input-type, -e, --test, --cpu-prof ...) are not
    // the writer's, and some refuse to start a thread that runs a file.
    this.worker = new Worker(new URL("./ring-writer-worker.js", import.meta.url), {
      workerData,
      execArgv: startFault === "spawn" ? [REFUSED_EXEC_ARGUMENT] : [],
    });
    this.worker.on("message", (message: FromWriter) => this.received(message));
    this.worker.on("error", (error) => this.died(error));
    this.worker.on("exit", (code) => this.died(new Error(`the writer thread exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the thread's port again.
    this.worker.unref();
    clientTestHooks.onWriterStarted?.(this);
  }

  /** False once the thread has ended (terminate(), or a failure). */
  get alive(): boolean {
    return !this.dead && !this.terminated;
  }

  /** Opens a connection on the writer thread that reads the ring from position `head`. */
  open(
    socketPath: string,
    greeting: Uint8Array,
    handshakeTimeoutMs: number,
    head: number,
    events: LinkEvents,
  ): LinkConnection {
    const id = ++this.nextId;
    const connection = {
      isWelcomed: false,
      end: (lastFrame: Uint8Array) => this.post({ type: "end", id, frame: lastFrame }),
      destroy: () => this.post({ type: "destroy", id }),
      ref: () => this.worker.ref(),
      unref: () => this.worker.unref(),
    };
    this.current = {
      id,
      events,
      welcome: (frame) => {
        connection.isWelcomed = true;
        events.onWelcome(frame);
      },
    };
    this.post({ type: "open", id, socketPath, greeting, handshakeTimeoutMs, head });
    return connection;
  }

  /** Hands over the frame for the ring marker `ordinal` (before the marker is stored). */
  postFrame(ordinal: number, frame: Uint8Array): void {
    this.post({ type: "frame", ordinal, frame });
  }

  ref(): void {
    this.worker.ref();
  }

  unref(): void {
    this.worker.unref();
  }

  /** Ends the thread (the client is closed). */
  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    void this.worker.terminate();
  }

  /** Test only (test-hooks.ts): makes the running thread fail. */
  inject(fault: WriterFault): void {
    if (fault === "terminate") void this.worker.terminate();
    else this.post({ type: "fault", how: fault });
  }

  private post(message: ToWriter): void {
    if (this.alive) this.worker.postMessage(message);
  }

  /** The thread ended without terminate(): reported once; its connection closes with it. */
  private died(error: Error): void {
    if (!this.alive) return;
    this.dead = true;
    // An 'error' comes before the thread's 'exit': make sure it is gone (a no-op once it is).
    void this.worker.terminate();
    this.onFailed(error);
    const current = this.current;
    this.current = undefined;
    current?.events.onClosed(undefined);
  }

  private received(message: FromWriter): void {
    if (!this.alive) return;
    if (message.type === "settled") {
      this.onSettled(message.position);
      return;
    }
    const current = this.current;
    if (current === undefined || current.id !== message.id) return;
    switch (message.type) {
      case "welcome":
        current.welcome(message.frame);
        return;
      case "resync":
        current.events.onResyncRequest(message.frame);
        return;
      case "closed":
        this.current = undefined;
        current.events.onClosed(message.error === undefined ? undefined : fromWire(message.error));
        return;
    }
  }
}
