import type { ResyncRequestFrame, WelcomeFrame } from "../protocol/frames.js";
import {
  type ClientError,
  ConnectionFailedError,
  type ConnectionFailureReason,
  HandshakeTimeoutError,
  ProtocolViolationError,
  ServerErrorFrameError,
} from "./errors.js";

/*
 * The messages between the client (the workload's thread) and its writer thread. Events do not travel
 * here: they go through the EventRing. `id` names the connection a message is about; the writer has at
 * most one at a time, and the client ignores messages about a connection it has given up.
 */

export type ToWriter =
  | {
      type: "open";
      id: number;
      socketPath: string;
      greeting: Uint8Array;
      handshakeTimeoutMs: number;
      /** The ring position the connection starts reading at. */
      head: number;
    }
  /** A frame to write at the ring's marker `ordinal` (CONTEXT, snapshot frames). */
  | { type: "frame"; ordinal: number; frame: Uint8Array }
  | { type: "end"; id: number; frame: Uint8Array }
  | { type: "destroy"; id: number }
  /** Test only (test-hooks.ts): the thread throws an uncaught exception or calls process.exit(). */
  | { type: "fault"; how: "throw" | "exit" };

export type FromWriter =
  | { type: "welcome"; id: number; frame: WelcomeFrame }
  | { type: "resync"; id: number; frame: ResyncRequestFrame }
  /** Everything before ring position `position` has been handed to the kernel or dropped. */
  | { type: "settled"; position: number }
  | { type: "closed"; id: number; error: WireError | undefined };

/** A ClientError as the structured clone carries it: the fields that rebuild it exactly. */
export type WireError =
  | { kind: "failed"; socketPath: string; reason: ConnectionFailureReason; message: string; code?: string }
  | { kind: "timeout"; socketPath: string; timeoutMs: number }
  | { kind: "server"; serverCode: string; serverMessage: string }
  | { kind: "violation"; message: string; cause?: string };

/** The wire form of a connection's error (`socketPath`, `timeoutMs`: the connection's own). */
export function toWire(error: ClientError, socketPath: string, timeoutMs: number): WireError {
  if (error instanceof ConnectionFailedError) {
    const cause = error.cause as NodeJS.ErrnoException | undefined;
    return {
      kind: "failed",
      socketPath,
      reason: error.reason,
      message: cause instanceof Error ? cause.message : String(cause),
      code: cause?.code,
    };
  }
  if (error instanceof HandshakeTimeoutError) return { kind: "timeout", socketPath, timeoutMs };
  if (error instanceof ServerErrorFrameError) {
    return { kind: "server", serverCode: error.serverCode, serverMessage: error.serverMessage };
  }
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return { kind: "violation", message: error.message, cause };
}

/** The error toWire() described, of the same class, code, reason and message. */
export function fromWire(wire: WireError): ClientError {
  switch (wire.kind) {
    case "failed": {
      const cause: NodeJS.ErrnoException = new Error(wire.message);
      if (wire.code !== undefined) cause.code = wire.code;
      return new ConnectionFailedError(wire.socketPath, cause, wire.reason);
    }
    case "timeout":
      return new HandshakeTimeoutError(wire.socketPath, wire.timeoutMs);
    case "server":
      return new ServerErrorFrameError(wire.serverCode, wire.serverMessage);
    case "violation":
      return new ProtocolViolationError(
        wire.message,
        wire.cause === undefined ? undefined : new Error(wire.cause),
      );
  }
}
