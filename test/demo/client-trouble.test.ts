// A demo workload that cannot reach the server says why, once per cause, not once per reconnect
// attempt (and never only "dropped N"): a "client-error" milestone that `allocwatch demo` shows on its
// stderr. The unit, then the real CLI with a real demo process retrying against a missing socket.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConnectionFailedError, HandshakeTimeoutError } from "../../src/client/errors.js";
import { ClientTrouble, type ClientTroubleReport } from "../../src/demo/client-trouble.js";
import { describeDemoLine } from "../../src/demo/progress-line.js";
import { runCli } from "../e2e/harness.js";

const errno = (code: string) => Object.assign(new Error(`connect ${code} /s.sock`), { code });

test("each distinct cause is told once until the client connects; then again", () => {
  const told: ClientTroubleReport[] = [];
  const trouble = new ClientTrouble((report) => told.push(report));
  for (let attempt = 0; attempt < 5; attempt++) {
    trouble.onError(new ConnectionFailedError("/s.sock", errno("ENOENT")));
  }
  trouble.onError(new ConnectionFailedError("/s.sock", errno("ECONNREFUSED")));
  trouble.onError(new ConnectionFailedError("/s.sock", errno("ECONNREFUSED")));
  trouble.onError(new HandshakeTimeoutError("/s.sock", 5000));
  trouble.onError(new HandshakeTimeoutError("/s.sock", 5000));
  assert.deepEqual(
    told.map((r) => [r.code, r.reason]),
    [
      ["AWC_CONNECTION_FAILED", "NO_SOCKET"],
      ["AWC_CONNECTION_FAILED", "REFUSED"],
      ["AWC_HANDSHAKE_TIMEOUT", undefined],
    ],
  );
  assert.match(told[0]!.message, /^cannot reach the allocwatch server at \/s\.sock: no socket there/);

  trouble.onStateChange("backoff");
  trouble.onError(new ConnectionFailedError("/s.sock", errno("ENOENT")));
  assert.equal(told.length, 3, "still the same outage");
  trouble.onStateChange("ready");
  trouble.onError(new ConnectionFailedError("/s.sock", errno("ENOENT")));
  assert.equal(told.length, 4, "a new outage after a connection is told again");
});

test("a client-error milestone reads as a problem line", () => {
  const line = JSON.stringify({
    event: "client-error",
    pid: 12,
    name: "llama-decoder",
    code: "AWC_CONNECTION_FAILED",
    reason: "PERMISSION_DENIED",
    message: "cannot reach the allocwatch server at /s.sock: permission denied (...)",
  });
  assert.deepEqual(describeDemoLine(line, { index: 0, pid: 12 }), {
    text:
      "[demo 0 pid 12] llama-decoder: cannot reach the allocwatch server at /s.sock: permission denied (...) " +
      "(AWC_CONNECTION_FAILED PERMISSION_DENIED); its events are counted as dropped until it connects, " +
      "then a snapshot makes the view exact",
    problem: true,
  });
});

test("allocwatch demo without a server: each process says why once on stderr while it retries", {
  timeout: 30_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "aw-trouble-"));
  const socket = join(dir, "missing-folder", "s.sock");
  try {
    const { code, stdout, stderr } = await runCli([
      "demo",
      "--socket",
      socket,
      "--processes",
      "1",
      "--devices",
      "1",
      "--workers",
      "0",
      "--step-ms",
      "20",
      "--duration",
      "1.5",
    ]);
    assert.equal(code, 0, stderr);
    // The process waits up to 3 s for a server, then runs 1.5 s: attempts after 50, 100, 200, 400,
    // 800, 1600 ... ms, each a counted error.
    const errors = Number(/finished after .* client errors (\d+)/.exec(stdout)?.[1]);
    assert.ok(errors >= 4, `retries: ${stdout}`);
    const told = stderr.split("\n").filter((line) => line.startsWith("[demo 0 pid "));
    assert.equal(told.length, 1, stderr);
    assert.match(
      told[0]!,
      new RegExp(
        `llama-decoder: cannot reach the allocwatch server at ${socket}: no socket there .*` +
          "\\(AWC_CONNECTION_FAILED NO_SOCKET\\); its events are counted as dropped",
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
