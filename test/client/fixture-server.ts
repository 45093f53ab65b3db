/**
 * A tiny native-protocol server for client tests: answers HELLO with WELCOME, records every frame it
 * receives, and can misbehave on command (stall reading, drop connections, ask for a resync, stay silent).
 * It also replays what it received the way the real server must (snapshot replaces a device's state,
 * then only higher sequence numbers apply) so tests can compare the result with the allocator's live set.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  emptyAllocationEvent,
  encodeError,
  encodeResyncRequest,
  encodeWelcome,
  FrameDecoder,
  readEventRecord,
} from "../../src/protocol/codec.js";
import type { AllocationEvent, LiveAllocation } from "../../src/protocol/event.js";
import { eventContextId, eventRecordsView } from "../../src/protocol/event-record.js";
import {
  DEFAULT_MAX_FRAME_BYTES,
  type Frame,
  FrameType,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "../../src/protocol/frames.js";

/** A received frame; EVENTS records are decoded into `events`. */
export type ReceivedFrame =
  | { connection: number; type: typeof FrameType.EVENTS; events: AllocationEvent[] }
  | { connection: number; type: Exclude<Frame["type"], typeof FrameType.EVENTS>; frame: Frame };

export interface FixtureServerOptions {
  /** Socket path; default a fresh temporary directory's `s.sock`. */
  path?: string;
  /** Answer HELLO with WELCOME (default true). false: a server that accepts and never answers. */
  welcome?: boolean;
  /** maxFrameBytes announced in WELCOME. */
  maxFrameBytes?: number;
  /**
   * Protocol versions it speaks (default all); a HELLO of another one gets ERROR
   * PROTO_UNSUPPORTED_VERSION, as an older server answers a newer client.
   */
  versions?: readonly number[];
}

export interface DeviceReplay {
  live: Map<number, LiveAllocation>;
  appliedSeq: number;
  /** Events that arrived with a number above appliedSeq + 1 (the real server would wait, then resync). */
  gaps: number;
  /** Events at or below appliedSeq (discarded, as the real server does after a snapshot). */
  stale: number;
  snapshots: number;
}

export class FixtureServer {
  readonly frames: ReceivedFrame[] = [];
  readonly sockets: Socket[] = [];
  /** Connections accepted so far (also closed ones). */
  accepted = 0;
  private stalled = false;
  private readonly waiters: { check: () => boolean; resolve: () => void }[] = [];

  private constructor(
    readonly path: string,
    private readonly server: Server,
    private readonly ownedDir: string | undefined,
  ) {}

  static async start(options: FixtureServerOptions = {}): Promise<FixtureServer> {
    const ownedDir = options.path === undefined ? mkdtempSync(join(tmpdir(), "awc-")) : undefined;
    const path = options.path ?? join(ownedDir!, "s.sock");
    const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    const welcome = options.welcome ?? true;
    const versions = options.versions ?? SUPPORTED_PROTOCOL_VERSIONS;
    let fixture: FixtureServer | undefined;
    const server = createServer((socket) => fixture!.accept(socket, welcome, maxFrameBytes, versions));
    fixture = new FixtureServer(path, server, ownedDir);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    return fixture;
  }

  /** Every event received, in arrival order. */
  get events(): AllocationEvent[] {
    const all: AllocationEvent[] = [];
    for (const f of this.frames) if (f.type === FrameType.EVENTS) all.push(...f.events);
    return all;
  }

  framesOf(type: Frame["type"]): ReceivedFrame[] {
    return this.frames.filter((f) => f.type === type);
  }

  /** Stop reading from every connection (and new ones): the kernel buffers fill, clients see backpressure. */
  stall(): void {
    this.stalled = true;
    for (const s of this.sockets) s.pause();
  }

  resume(): void {
    this.stalled = false;
    for (const s of this.sockets) s.resume();
  }

  sendResyncRequest(deviceId: number, reason = "test"): void {
    for (const s of this.sockets) s.write(encodeResyncRequest({ deviceId, reason }));
  }

  /** Drop every open connection at once (as a crashed server would). */
  destroyConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Stop listening, drop every connection, remove the socket file. */
  async close(): Promise<void> {
    this.destroyConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.ownedDir !== undefined) rmSync(this.ownedDir, { recursive: true, force: true });
  }

  /** Resolves when `check()` holds (re-checked after every received frame); rejects after timeoutMs. */
  waitFor(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`fixture server: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Applies the received frames of `deviceId` with the real server's rules (watermarked snapshots). */
  replay(deviceId: number): DeviceReplay {
    const replay: DeviceReplay = { live: new Map(), appliedSeq: 0, gaps: 0, stale: 0, snapshots: 0 };
    let pending: LiveAllocation[] | undefined;
    for (const f of this.frames) {
      if (f.type === FrameType.EVENTS) {
        for (const e of f.events) {
          if (e.deviceId !== deviceId) continue;
          if (e.seq <= replay.appliedSeq) {
            replay.stale++;
            continue;
          }
          if (e.seq !== replay.appliedSeq + 1) replay.gaps++;
          replay.appliedSeq = e.seq;
          if (e.op === 1) {
            replay.live.set(e.allocationId, {
              allocationId: e.allocationId,
              memoryType: e.memoryType,
              address: e.address,
              sizeBytes: e.sizeBytes,
            });
          } else {
            replay.live.delete(e.allocationId);
          }
        }
        continue;
      }
      const frame = f.frame;
      if (frame.type === FrameType.SNAPSHOT_BEGIN && frame.deviceId === deviceId) pending = [];
      else if (frame.type === FrameType.SNAPSHOT_CHUNK && frame.deviceId === deviceId) {
        pending?.push(...frame.allocations);
      } else if (frame.type === FrameType.SNAPSHOT_END && frame.deviceId === deviceId && pending) {
        replay.live = new Map(pending.map((a) => [a.allocationId, a]));
        replay.appliedSeq = frame.watermarkSeq;
        replay.snapshots++;
        pending = undefined;
      }
    }
    return replay;
  }

  private accept(socket: Socket, welcome: boolean, maxFrameBytes: number, versions: readonly number[]): void {
    const connection = this.accepted++;
    this.sockets.push(socket);
    if (this.stalled) socket.pause();
    const decoder = new FrameDecoder();
    const record = (frame: Frame) => {
      if (frame.type === FrameType.EVENTS) {
        const events: AllocationEvent[] = [];
        const view = eventRecordsView(frame.records);
        for (let i = 0; i < frame.count; i++) {
          const event = readEventRecord(frame.records, i, emptyAllocationEvent());
          // Version 3: the record's context id, kept only when there is one.
          const contextId = eventContextId(view, i * 48);
          if (contextId !== 0) event.contextId = contextId;
          events.push(event);
        }
        this.frames.push({ connection, type: FrameType.EVENTS, events });
      } else {
        this.frames.push({ connection, type: frame.type, frame });
      }
      if (frame.type === FrameType.HELLO && !versions.includes(frame.version)) {
        socket.end(
          encodeError({
            code: "PROTO_UNSUPPORTED_VERSION",
            message: `protocol version ${frame.version}, this server speaks ${versions.join(", ")}`,
          }),
        );
        return;
      }
      if (frame.type === FrameType.HELLO && welcome) {
        socket.write(encodeWelcome({ version: frame.version, maxFrameBytes }));
      }
      if (frame.type === FrameType.GOODBYE) socket.end();
    };
    socket.on("data", (chunk) => {
      const error = decoder.feed(chunk, record);
      if (error !== undefined) {
        this.frames.push({
          connection,
          type: FrameType.ERROR,
          frame: { type: FrameType.ERROR, code: error.code, message: error.message },
        });
        socket.destroy();
      }
      this.notify();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.sockets.splice(this.sockets.indexOf(socket), 1);
      this.notify();
    });
  }

  private notify(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter.check()) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }
}

/** A socket path in a fresh temporary directory, where no server listens (yet). */
export function unusedSocketPath(): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "awc-"));
  return { path: join(dir, "s.sock"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
