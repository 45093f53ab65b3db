// Starts a real server on a private socket path with an ephemeral HTTP port and silent logs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { noPeerCredentials } from "../../src/server/peer-credentials.js";
import { type RunningServer, type ServerOptions, startServer } from "../../src/server/server.js";

/**
 * For tests whose HELLOs claim pids other than this process's (scripted liveness, session conflicts): the
 * server as it runs without the kernel's word on its peers (docs/PROTOCOL.md §3.1).
 */
export const WITHOUT_PEER_CREDENTIALS = noPeerCredentials("turned off by the test");

export interface TestServer extends RunningServer {
  dir: string;
  /** GET `path` on the HTTP API: status and parsed JSON body (loosely typed: tests probe every shape). */
  // biome-ignore lint/suspicious/noExplicitAny: test probe of arbitrary JSON responses
  get(path: string): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export function tempSocketPath(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), "aw-srv-"));
  return { dir, path: join(dir, "s.sock") };
}

export async function startTestServer(options: ServerOptions = {}): Promise<TestServer> {
  const { dir, path } = tempSocketPath();
  const server = await startServer({
    socketPath: path,
    http: "127.0.0.1:0",
    logger: pino({ level: "silent" }),
    // ALLOCWATCH_TEST_INGEST_THREADS=N runs these servers sharded (a check of the mirror, by hand).
    ...(process.env["ALLOCWATCH_TEST_INGEST_THREADS"] === undefined
      ? {}
      : { ingestThreads: Number(process.env["ALLOCWATCH_TEST_INGEST_THREADS"]) }),
    ...options,
  });
  return {
    ...server,
    dir,
    async get(route: string) {
      const response = await fetch(`${server.httpUrl}${route}`);
      return { status: response.status, body: await response.json() };
    },
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
