// The HTTP API answers only requests that name this machine (issue 9, finding 8): a web page that rebinds
// a DNS name of its own to 127.0.0.1 still sends that name as Host, and is refused with 403
// HTTP_HOST_NOT_ALLOWED; localhost, 127.0.0.1, [::1], the bound address and `--http-allow-host` names are
// answered. An address other machines can reach is refused unless asked for (`--http-public`), and then
// logged as a warning.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { request } from "node:http";
import { connect } from "node:net";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import pino from "pino";
import type { ApiErrorResponse } from "../../src/server/api-types.js";
import { InvalidOptionError } from "../../src/server/errors.js";
import { startHttpApi } from "../../src/server/http-api.js";
import { hostHeaderName, isLoopbackAddress, parseAllowedHost } from "../../src/server/http-host-policy.js";
import { resolveServerOptions } from "../../src/server/options.js";
import { startTestServer } from "./test-server.js";

const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** GET `path` on 127.0.0.1:`port` with this Host header (fetch does not let a caller choose it). */
function getWithHost(
  port: number,
  host: string,
  path = "/healthz",
): Promise<{ status: number; body: Partial<ApiErrorResponse> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host } }, (res) => {
      let text = "";
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.once("error", reject);
    req.end();
  });
}

/** An HTTP/1.0 request without any Host header (what a browser never sends), raw. */
function getWithoutHost(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.end("GET /healthz HTTP/1.0\r\n\r\n"));
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk;
    });
    socket.once("end", () => resolve(text));
    socket.once("error", reject);
  });
}

test("a Host that is not this machine gets 403 HTTP_HOST_NOT_ALLOWED; its own names get 200", async () => {
  const server = await startTestServer();
  const port = server.httpAddress!.port;
  try {
    for (const host of [
      "evil.example",
      `evil.example:${port}`,
      "127.0.0.1.evil.example",
      "localhost.",
      "a:b:c",
    ]) {
      const { status, body } = await getWithHost(port, host, "/api/v1/summary");
      assert.equal(status, 403, host);
      assert.equal(body.error?.code, "HTTP_HOST_NOT_ALLOWED", host);
      assert.match(body.error?.message ?? "", /does not name this server.*--http-allow-host NAME/, host);
    }
    const missing = await getWithoutHost(port);
    assert.match(missing, /^HTTP\/1\.1 403/);
    assert.match(missing, /HTTP_HOST_NOT_ALLOWED.*without a Host header/);
    for (const host of [
      `127.0.0.1:${port}`,
      "127.0.0.1",
      `localhost:${port}`,
      "LOCALHOST",
      `[::1]:${port}`,
    ]) {
      assert.equal((await getWithHost(port, host)).status, 200, host);
    }
    // What every client of the API does: fetch sends the URL's host:port.
    assert.equal((await server.get("/api/v1/summary")).status, 200);
  } finally {
    await server.stop();
  }
});

test("--http-allow-host names are answered too, in any case and with any port", async () => {
  const server = await startTestServer({ httpAllowHosts: ["Monitor.Example", "[fd00::1]"] });
  const port = server.httpAddress!.port;
  try {
    for (const host of ["monitor.example", "MONITOR.example:8443", "[fd00::1]:80"]) {
      assert.equal((await getWithHost(port, host)).status, 200, host);
    }
    assert.equal((await getWithHost(port, "other.example")).status, 403);
  } finally {
    await server.stop();
  }
});

test("an address other machines can reach is refused without httpPublic (--http-public)", async () => {
  for (const http of ["0.0.0.0:0", "[::]:0", "192.0.2.1:7477", "10.1.2.3:0"]) {
    assert.throws(
      () => resolveServerOptions({ http }),
      (error: Error) => {
        assert.ok(error instanceof InvalidOptionError, http);
        assert.match(error.message, /is not a loopback address.*--http-public/, http);
        return true;
      },
    );
  }
  for (const http of ["127.0.0.1:0", "127.5.6.7:0", "[::1]:0", "localhost:0"]) {
    assert.doesNotThrow(() => resolveServerOptions({ http }), http);
  }
  assert.doesNotThrow(() => resolveServerOptions({ http: "0.0.0.0:0", httpPublic: true }));
});

test("a host name that turns out to bind a non-loopback address is refused once bound", async () => {
  // What `--http myhost:0` does when myhost resolves to a LAN address: only the bind tells.
  const queries = {} as never;
  const log = pino({ level: "silent" });
  await assert.rejects(
    startHttpApi(queries, { host: "0.0.0.0", port: 0 }, log, { public: false, allowHosts: [] }),
    (error: Error) => error instanceof InvalidOptionError && /--http-public/.test(error.message),
  );
});

test("with httpPublic a wildcard bind works, logs a warning, and still checks Host", async () => {
  const lines: string[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
  const server = await startTestServer({ http: "0.0.0.0:0", httpPublic: true, logger });
  const port = server.httpAddress!.port;
  try {
    assert.ok(
      lines.some((l) => /non-loopback address.*other machines can read it/.test(l)),
      lines.join(""),
    );
    assert.equal((await getWithHost(port, `127.0.0.1:${port}`)).status, 200);
    assert.equal((await getWithHost(port, `0.0.0.0:${port}`)).status, 200, "the URL serve prints");
    assert.equal((await getWithHost(port, "evil.example")).status, 403);
  } finally {
    await server.stop();
  }
});

test("serve --http 0.0.0.0:PORT without --http-public exits 2 and says why", async () => {
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [cli, "serve", "--socket", "/nonexistent/never.sock", "--http", "0.0.0.0:0"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout!.on("data", (d) => {
      output += d;
    });
    child.stderr!.on("data", (d) => {
      output += d;
    });
    child.once("close", (code) => resolve({ code, output }));
  });
  assert.equal(result.code, 2, result.output);
  assert.match(result.output, /--http 0\.0\.0\.0:0 is not a loopback address.*--http-public/);
});

test("the policy's parts: Host parsing, loopback addresses, allowed names", () => {
  assert.equal(hostHeaderName("LocalHost:7477"), "localhost");
  assert.equal(hostHeaderName("[::1]:7477"), "::1");
  assert.equal(hostHeaderName("[::1]"), "::1");
  assert.equal(hostHeaderName("::1"), undefined, "IPv6 without brackets");
  assert.equal(hostHeaderName("a:b"), undefined);
  assert.equal(hostHeaderName(""), undefined);
  for (const ip of ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"])
    assert.ok(isLoopbackAddress(ip), ip);
  for (const ip of ["0.0.0.0", "::", "10.0.0.1", "::ffff:10.0.0.1", "128.0.0.1"]) {
    assert.ok(!isLoopbackAddress(ip), ip);
  }
  assert.equal(parseAllowedHost(" Box.Example "), "box.example");
  assert.equal(parseAllowedHost("[fd00::1]"), "fd00::1");
  for (const bad of ["", "a b", "host:80", "http://x", "-x.example", "x..example"]) {
    assert.throws(() => parseAllowedHost(bad), InvalidOptionError, bad);
  }
  assert.throws(
    () => resolveServerOptions({ httpAllowHosts: ["a/b"] }),
    /--http-allow-host "a\/b" must be a host name/,
  );
});
