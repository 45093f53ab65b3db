import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_SERVER_URL, resolveServerUrl } from "../../src/monitor/endpoint.js";

test("--server beats --http beats ALLOCWATCH_HTTP beats the default", () => {
  assert.equal(resolveServerUrl({}), "http://127.0.0.1:7477");
  assert.equal(DEFAULT_SERVER_URL, "http://127.0.0.1:7477");
  assert.equal(resolveServerUrl({ env: "127.0.0.1:9000" }), "http://127.0.0.1:9000");
  assert.equal(resolveServerUrl({ env: "127.0.0.1:9000", http: "localhost:9001" }), "http://localhost:9001");
  assert.equal(
    resolveServerUrl({ env: "127.0.0.1:9000", http: "localhost:9001", server: "http://host:9002/" }),
    "http://host:9002",
  );
  assert.equal(resolveServerUrl({ http: "[::1]:7477" }), "http://[::1]:7477");
});

test("a value that is not an address is refused with a message that says the fix", () => {
  for (const bad of ["foo", "ftp://x:1", "http://", "127.0.0.1"]) {
    assert.throws(
      () => resolveServerUrl({ http: bad }),
      (err: { code?: string; message?: string }) =>
        err.code === "MONITOR_INVALID_ENDPOINT" && /HOST:PORT/.test(err.message ?? ""),
      bad,
    );
  }
});
