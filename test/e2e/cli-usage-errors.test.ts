// Command lines that cannot work are refused up front and say what to do: `--leak` beyond
// `--processes` (usage error, exit code 2, nothing started), an HTTP port already taken (the error
// names the flag that picks another).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { freePort, runCli, scratch } from "./harness.js";

const { dir, cleanup } = scratch();
after(cleanup);

test("demo and start refuse --leak beyond --processes with exit code 2, before starting anything", {
  timeout: 30_000,
}, async () => {
  const socket = join(dir, "leak.sock");
  for (const command of [["demo"], ["start", "--http", `127.0.0.1:${await freePort()}`]]) {
    const { code, stdout, stderr } = await runCli([
      ...command,
      "--processes",
      "3",
      "--leak",
      "1",
      "--leak",
      "7",
      "--socket",
      socket,
      "--duration", // were it accepted, it would end by itself
      "0.5",
    ]);
    assert.equal(code, 2, `${command}: ${stderr}`);
    assert.equal(stdout, "", `${command} started nothing`);
    assert.match(stderr, /--leak 7 names no process: with --processes 3 the indexes are 0 to 2/);
    assert.equal(existsSync(socket), false);
  }
  // The last index is accepted (the check is not off by one).
  const ok = await runCli([
    "demo",
    "--processes",
    "3",
    "--leak",
    "2",
    "--duration",
    "0.01",
    "--socket",
    socket,
  ]);
  assert.doesNotMatch(ok.stderr, /names no process/);
});

test("an HTTP port in use: serve and start say so and suggest --http HOST:PORT", {
  timeout: 30_000,
}, async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  const { port } = taken.address() as { port: number };
  try {
    for (const command of ["serve", "start"]) {
      const { code, stderr } = await runCli([
        command,
        "--socket",
        join(dir, `${command}-port.sock`),
        "--http",
        `127.0.0.1:${port}`,
      ]);
      assert.equal(code, 1, `${command}: ${stderr}`);
      assert.match(stderr, new RegExp(`cannot serve HTTP on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
      assert.match(stderr, /choose another with --http HOST:PORT .*--http 127\.0\.0\.1:0 for any free port/);
      assert.equal(stderr.trim().split("\n").length, 1, `${command}: one line, no stack trace: ${stderr}`);
    }
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  }
});
