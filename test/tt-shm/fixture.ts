// Shared set-up of the tt-shm reader tests: a temporary region directory, a source reading it with its
// log captured, and what the process holds open.
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TtShmSource, type TtShmSourceOptions } from "../../src/server/tt-shm/tt-shm-source.js";
import { captureLogs, type LogLine } from "./log-capture.js";

/** What the fixtures need of a node:test context: clean-up after the test. */
export interface TestCleanup {
  after(fn: () => void): void;
}

export function tempDir(t: TestCleanup): string {
  const dir = mkdtempSync(join(tmpdir(), "allocwatch-ttshm-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function readerOf(
  t: TestCleanup,
  directory: string,
  options: Partial<TtShmSourceOptions> = {},
): { source: TtShmSource; lines: LogLine[] } {
  const { logger, lines } = captureLogs();
  const source = new TtShmSource({ logger, directory, ...options });
  t.after(() => source.stop());
  return { source, lines };
}

/** Now, ns since the Unix epoch (what v2+ writers store). */
export function epochNowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** File descriptors of this process open on files inside `dir`. */
export function fdsInto(dir: string): number {
  let count = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`)) count++;
    } catch {
      // closed while listing (the readdir's own fd)
    }
  }
  return count;
}
