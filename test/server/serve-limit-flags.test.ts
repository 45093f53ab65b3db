// `allocwatch serve` exposes the connection limits of issue 9 (findings 4, 5): --help names each flag with
// its default, a value the server refuses exits 1 with the option's message, and a given value is used.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { type ErrorFrame, FrameType } from "../../src/protocol/frames.js";
import { serveChild, stopChild } from "../support/serve-child.js";
import { RawClient } from "./raw-client.js";
import { tempSocketPath } from "./test-server.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

test("serve --help lists the HELLO deadline, the buffer budget and the unread-replies limit", () => {
  const help = spawnSync(process.execPath, [cli, "serve", "--help"], { encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  const text = help.stdout.replace(/\s+/g, " ");
  assert.match(text, /--hello-timeout-ms <ms> .*counted from connecting \(default 5000\)/);
  assert.match(text, /--buffer-budget-bytes <bytes> .*SERVER_BUDGET_EXCEEDED \(default 67108864 = 64 MiB\)/);
  assert.match(text, /--max-outbound-bytes <bytes> .*\(default 1048576 = 1 MiB\)/);
});

test("serve refuses a buffer budget smaller than a frame, with exit 2 (a usage error) and the fix", () => {
  const { dir, path } = tempSocketPath();
  const run = spawnSync(
    process.execPath,
    [cli, "serve", "--socket", path, "--http", "127.0.0.1:0", "--buffer-budget-bytes", "1000"],
    { encoding: "utf8" },
  );
  rmSync(dir, { recursive: true, force: true });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /--buffer-budget-bytes\) must be at least maxFrameBytes \(1048576\).*got 1000/);
});

test("serve --hello-timeout-ms is the deadline a silent connection gets", async (t) => {
  const { dir, path } = tempSocketPath();
  const server = await serveChild(path, [
    ...["--hello-timeout-ms", "200", "--buffer-budget-bytes", "2097152", "--max-outbound-bytes", "4096"],
  ]);
  t.after(async () => {
    await stopChild(server);
    rmSync(dir, { recursive: true, force: true });
  });
  const silent = await RawClient.connect(path);
  const frame = (await silent.waitFor((f) => f.type === FrameType.ERROR, 10_000)) as ErrorFrame;
  assert.equal(frame.code, "SERVER_HELLO_TIMEOUT");
  assert.match(frame.message, /no HELLO within 200 ms/);
  await silent.closed;
});
