import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveSocketPath } from "../../src/client/socket-path.js";
import { defaultSocketPath } from "../../src/server/listener.js";

test("socket path: explicit, then $ALLOCWATCH_SOCKET, then $XDG_RUNTIME_DIR, then /tmp per uid", () => {
  const env = { ALLOCWATCH_SOCKET: "/run/aw.sock", XDG_RUNTIME_DIR: "/run/user/1000" };
  assert.equal(resolveSocketPath("/x.sock", env, 1000), "/x.sock");
  assert.equal(resolveSocketPath(undefined, env, 1000), "/run/aw.sock");
  assert.equal(
    resolveSocketPath(undefined, { XDG_RUNTIME_DIR: "/run/user/1000" }, 1000),
    "/run/user/1000/allocwatch.sock",
  );
  assert.equal(resolveSocketPath(undefined, {}, 1000), "/tmp/allocwatch-1000.sock");
  // Empty values count as unset (`ALLOCWATCH_SOCKET= cmd`).
  assert.equal(
    resolveSocketPath("", { ALLOCWATCH_SOCKET: "", XDG_RUNTIME_DIR: "" }, 7),
    "/tmp/allocwatch-7.sock",
  );
});

test("socket path: the server's default is the client's (the layer arrows forbid sharing the code)", () => {
  const envs: Record<string, string | undefined>[] = [
    {},
    { ALLOCWATCH_SOCKET: "/run/aw.sock" },
    { ALLOCWATCH_SOCKET: "/run/aw.sock", XDG_RUNTIME_DIR: "/run/user/5" },
    { XDG_RUNTIME_DIR: "/run/user/5" },
    { ALLOCWATCH_SOCKET: "", XDG_RUNTIME_DIR: "" },
  ];
  for (const env of envs) {
    for (const uid of [0, 1000])
      assert.equal(defaultSocketPath(env, uid), resolveSocketPath(undefined, env, uid));
  }
});
