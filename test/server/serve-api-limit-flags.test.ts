// The HTTP side's bounds as `allocwatch serve` flags: --max-stream-clients, --stream-max-unsent-bytes,
// --series-budget-bytes and --max-metrics-process-series are in --help with their defaults, refuse what
// they cannot be before starting (exit 2 or the flag parser's error), and are what the running server applies.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { encodeEvents } from "../../src/protocol/encode-frame.js";
import type { SeriesResponse } from "../../src/server/api-types.js";
import { serveChild, stopChild } from "../support/serve-child.js";
import { waitFor } from "../support/wait-for.js";
import { RawClient, testEvent } from "./raw-client.js";
import { tempSocketPath } from "./test-server.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

test("serve --help lists the stream, series and metrics bounds with their defaults", () => {
  const help = spawnSync(process.execPath, [cli, "serve", "--help"], { encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  const text = help.stdout.replace(/\s+/g, " ");
  assert.match(text, /--max-stream-clients <n> .*\(default 64\)/);
  assert.match(text, /--stream-max-unsent-bytes <bytes> .*\(default 1048576 = 1 MiB\)/);
  assert.match(text, /--series-budget-bytes <bytes> .*0: no series \(default 67108864 = 64 MiB\)/);
  assert.match(text, /--max-metrics-process-series <n> .*\(default 10000\)/);
});

test("serve refuses 0 stream clients, a negative series budget and 0 metrics series before starting", () => {
  for (const [flag, value, message] of [
    ["--max-stream-clients", "0", /--max-stream-clients.*whole number >= 1/],
    ["--stream-max-unsent-bytes", "0", /--stream-max-unsent-bytes.*whole number of bytes/],
    ["--series-budget-bytes", "-1", /--series-budget-bytes.*whole number of bytes \(0 turns it off\)/],
    ["--max-metrics-process-series", "0", /--max-metrics-process-series.*whole number >= 1/],
  ] as const) {
    const { dir, path } = tempSocketPath();
    const run = spawnSync(process.execPath, [cli, "serve", "--socket", path, `${flag}=${value}`], {
      encoding: "utf8",
    });
    rmSync(dir, { recursive: true, force: true });
    assert.notEqual(run.status, 0, `${flag} ${value}`);
    assert.match(run.stderr, message, `${flag} ${value}`);
  }
});

test("serve --max-stream-clients 1: a second stream client is answered 503 by the running server", async (t) => {
  const { dir, path } = tempSocketPath();
  const aborter = new AbortController();
  const server = await serveChild(path, ["--max-stream-clients", "1", "--series-budget-bytes", "0"]);
  t.after(async () => {
    aborter.abort();
    await stopChild(server);
    rmSync(dir, { recursive: true, force: true });
  });
  const url = server.url;
  const first = await fetch(`${url}/api/v1/stream`, { signal: aborter.signal });
  assert.equal(first.status, 200);
  const second = await fetch(`${url}/api/v1/stream`, { signal: aborter.signal });
  assert.equal(second.status, 503);
  await second.body?.cancel();
  // --series-budget-bytes 0: the series route answers, with no buckets.
  // --series-budget-bytes 0: a device with allocations has no buckets, while its summary counts them.
  const client = await RawClient.handshake(path);
  t.after(() => client.destroy());
  client.send(encodeEvents([testEvent(1), testEvent(2)]));
  await waitFor(
    async () => {
      return (await server.summary()).server.eventsApplied >= 2 ? true : undefined;
    },
    { what: "two events applied" },
  );
  const series = (await (await fetch(`${url}/api/v1/series?device=0`)).json()) as SeriesResponse;
  const buckets = series.devices.flatMap((d) => Object.values(d.used).flatMap((b) => b as unknown[]));
  assert.deepEqual(buckets, [], JSON.stringify(series));
});
