// The monitors' failures carry stable MONITOR_ codes: nothing listening, an HTTP error, a body that is
// not a summary.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { MonitorError, MonitorErrorCode } from "../../src/monitor/errors.js";
import { fetchSummary } from "../../src/monitor/smi/fetch-summary.js";

async function serve(status: number, body: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_, response) => {
    response.writeHead(status, { "content-type": "application/json" });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function hasCode(code: MonitorErrorCode) {
  return (err: unknown) => err instanceof MonitorError && err.code === code;
}

test("codes are stable, MONITOR_-prefixed and distinct", () => {
  const codes = Object.values(MonitorErrorCode);
  assert.deepEqual(codes.sort(), [
    "MONITOR_BAD_RESPONSE",
    "MONITOR_INVALID_ENDPOINT",
    "MONITOR_SERVER_UNREACHABLE",
  ]);
});

test("nothing listening: MONITOR_SERVER_UNREACHABLE", async () => {
  const { server, url } = await serve(200, "{}");
  await new Promise((resolve) => server.close(resolve));
  await assert.rejects(fetchSummary(url, 1000), hasCode(MonitorErrorCode.SERVER_UNREACHABLE));
});

for (const [name, status, body] of [
  ["an HTTP error", 500, '{"error":{"code":"HTTP_INTERNAL_ERROR","message":"x"}}'],
  ["a body that is not JSON", 200, "<html>"],
  ["JSON that is not a summary", 200, '{"status":"ok"}'],
] as const) {
  test(`${name}: MONITOR_BAD_RESPONSE`, async () => {
    const { server, url } = await serve(status, body);
    try {
      await assert.rejects(fetchSummary(url, 2000), hasCode(MonitorErrorCode.BAD_RESPONSE));
    } finally {
      server.close();
    }
  });
}
