// A real allocwatch server with the legacy protocol on a private socket, and a raw legacy client that
// writes bytes and reads reply frames — no project codec on the client side.
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { AnomaliesResponse, SummaryResponse } from "../../src/server/api-types.js";
import type { LegacyOptions } from "../../src/server/legacy/options.js";
import { type RunningServer, type ServerOptions, startServer } from "../../src/server/server.js";

export interface LegacyTestServer extends RunningServer {
  legacyPath: string;
  connectLegacy(): Promise<RawLegacyClient>;
  anomalies(): Promise<AnomaliesResponse>;
  summary(): Promise<SummaryResponse>;
  stop(): Promise<void>;
}

export async function startLegacyServer(
  legacy: Partial<LegacyOptions> = {},
  options: ServerOptions = {},
): Promise<LegacyTestServer> {
  const dir = mkdtempSync(join(tmpdir(), "aw-legacy-"));
  const legacyPath = join(dir, "tt.sock");
  const server = await startServer({
    socketPath: join(dir, "native.sock"),
    http: "127.0.0.1:0",
    logger: pino({ level: "silent" }),
    legacy: { socketPath: legacyPath, ...legacy },
    ...options,
  });
  return {
    ...server,
    legacyPath,
    connectLegacy: () => RawLegacyClient.connect(legacyPath),
    async anomalies() {
      return (await fetch(`${server.httpUrl}/api/v1/anomalies`)).json() as Promise<AnomaliesResponse>;
    },
    async summary() {
      return (await fetch(`${server.httpUrl}/api/v1/summary`)).json() as Promise<SummaryResponse>;
    },
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export class RawLegacyClient {
  private buffered = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.waiting?.();
    });
    this.closed = new Promise((resolve) =>
      socket.on("close", () => {
        this.ended = true;
        this.waiting?.();
        resolve();
      }),
    );
    socket.on("error", () => {});
  }

  static connect(path: string): Promise<RawLegacyClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path, () => resolve(new RawLegacyClient(socket)));
      socket.once("error", reject);
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (e) => (e ? reject(e) : resolve())));
  }

  /** Reads exactly `n` bytes (a reply frame); rejects if the server closes first or after `timeoutMs`. */
  async read(n: number, timeoutMs = 2000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered.length < n) {
      if (this.ended) throw new Error(`connection closed with ${this.buffered.length}/${n} bytes`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out with ${this.buffered.length}/${n} bytes`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiting = undefined;
    }
    const out = new Uint8Array(this.buffered.subarray(0, n));
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  close(): void {
    this.socket.end();
  }
}
