// /metrics under its limits and failures: a server told to answer at most 7 per-process series (one
// process on one device) leaves the smaller holder out and says so; a scrape that fails answers 500 with
// the API's error shape and is logged.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import pino from "pino";
import { encodeEvents } from "../../src/protocol/encode-frame.js";
import { API_MEMORY_TYPES, ApiRoute } from "../../src/server/api-types.js";
import { serveMetrics } from "../../src/server/metrics/metrics-route.js";
import { PrometheusMetrics } from "../../src/server/metrics/prometheus-metrics.js";
import { RawClient, testEvent } from "../server/raw-client.js";
import { startTestServer } from "../server/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { parseExposition } from "./exposition.js";

test("past maxMetricsProcessSeries the smaller holders are left out and counted", async () => {
  const server = await startTestServer({ maxMetricsProcessSeries: API_MEMORY_TYPES.length });
  try {
    const big = await RawClient.handshake(server.socketPath, { name: "big" });
    const small = await RawClient.handshake(server.socketPath, { name: "small" });
    big.send(encodeEvents([testEvent(1), testEvent(2)]));
    small.send(encodeEvents([testEvent(1)]));
    await waitFor(() => server.queries.summary().server.eventsApplied === 3, { what: "3 events applied" });
    const text = await (await fetch(`${server.httpUrl}${ApiRoute.METRICS}`)).text();
    const samples = parseExposition(text);
    const names = new Set(
      samples
        .filter((s) => s.name === "allocwatch_process_memory_used_bytes")
        .map((s) => s.labels["process"]),
    );
    assert.deepEqual([...names], ["big"]);
    const omitted = samples.find((s) => s.name === "allocwatch_process_series_omitted");
    assert.equal(omitted?.value, API_MEMORY_TYPES.length);
    big.destroy();
    small.destroy();
  } finally {
    await server.stop();
  }
});

test("a scrape that fails answers 500 with the API's error shape and is logged", async () => {
  const logged: string[] = [];
  const log = pino({ level: "error" }, { write: (line: string) => void logged.push(line) });
  const metrics = new PrometheusMetrics(
    {
      summary: () => {
        throw new Error("summary broke");
      },
      largestFreeBlocks: () => [],
    },
    { processDefaults: false },
  );
  const http = createServer((request, response) => serveMetrics(metrics, request, response, log));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = http.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(response.status, 500);
    const body = (await response.json()) as { error: { code: string } };
    assert.equal(body.error.code, "HTTP_INTERNAL_ERROR");
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /summary broke/);
  } finally {
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }
});
