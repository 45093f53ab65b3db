// Issue 10, finding 1: one malformed frame killed the tt-metal application. Its client sends without
// MSG_NOSIGNAL, so a send on a connection the server closed raises SIGPIPE (exit 141). A Python client
// with SIGPIPE at its default action (test/legacy/sigpipe_client.py) sends a malformed frame, then valid
// ALLOCs: the connection stays open, the valid frames count, the client lives and exits 0.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { repoRoot } from "../support/repo-files.js";
import { startLegacyServer } from "./legacy-server.js";

const script = `${repoRoot(import.meta.url)}/test/legacy/sigpipe_client.py`;
const ALLOCS = 10;

for (const frameBytes of [144, 112, 72] as const) {
  test(`${frameBytes}-byte client: a malformed frame does not close the connection; the client exits 0`, async (t) => {
    const server = await startLegacyServer({ frame: "auto" });
    t.after(() => server.stop());
    const client = spawn("python3", [script, server.legacyPath, String(frameBytes), String(ALLOCS)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      client.once("exit", (code, signal) => resolve([code, signal])),
    );
    const line = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: client.stdout! });
      lines.once("line", resolve);
      client.once("exit", (code, signal) => reject(new Error(`client exited early: ${code} ${signal}`)));
    });
    const report = JSON.parse(line) as {
      pid: number;
      dramAfterMalformed: number | null;
      dram: number | null;
    };
    assert.equal(report.dramAfterMalformed, 1000, "the connection answered after the malformed frame");
    assert.equal(report.dram, 1000 + ALLOCS * 100, "every valid ALLOC counted, the malformed one not");

    const mine = (await server.summary()).processes.find((p) => p.pid === report.pid);
    assert.ok(mine !== undefined, "the client's process is in the summary");
    assert.equal(mine.devices[0]!.used["DRAM"], 1000 + ALLOCS * 100);
    const anomalies = await server.anomalies();
    assert.equal(anomalies.byKind["LEGACY_QUARANTINE"], 1);
    assert.equal(anomalies.byKind["PROTOCOL_ERROR"], undefined, "no connection was closed");

    client.stdin!.end("go\n"); // its last send, then exit
    assert.deepEqual(await exited, [0, null], "alive until its last send, then a clean exit (not SIGPIPE)");
  });
}
