// The dashboard's files are served from a fixed allow-list (the built folder, looked up by exact URL
// path): right content types, a strict Content-Security-Policy, nothing outside the folder whatever the
// path says, and the Host policy of every other route.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DASHBOARD_CSP, loadDashboardAssets } from "../../src/server/dashboard-assets.js";
import { startTestServer } from "./test-server.js";

/** A raw GET (the path is sent as written, unnormalised) with this Host. */
function get(
  port: number,
  path: string,
  host = `127.0.0.1:${port}`,
  method = "GET",
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, headers: { host } }, (res) => {
      let body = "";
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.once("error", reject);
    req.end();
  });
}

test("the page, its modules, uPlot and the API types are served with their content types and the CSP", async () => {
  const server = await startTestServer();
  const port = server.httpAddress!.port;
  try {
    const expected: [string, RegExp][] = [
      ["/", /^text\/html/],
      ["/index.html", /^text\/html/],
      ["/assets/dashboard/main.js", /^text\/javascript/],
      ["/assets/server/api-types.js", /^text\/javascript/],
      ["/assets/vendor/uPlot.esm.js", /^text\/javascript/],
      ["/assets/vendor/uPlot.min.css", /^text\/css/],
      ["/assets/dashboard.css", /^text\/css/],
    ];
    for (const [path, type] of expected) {
      const res = await get(port, path);
      assert.equal(res.status, 200, path);
      assert.match(String(res.headers["content-type"]), type, path);
      assert.equal(res.headers["content-security-policy"], DASHBOARD_CSP, path);
      assert.equal(res.headers["x-content-type-options"], "nosniff", path);
    }
    const page = await get(port, "/");
    assert.doesNotMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script in the page");
    assert.doesNotMatch(page.body, /\sstyle=/, "no inline style in the page");
    assert.doesNotMatch(page.body, /https?:\/\//, "nothing from another origin (works offline)");
    assert.match(DASHBOARD_CSP, /script-src 'self'(;|$)/);
    const head = await get(port, "/", undefined, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
  } finally {
    await server.close();
  }
});

test("paths outside the allow-list get 404, however they are spelled", async () => {
  const server = await startTestServer();
  const port = server.httpAddress!.port;
  try {
    for (const path of [
      "/assets/../package.json",
      "/assets/%2e%2e/%2e%2e/package.json",
      "/assets/..%2f..%2fpackage.json",
      "/assets/dashboard/../../../../../../etc/passwd",
      "/assets/dashboard/main.ts",
      "/assets/dashboard/nope.js",
      "/assets/",
      "/assets/dashboard//main.js",
    ]) {
      const res = await get(port, path);
      assert.equal(res.status, 404, `${path}: ${res.body.slice(0, 80)}`);
      assert.equal(JSON.parse(res.body).error.code, "HTTP_NOT_FOUND", path);
    }
  } finally {
    await server.close();
  }
});

test("the page obeys the Host allow-list like the API", async () => {
  const server = await startTestServer();
  const port = server.httpAddress!.port;
  try {
    const res = await get(port, "/", `evil.example:${port}`);
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.body).error.code, "HTTP_HOST_NOT_ALLOWED");
    assert.equal((await get(port, "/assets/dashboard/main.js", "evil.example")).status, 403);
  } finally {
    await server.close();
  }
});

test("the allow-list holds only known kinds of file with plain names, and is empty when not built", () => {
  const root = mkdtempSync(join(tmpdir(), "allocwatch-assets-"));
  try {
    mkdirSync(join(root, "assets"));
    writeFileSync(join(root, "index.html"), "<!doctype html>");
    writeFileSync(join(root, "assets", "a.js"), "export {};");
    writeFileSync(join(root, "assets", "secret.json"), "{}");
    writeFileSync(join(root, "assets", ".hidden.js"), "");
    const assets = loadDashboardAssets(root);
    assert.deepEqual([...assets.keys()].sort(), ["/", "/assets/a.js"]);
    assert.equal(loadDashboardAssets(join(root, "missing")).size, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
