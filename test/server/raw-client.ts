// A tiny client that speaks raw frames, for tests that need exact bytes on the wire (well-formed or
// not). It records every frame the server sends and when the server closes.
import { connect, type Socket } from "node:net";
import { encodeHello } from "../../src/protocol/encode-frame.js";
import type { AllocationEvent } from "../../src/protocol/event.js";
import { FrameDecoder } from "../../src/protocol/frame-decoder.js";
import { type DeviceDescriptor, type Frame, FrameType, PROTOCOL_VERSION } from "../../src/protocol/frames.js";

export const TEST_DEVICE: DeviceDescriptor = {
  deviceId: 0,
  name: "tiny-0",
  architecture: "test",
  capacityBytes: [1 << 30, 1 << 20, 0, 1 << 16, 1 << 20, 1 << 20, 1 << 20],
};

let sessionCounter = 0;
/** A fresh, valid session id. */
export function newSessionId(): string {
  sessionCounter++;
  return (process.pid.toString(16) + "f" + sessionCounter.toString(16)).padStart(32, "0");
}

/**
 * The resume secret test connections of `sessionId` send unless told otherwise: derived from the id, so
 * that every connection of a test's session repeats it (a real client chooses 16 random bytes).
 */
export function testResumeSecret(sessionId: string): string {
  return [...sessionId].reverse().join("");
}

export function helloBytes(
  options: {
    /** Default PROTOCOL_VERSION; 1 sends no resume secret. */
    version?: number;
    sessionId?: string;
    /** Default testResumeSecret(sessionId). */
    resumeSecret?: string;
    pid?: number;
    startTicks?: number;
    devices?: DeviceDescriptor[];
    name?: string;
  } = {},
): Uint8Array {
  const version = options.version ?? PROTOCOL_VERSION;
  const sessionId = options.sessionId ?? newSessionId();
  return encodeHello({
    version,
    sessionId,
    ...(version === 1 ? {} : { resumeSecret: options.resumeSecret ?? testResumeSecret(sessionId) }),
    pid: options.pid ?? process.pid,
    processStartTicks: options.startTicks ?? 0,
    processName: options.name ?? "raw-client",
    devices: options.devices ?? [TEST_DEVICE],
  });
}

export class RawClient {
  readonly frames: Frame[] = [];
  /** Resolves when the server closes the connection (EOF or reset). */
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder();
  private readonly waiters: (() => void)[] = [];
  private isClosed = false;

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.decoder.feed(chunk, (frame) => {
        this.frames.push(
          frame.type === FrameType.EVENTS ? { ...frame, records: frame.records.slice() } : frame,
        );
      });
      this.wake();
    });
    socket.on("error", () => {}); // a reset after the server's ERROR frame is fine
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once("connect", () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Connects and completes a HELLO/WELCOME handshake. */
  static async handshake(path: string, hello: Parameters<typeof helloBytes>[0] = {}): Promise<RawClient> {
    const client = await RawClient.connect(path);
    client.send(helloBytes(hello));
    await client.waitFor((f) => f.type === FrameType.WELCOME);
    return client;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Half-closes: the server sees the end of our stream. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The first received frame matching `predicate`, waiting up to `timeoutMs`. */
  async waitFor(predicate: (frame: Frame) => boolean, timeoutMs = 3000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(predicate);
      if (found !== undefined) return found;
      if (this.isClosed)
        throw new Error(`connection closed; frames received: ${JSON.stringify(this.frames)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; frames received: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * The tests' usual event: allocation `seq` (id = seq) of 4096 DRAM bytes at address seq × 4096 on
 * `deviceId`, an ALLOC (op 1) unless told otherwise.
 */
export function testEvent(seq: number, deviceId = 0, op: 1 | 2 = 1): AllocationEvent {
  return {
    op,
    deviceId,
    memoryType: 0,
    seq,
    allocationId: seq,
    address: seq * 4096,
    sizeBytes: 4096,
    timestampNs: 0,
  };
}
