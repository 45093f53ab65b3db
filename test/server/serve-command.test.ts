// `allocwatch serve` as a user runs it: prints where to look, refuses a second start with exit 1 and a
// one-line reason, and on SIGTERM closes, removes the socket and exits 0.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { type ErrorFrame, FrameType } from "../../src/protocol/frames.js";
import { waitFor } from "../support/wait-for.js";
import { RawClient } from "./raw-client.js";
import { tempSocketPath } from "./test-server.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

function serve(
  socket: string,
  flags: string[] = [],
): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [cli, "serve", "--socket", socket, "--http", "127.0.0.1:0", "--quiet", "--no-history", ...flags],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let text = "";
  child.stdout!.on("data", (d) => {
    text += d;
  });
  child.stderr!.on("data", (d) => {
    text += d;
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => text, exit };
}

test("serve prints where to look, refuses a second start, exits 0 on SIGTERM and removes the socket", async () => {
  const { dir, path } = tempSocketPath();
  const first = serve(path);
  await waitFor(() => first.output().includes("HTTP API"), {
    what: "serve to print its HTTP API address",
    detail: first.output,
  });
  assert.match(first.output(), new RegExp(`clients connect to\\s+${path}`));
  assert.match(first.output(), /http:\/\/127\.0\.0\.1:\d+\/api\/v1\/summary/);

  const second = serve(path);
  assert.equal(await second.exit, 1);
  assert.match(second.output(), /already listening on .*s\.sock/);
  assert.equal(second.output().trim().split("\n").length, 1, second.output());

  first.child.kill("SIGTERM");
  assert.equal(await first.exit, 0);
  assert.equal(existsSync(path), false);
  rmSync(dir, { recursive: true });
});

test("serve --max-connections caps client connections; a bad count is a usage error", async () => {
  const { dir, path } = tempSocketPath();
  const bad = serve(path, ["--max-connections", "0"]);
  assert.equal(await bad.exit, 1);
  assert.match(bad.output(), /--max-connections.*use a whole number >= 1/);

  const capped = serve(path, ["--max-connections", "1", "--max-connections-per-uid", "1"]);
  try {
    await waitFor(() => capped.output().includes("HTTP API"), {
      what: "serve to start",
      detail: capped.output,
    });
    const first = await RawClient.handshake(path);
    const second = await RawClient.connect(path);
    const refusal = await second.waitFor((f) => f.type === FrameType.ERROR);
    assert.equal((refusal as ErrorFrame).code, "SERVER_TOO_MANY_CONNECTIONS");
    first.destroy();
    second.destroy();
  } finally {
    capped.child.kill("SIGTERM");
    assert.equal(await capped.exit, 0);
    rmSync(dir, { recursive: true, force: true });
  }
});
