// `allocwatch smi` as a user runs it: a real CLI process reading a real HTTP endpoint that serves a
// fixed summary (the allocation server itself is exercised in test/e2e). Exit codes: 0 ok, 2 usage,
// 4 server error here; 3 (no server) in test/e2e/smi-cli.test.ts.
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
let body = JSON.stringify(fixtureSummary);

before(async () => {
  server = createServer((req, res) => {
    if (req.url !== "/api/v1/summary") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(status, { "content-type": "application/json" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const env = { ...process.env, NO_COLOR: "1", ALLOCWATCH_HTTP: "", COLUMNS: "" };

/** Runs the CLI to its end: exit code, stdout, stderr. */
async function smi(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, "smi", ...args], {
      env: { ...env, ...extraEnv },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** The JSON minus the reading's clock, which the test cannot know. */
function withoutTime(doc: { timestamp?: string }) {
  assert.ok(!Number.isNaN(Date.parse(doc.timestamp ?? "")), `timestamp ${doc.timestamp}`);
  return { ...doc, timestamp: "" };
}

test("smi --json prints the versioned smi projection", async () => {
  const { code, stdout } = await smi(["--json", "--http", address]);
  assert.equal(code, 0);
  const expected = toSmiJson(fixtureSummary, { now: new Date(), serverUrl: `http://${address}` });
  assert.deepEqual(withoutTime(JSON.parse(stdout)), withoutTime(expected));
});

test("smi prints the tables at 100 columns when piped, at $COLUMNS when given (address from ALLOCWATCH_HTTP)", async () => {
  for (const columns of [100, 80]) {
    const { code, stdout } = await smi([], {
      ALLOCWATCH_HTTP: address,
      COLUMNS: columns === 80 ? "80" : "",
    });
    assert.equal(code, 0);
    const expected = renderSmi(fixtureSummary, { serverUrl: `http://${address}`, columns });
    // The title line carries the wall-clock time; everything else is the pure rendering.
    assert.equal(stdout.split("\n").slice(1).join("\n"), expected.split("\n").slice(1).join("\n"));
    assert.match(
      stdout.split("\n")[0]!,
      /^allocwatch smi {2}· {2}server 0\.1\.0 {2}· {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}· {2}http:/,
    );
  }
});

test("smi -l 0.05 --json prints one document per line and exits 0 on Ctrl+C", async () => {
  const child = spawn(process.execPath, [cli, "smi", "-l", "0.05", "--json", "--http", address], { env });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk;
    if (out.split("\n").length > 3) child.kill("SIGINT");
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0);
  const docs = out.trim().split("\n");
  assert.ok(docs.length >= 3, out);
  const expected = toSmiJson(fixtureSummary, { now: new Date(), serverUrl: `http://${address}` });
  for (const doc of docs) assert.deepEqual(withoutTime(JSON.parse(doc)), withoutTime(expected));
});

test("an HTTP error or a body that is not a summary: one line and exit code 4", async () => {
  for (const [s, b, message] of [
    [500, "{}", /HTTP 500/],
    [200, '{"status":"ok"}', /not an allocwatch summary/],
  ] as const) {
    status = s;
    body = b;
    try {
      const { code, stdout, stderr } = await smi(["--http", address]);
      assert.equal(code, 4);
      assert.equal(stdout, "");
      assert.match(
        stderr,
        /^allocwatch: unexpected answer from http:\/\/127\.0\.0\.1:\d+\/api\/v1\/summary: /,
      );
      assert.match(stderr, message);
      assert.equal(stderr.split("\n").length, 2, "one line");
    } finally {
      status = 200;
      body = JSON.stringify(fixtureSummary);
    }
  }
});

test("usage errors exit 2: unknown option, bad -i, bad -l, a server address that is not one", async () => {
  for (const args of [["--bogus"], ["-i", "x"], ["-l", "0"], ["--http", "nonsense"], ["--pid", "-3"]]) {
    const { code, stdout, stderr } = await smi(args[0] === "--http" ? args : [...args, "--http", address]);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.equal(stdout, "");
    assert.match(stderr, /\S/);
  }
  const help = await smi(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Exit codes: 0 ok, 2 usage error, 3 no server at the address, 4 the server/);
  assert.match(help.stdout, /-l, --loop \[sec\]/);
  assert.match(help.stdout, /-i, --id <ids>/);
});

test("-i and --pid filter the table", async () => {
  const { code, stdout } = await smi(["-i", "1", "--pid", "4242", "--http", address]);
  assert.equal(code, 0);
  assert.doesNotMatch(stdout, /wormhole_b0 n150|resnet/);
  assert.match(stdout, /^ {3}4242 {2}llama-serve +1 /m);
});
