import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { FrameType } from "../../src/protocol/frames.js";
import { FixtureServer, unusedSocketPath } from "./fixture-server.js";
import { CHILD_MARKER } from "./idle-client-child.js";

const CHILD = fileURLToPath(new URL("./idle-client-child.js", import.meta.url));

function runChild(socketPath: string): Promise<{ code: number | null; stdout: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [CHILD, CHILD_MARKER, socketPath], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  return new Promise((resolve) => {
    child.once("exit", (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, ms: Date.now() - started });
    });
  });
}

test("a process with an idle connected client exits on its own", async () => {
  const server = await FixtureServer.start();
  try {
    const result = await runChild(server.path);
    assert.equal(result.code, 0, "exited normally, not killed by the 10 s guard");
    assert.match(result.stdout, /recorded [0-9a-f]{32}/);
    assert.equal(server.framesOf(FrameType.HELLO).length, 1, "it did connect");
  } finally {
    await server.close();
  }
});

test("a process whose client waits for an absent server exits on its own", async () => {
  const { path, cleanup } = unusedSocketPath();
  try {
    const result = await runChild(path);
    assert.equal(result.code, 0);
    assert.ok(result.ms < 5000, `exited in ${result.ms} ms`);
  } finally {
    cleanup();
  }
});
