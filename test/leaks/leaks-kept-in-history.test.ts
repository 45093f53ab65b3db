// With a history database, leak reports are stored there: a report made before the server stops is
// still served by the next server on the same file (and by the same id). Real `allocwatch serve
// --history PATH` processes and a real leaking client process.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { LeaksResponse } from "../../src/server/api-types.js";
import {
  cleanEnv,
  freePort,
  getJson,
  Proc,
  processScope,
  startServerProcess,
  waitFor,
} from "../e2e/harness.js";
import { LEAKING_CHILD_MARKER } from "./leaking-child.js";

const CHILD = fileURLToPath(new URL("./leaking-child.js", import.meta.url));
const { dir, procs } = processScope();

test("a leak report outlives the server in its history database", { timeout: 60_000 }, async () => {
  const socket = join(dir, "server.sock");
  const database = join(dir, "history.sqlite");
  const first = await startServerProcess(socket, await freePort(), ["--history", database]);
  procs.push(first);
  const child = new Proc(
    spawn(process.execPath, [CHILD, LEAKING_CHILD_MARKER, socket, "exit"], {
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  procs.push(child);
  assert.equal((await child.exited).code, 0);
  const before = await waitFor("the leak report", 15_000, async () => {
    const { reports } = await getJson<LeaksResponse>(`${first.url}/api/v1/leaks?pid=${child.pid}`);
    return reports[0];
  });
  assert.ok(before.id >= 1);

  first.child.kill("SIGTERM");
  await first.exited;
  const second = await startServerProcess(socket, await freePort(), ["--history", database]);
  procs.push(second);
  const { reports } = await getJson<LeaksResponse>(`${second.url}/api/v1/leaks?pid=${child.pid}`);
  assert.deepEqual(reports, [before]);
});
