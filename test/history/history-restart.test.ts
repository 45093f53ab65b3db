// `allocwatch serve --history PATH` as users run it: seconds written, the server killed with SIGKILL
// (no chance to close anything) and started again on the same file, and the earlier seconds still
// served; the lifetime it never saw end is closed as "server-stopped". A file another server holds is
// refused when named, a warning when it is the default; `allocwatch history` reads it all.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { encodeEvents } from "../../src/protocol/encode-frame.js";
import type { HistoryResponse } from "../../src/server/api-types.js";
import { newSessionId, RawClient } from "../server/raw-client.js";
import { waitFor } from "../support/wait-for.js";
import { tempHistoryDir } from "./history-fixtures.js";

const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const files = tempHistoryDir();
// The file is where the default path points with XDG_STATE_HOME = files.dir.
mkdirSync(join(files.dir, "allocwatch"));
const path = join(files.dir, "allocwatch", "history.sqlite");
const env = { ...process.env, XDG_STATE_HOME: files.dir, NO_COLOR: "1" };
const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill("SIGKILL");
  files.remove();
});

interface Served {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
  url: () => string | undefined;
}

function serve(name: string, flags: string[]): Served {
  const child = spawn(
    process.execPath,
    [cli, "serve", "--socket", join(files.dir, `${name}.sock`), "--http", "127.0.0.1:0", "--quiet"].concat([
      "--no-tt-shm",
      "--no-hardware",
      ...flags,
    ]),
    { stdio: ["ignore", "pipe", "pipe"], env },
  );
  running.add(child);
  let text = "";
  child.stdout!.on("data", (d) => {
    text += d;
  });
  child.stderr!.on("data", (d) => {
    text += d;
  });
  const exit = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const url = () => /HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
  return { child, output: () => text, exit, url };
}

async function ready(server: Served): Promise<string> {
  return waitFor(server.url, {
    what: "serve to print its HTTP address",
    detail: server.output,
    timeoutMs: 20_000,
  });
}

async function history(url: string, query: string): Promise<HistoryResponse> {
  const response = await fetch(`${url}/api/v1/history?${query}`);
  assert.equal(response.status, 200);
  return (await response.json()) as HistoryResponse;
}

const DRAM_BYTES = 123_456;
let restartedUrl = "";
const sessionId = newSessionId();

test("samples written before a SIGKILL are served after a restart on the same file", async () => {
  const first = serve("first", ["--history", path]);
  const url = await ready(first);
  assert.match(first.output(), new RegExp(`history\\s+${path} \\(kept 7d; --no-history turns off\\)`));
  const client = await RawClient.handshake(join(files.dir, "first.sock"), {
    sessionId,
    name: "killed-with-server",
  });
  client.send(
    encodeEvents([
      {
        op: 1,
        seq: 1,
        memoryType: 0,
        allocationId: 1,
        sizeBytes: DRAM_BYTES,
        deviceId: 0,
        timestampNs: 0,
        address: 0,
      },
    ]),
  );
  const before = await waitFor(
    async () => {
      const h = await history(url, "device=0&type=DRAM&step=1000");
      const points = h.series[0]?.points.filter((p) => p.last === DRAM_BYTES) ?? [];
      return points.length >= 2 ? points : undefined;
    },
    { what: "two written seconds holding the allocation", timeoutMs: 20_000 },
  );
  first.child.kill("SIGKILL");
  await first.exit;
  client.destroy();

  const second = serve("second", ["--history", path]);
  restartedUrl = await ready(second);
  const h = await history(restartedUrl, "device=0&type=DRAM&step=1000");
  const kept = new Map(h.series[0]!.points.map((p) => [p.t, p]));
  for (const point of before) assert.deepEqual(kept.get(point.t), point, `second ${point.t} kept as written`);
  const lifetime = (await history(restartedUrl, `pid=${process.pid}`)).lifetimes.find(
    (l) => l.sessionId === sessionId,
  );
  assert.equal(lifetime?.endReason, "server-stopped");
  assert.ok(lifetime.endedAtMs! >= before.at(-1)!.t, JSON.stringify(lifetime));
});

test("a file another server holds: refused when named, a warning and no history when it is the default", async () => {
  assert.ok(restartedUrl !== "", "needs the restarted server of the previous test");
  const named = serve("named", ["--history", path]);
  assert.equal(await named.exit, 1);
  assert.match(named.output(), /history database .* is in use by another process .*--no-history/);

  const byDefault = serve("default", []);
  const url = await ready(byDefault);
  assert.match(byDefault.output(), /SERVER_HISTORY_LOCKED.*running without history/);
  assert.equal((await fetch(`${url}/api/v1/history`)).status, 404);
  byDefault.child.kill("SIGTERM");
  assert.equal(await byDefault.exit, 0);

  const unwritable = serve("unwritable", ["--history", "/dev/null/history.sqlite"]);
  assert.equal(await unwritable.exit, 1);
  assert.match(
    unwritable.output(),
    /cannot create or write the history database \/dev\/null\/history\.sqlite/,
  );
});

test("allocwatch history: a chart per series, the process's lifetime, and --json", () => {
  assert.ok(restartedUrl !== "", "needs the restarted server of the first test");
  const text = spawnSync(
    process.execPath,
    [cli, "history", "--server", restartedUrl, "--since", "10m", "--type", "DRAM"],
    {
      encoding: "utf8",
      env,
    },
  );
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /device 0 DRAM\s+.*[▁▂▃▄▅▆▇█].*now\s+120\.6 KiB\s+peak\s+120\.6 KiB/);
  // The killed server never saw the session end: no bytes are claimed leaked.
  assert.match(text.stdout, new RegExp(`pid ${process.pid}\\s+killed-with-server .*\\(server-stopped\\)\n`));
  assert.match(text.stdout, /\(step 2 s, kept 7d\)/);
  assert.ok(!text.stdout.includes("\x1b["), "NO_COLOR: no escape codes");

  const json = spawnSync(
    process.execPath,
    [cli, "history", "--server", restartedUrl, "--pid", String(process.pid), "--json"],
    {
      encoding: "utf8",
      env,
    },
  );
  assert.equal(json.status, 0, json.stderr);
  const answer = JSON.parse(json.stdout) as HistoryResponse;
  assert.equal(answer.series[0]!.pid, process.pid);
  assert.equal(answer.series[0]!.sessionId, sessionId);

  const bad = spawnSync(process.execPath, [cli, "history", "--since", "yesterday"], {
    encoding: "utf8",
    env,
  });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--since must be a whole number and a unit/);
});
