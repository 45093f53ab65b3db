// Socket paths the server cannot use are refused with the real cause (issue 9, finding 7): a path over
// the kernel's sun_path limit before anything is bound (exit code 2, the limit stated, no truncated file
// left behind); a missing directory as "does not exist", not as libuv's "permission denied"; a directory
// the user may not write as "permission denied". And the temporary name the listener binds first
// (listener.ts) never shows: not beside the socket, not at a path at the limit.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { InvalidOptionError } from "../../src/server/errors.js";
import { describeListenFailure, MAX_SOCKET_PATH_BYTES } from "../../src/server/listener.js";
import { resolveServerOptions } from "../../src/server/options.js";
import { startServer } from "../../src/server/server.js";
import { RawClient } from "./raw-client.js";
import { tempSocketPath } from "./test-server.js";

const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const quiet = { http: false as const, logger: pino({ level: "silent" }) };
const NOBODY = 65534;
const SERVE_DEADLINE_MS = 10_000;

function serve(args: string[], uid?: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [cli, "serve", "--http", "127.0.0.1:0", "--quiet", "--no-history", ...args],
      {
        stdio: ["ignore", "pipe", "pipe"],
        ...(uid === undefined ? {} : { uid, gid: uid }),
      },
    );
    let output = "";
    child.stdout!.on("data", (d) => {
      output += d;
    });
    child.stderr!.on("data", (d) => {
      output += d;
    });
    // A serve that keeps running despite the error would never exit: a deadline, not a wait.
    const deadline = setTimeout(() => child.kill("SIGKILL"), SERVE_DEADLINE_MS);
    child.once("close", (code) => {
      clearTimeout(deadline);
      resolve({
        code,
        output: code === null ? `still running after ${SERVE_DEADLINE_MS} ms: ${output}` : output,
      });
    });
  });
}

/** A path of exactly `bytes` bytes: `dir`, one padding directory, then `name`. */
function pathOfLength(dir: string, bytes: number, name: string): string {
  const padding = bytes - Buffer.byteLength(join(dir, name)) - 1;
  assert.ok(padding >= 1, "the scratch directory leaves room for padding");
  const parent = join(dir, "d".repeat(padding));
  mkdirSync(parent, { recursive: true });
  const path = join(parent, name);
  assert.equal(Buffer.byteLength(path), bytes, path);
  return path;
}

test(`serve refuses a socket path over ${MAX_SOCKET_PATH_BYTES} bytes with exit 2, and creates nothing`, async () => {
  const { dir } = tempSocketPath();
  const path = join(dir, `${"a".repeat(MAX_SOCKET_PATH_BYTES)}.sock`);
  const { code, output } = await serve(["--socket", path]);
  assert.equal(code, 2, output);
  assert.match(output, new RegExp(`at most ${MAX_SOCKET_PATH_BYTES} bytes`));
  assert.equal(output.trim().split("\n").length, 1, output);
  assert.deepEqual(readdirSync(dir), [], "no truncated socket file");
  rmSync(dir, { recursive: true });
});

test("the limit counts UTF-8 bytes, and holds for the legacy socket too", async () => {
  const { dir, path } = tempSocketPath();
  // 60 two-byte characters: 60 characters, 120 bytes.
  const wide = join(dir, `${"é".repeat(60)}.sock`);
  assert.ok(wide.length <= MAX_SOCKET_PATH_BYTES && Buffer.byteLength(wide) > MAX_SOCKET_PATH_BYTES);
  assert.throws(
    () => resolveServerOptions({ socketPath: wide }),
    (error: Error) => {
      assert.ok(error instanceof InvalidOptionError);
      assert.match(error.message, /socketPath \(--socket\).* bytes long; .*at most \d+ bytes/);
      return true;
    },
  );
  const { code, output } = await serve(["--socket", path, "--legacy-socket", wide]);
  assert.equal(code, 2, output);
  assert.match(output, /legacy socketPath \(--legacy-socket\).*at most \d+ bytes/);
  assert.deepEqual(readdirSync(dir), []);
  rmSync(dir, { recursive: true });
});

test("a path of exactly the limit works, with a long name or a one-letter one", async () => {
  const { dir } = tempSocketPath();
  // A one-letter name leaves no room for the temporary name: the listener binds the path itself.
  for (const name of ["allocwatch-server.sock", "s"]) {
    const path = pathOfLength(join(dir, String(name.length)), MAX_SOCKET_PATH_BYTES, name);
    const server = await startServer({ socketPath: path, ...quiet });
    const client = await RawClient.handshake(path);
    assert.ok(client.isOpen);
    client.destroy();
    assert.deepEqual(readdirSync(join(path, "..")), [name], "only the socket, no temporary name");
    await server.close();
    assert.throws(() => lstatSync(path), { code: "ENOENT" });
  }
  rmSync(dir, { recursive: true });
});

test("a missing directory is named as missing, not as a permission problem", async () => {
  const { dir } = tempSocketPath();
  const missing = join(dir, "no", "such");
  const { code, output } = await serve(["--socket", join(missing, "s.sock")]);
  assert.equal(code, 1, output);
  assert.match(output, new RegExp(`directory ${missing} does not exist`));
  assert.doesNotMatch(output, /permission/i);
  rmSync(dir, { recursive: true });
});

test("a path under a file is named as such", async () => {
  const { dir } = tempSocketPath();
  writeFileSync(join(dir, "file"), "");
  const { code, output } = await serve(["--socket", join(dir, "file", "s.sock")]);
  assert.equal(code, 1, output);
  assert.match(output, /\/file is not a directory/);
  rmSync(dir, { recursive: true });
});

test("a directory this user may not write (mode 0500) is named as a permission problem", async (t) => {
  const root = process.getuid?.() === 0;
  const { dir } = tempSocketPath();
  // Root bypasses permission checks: the server then runs as nobody, in a directory nobody owns.
  chmodSync(dir, 0o755);
  const locked = join(dir, "locked");
  mkdirSync(locked, { mode: 0o500 });
  chmodSync(locked, 0o500);
  if (root) chownSync(locked, NOBODY, NOBODY);
  const { code, output } = await serve(["--socket", join(locked, "s.sock")], root ? NOBODY : undefined);
  rmSync(dir, { recursive: true });
  if (root && /EACCES.*main\.js|Cannot find module/.test(output)) {
    t.skip("nobody cannot read this checkout; the mapping is tested below with the errno");
    return;
  }
  assert.equal(code, 1, output);
  assert.match(
    output,
    new RegExp(`permission denied \\(this user needs write and search permission on ${locked}`),
  );
});

test("describeListenFailure names the cause from the errno and the directory", () => {
  const { dir } = tempSocketPath();
  writeFileSync(join(dir, "file"), "");
  const eacces = Object.assign(new Error("listen EACCES: permission denied"), { code: "EACCES" });
  const cases: [string, NodeJS.ErrnoException, RegExp][] = [
    [join(dir, "s.sock"), eacces, /permission denied \(this user needs write and search permission on/],
    [join(dir, "gone", "s.sock"), eacces, /directory .*\/gone does not exist/],
    [join(dir, "file", "s.sock"), { ...eacces, code: "ENOTDIR" }, /\/file is not a directory/],
    [
      join(dir, "s.sock"),
      Object.assign(new Error("listen EADDRINUSE: address already in use"), { code: "EADDRINUSE" }),
      /cannot listen on .*s\.sock: listen EADDRINUSE: address already in use/,
    ],
  ];
  for (const [path, error, message] of cases) assert.match(describeListenFailure(path, error), message);
  rmSync(dir, { recursive: true });
});
