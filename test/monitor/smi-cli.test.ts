// `allocwatch smi` as a user runs it: a real CLI process reading a real HTTP endpoint that serves a
// fixed summary (the allocation server itself is exercised in test/e2e).
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { toSmiJson } from "../../src/monitor/smi/json.js";
import { renderSmi } from "../../src/monitor/smi/render.js";
import { fixtureSummary } from "./smi-fixture.js";

const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const run = promisify(execFile);

let server: Server;
let address: string;
let status = 200;

before(async () => {
  server = createServer((req, res) => {
    if (req.url !== "/api/v1/summary") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(fixtureSummary));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const env = { ...process.env, NO_COLOR: "1", ALLOCWATCH_HTTP: "" };

test("smi --json prints the summary's smi projection", async () => {
  const { stdout } = await run(process.execPath, [cli, "smi", "--json", "--http", address], { env });
  assert.deepEqual(JSON.parse(stdout), toSmiJson(fixtureSummary));
});

test("smi prints the tables (address taken from ALLOCWATCH_HTTP)", async () => {
  const { stdout } = await run(process.execPath, [cli, "smi"], { env: { ...env, ALLOCWATCH_HTTP: address } });
  const expected = renderSmi(fixtureSummary, { serverUrl: `http://${address}` });
  // The title line carries the wall-clock time; everything else is the pure rendering.
  assert.equal(stdout.split("\n").slice(1).join("\n"), expected.split("\n").slice(1).join("\n"));
  assert.match(
    stdout.split("\n")[0]!,
    /^allocwatch smi {2}· {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}· {2}http:/,
  );
});

test("smi --watch --json prints one document per interval and exits 0 on Ctrl+C", async () => {
  const child = spawn(
    process.execPath,
    [cli, "smi", "--watch", "--json", "--interval", "50", "--http", address],
    {
      env,
    },
  );
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk;
    if (out.split("\n").length > 3) child.kill("SIGINT");
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0);
  const docs = out.trim().split("\n");
  assert.ok(docs.length >= 3, out);
  for (const doc of docs) assert.deepEqual(JSON.parse(doc), toSmiJson(fixtureSummary));
});

test("an HTTP error from the server is one line and exit code 1", async () => {
  status = 500;
  try {
    await assert.rejects(
      run(process.execPath, [cli, "smi", "--http", address], { env }),
      (err: { code?: number; stdout?: string; stderr?: string }) => {
        assert.equal(err.code, 1);
        assert.equal(err.stdout, "");
        assert.match(
          err.stderr ?? "",
          /^allocwatch: unexpected answer from http:\/\/127\.0\.0\.1:\d+\/api\/v1\/summary: HTTP 500\n$/,
        );
        return true;
      },
    );
  } finally {
    status = 200;
  }
});
