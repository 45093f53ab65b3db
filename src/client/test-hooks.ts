/*
 * Hooks for the client's own tests, read when an AllocationClient or its writer thread starts. Not
 * exported from the package (src/client/index.ts): they exist so that tests can run what cannot be
 * arranged from outside (a ring near 2^32, a writer thread that dies) on the real threads and sockets.
 */
import type { WriterThread } from "./writer-thread.js";

/**
 * How a writer thread fails as it starts: "throw": its entry throws (the thread errs before it runs, as
 * when it cannot load); "spawn": `new Worker` itself throws (an exec argument Node refuses, as when a
 * thread cannot be created).
 */
export type WriterStartFault = "throw" | "spawn";

/**
 * What a running writer thread is made to do: "throw": an uncaught exception on it; "exit":
 * process.exit() on it (ends that thread only); "terminate": Worker.terminate() from outside.
 */
export type WriterFault = "throw" | "exit" | "terminate";

export const clientTestHooks: {
  /** The ring position the next clients start at (default 0). */
  ringStartPosition: number;
  /** Faults for the next writer threads to start, one taken per start. */
  writerStartFaults: WriterStartFault[];
  /** Called with each writer thread a client starts (the handle a test injects faults through). */
  onWriterStarted: ((thread: WriterThread) => void) | undefined;
} = {
  ringStartPosition: 0,
  writerStartFaults: [],
  onWriterStarted: undefined,
};
