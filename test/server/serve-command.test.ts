// `allocwatch serve` as a user runs it: prints where to look, refuses a second start with exit 1 and a
// one-line reason, and on SIGTERM closes, removes the socket and exits 0.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "../support/wait-for.js";
import { tempSocketPath } from "./test-server.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

function serve(socket: string): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [cli, "serve", "--socket", socket, "--http", "127.0.0.1:0", "--quiet"],
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
