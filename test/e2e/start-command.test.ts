// `allocwatch start` (what `npm start` runs): a server plus demo processes, and directions to look.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, test } from "node:test";
import { CLI, freePort, Proc, scratch, summaryOf, waitFor } from "./harness.js";

const { dir, cleanup } = scratch();
let start: Proc | undefined;
after(async () => {
  start?.kill("SIGKILL");
  await start?.exited;
  cleanup();
});

test("start runs a server and the demo, says where to look, and stops cleanly", {
  timeout: 30_000,
}, async () => {
  const socket = join(dir, "server.sock");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  start = new Proc(
    spawn(
      process.execPath,
      [
        CLI,
        "start",
        "--processes",
        "2",
        "--devices",
        "1",
        "--leak",
        "1",
        "--socket",
        socket,
        "--http",
        `127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
  const first = await start.line((l) => l.startsWith("allocwatch is running"), 15_000);
  assert.equal(
    first,
    `allocwatch is running: open ${url}/ (the dashboard)`,
    "the dashboard's URL comes first",
  );
  await start.line((l) => l.startsWith("Run `allocwatch top"), 15_000);
  const directions = start.lines.join("\n");
  assert.match(directions, new RegExp(`server socket\\s+${socket}`));
  assert.match(directions, new RegExp(`HTTP API\\s+${url}`));
  assert.match(directions, new RegExp(`summary\\s+${url}/api/v1/summary`));
  assert.match(
    directions,
    new RegExp(
      `Run \`allocwatch top --http 127\\.0\\.0\\.1:${port}\` \\(live\\) or \`allocwatch smi --http 127\\.0\\.0\\.1:${port}\``,
    ),
  );

  const summary = await waitFor("both demo processes to report", 15_000, async () => {
    const s = await summaryOf({ url });
    return s.processes.length === 2 && s.processes.every((p) => p.devices.length > 0) ? s : undefined;
  });
  assert.deepEqual(summary.processes.map((p) => p.name).sort(), ["bert-encoder-leaky", "llama-decoder"]);
  // Each process on chips of its own (simulated allocators over one id would overlay each other).
  assert.match(directions, /1 device each \(ids 0-1\)/);
  const chips = summary.processes.map((p) => p.devices.map((d) => d.id));
  assert.deepEqual(chips.flat().sort(), [0, 1], `devices per process: ${JSON.stringify(chips)}`);

  start.kill("SIGINT");
  const exit = await start.exited;
  assert.equal(exit.code, 0, start.stderr.join("\n"));
  await assert.rejects(fetch(`${url}/healthz`), "the server stopped with start");
});
