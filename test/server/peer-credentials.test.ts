// The kernel vouches for who connects (docs/PROTOCOL.md §3.1): where the peer-credential addon loads, a
// HELLO must state the connecting process's own pid and start time; where it does not (or is turned off),
// the server still runs, says so once at start, and refuses only what it can no longer check (version 1).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import pino from "pino";
import { readProcessStartTicks } from "../../src/client/process-identity.js";
import { type ErrorFrame, type Frame, FrameType } from "../../src/protocol/frames.js";
import {
  kernelPeerCredentials,
  PEER_CREDENTIALS_ENV,
  type PeerCredentialSource,
} from "../../src/server/peer-credentials.js";
import { waitFor } from "../support/wait-for.js";
import { helloBytes, newSessionId, RawClient } from "./raw-client.js";
import { startTestServer, type TestServer } from "./test-server.js";

const kernel = kernelPeerCredentials();
const needsAddon = kernel.available ? {} : { skip: `addon not built: ${kernel.unavailableReason}` };

/** The server's first answer to `hello` on a fresh connection. */
async function answerTo(server: TestServer, hello: Uint8Array): Promise<Frame> {
  const client = await RawClient.connect(server.socketPath);
  client.send(hello);
  const answer = await client.waitFor((f) => f.type === FrameType.WELCOME || f.type === FrameType.ERROR);
  client.destroy();
  return answer;
}

function assertError(answer: Frame, code: string, message?: RegExp): void {
  assert.equal(answer.type, FrameType.ERROR, JSON.stringify(answer));
  assert.equal((answer as ErrorFrame).code, code);
  if (message) assert.match((answer as ErrorFrame).message, message);
}

async function withServer(source: PeerCredentialSource, body: (server: TestServer) => Promise<void>) {
  const server = await startTestServer({ peerCredentials: source });
  try {
    await body(server);
  } finally {
    await server.stop();
  }
}

test("the addon reads this connection's pid and uid from the kernel", needsAddon, async () => {
  await withServer(kernel, async (server) => {
    const sessionId = newSessionId();
    const client = await RawClient.handshake(server.socketPath, { sessionId, startTicks: 0 });
    // HELLO said start 0 (unknown): the server took the real one from /proc for its liveness checks.
    const identity = server.sessions.get(sessionId)!.identity;
    assert.equal(identity.pid, process.pid);
    assert.equal(identity.processStartTicks, readProcessStartTicks(process.pid));
    client.destroy();
  });
});

test("a HELLO claiming another process's pid is refused with SERVER_PEER_MISMATCH", needsAddon, async () => {
  await withServer(kernel, async (server) => {
    const sessionId = newSessionId();
    const answer = await answerTo(server, helloBytes({ sessionId, pid: process.ppid }));
    assertError(
      answer,
      "SERVER_PEER_MISMATCH",
      new RegExp(`says pid ${process.ppid}.*is pid ${process.pid}`),
    );
    assert.equal(server.sessions.get(sessionId), undefined, "no session was opened");
  });
});

test(
  "a HELLO with this pid but another start time is refused with SERVER_PEER_MISMATCH",
  needsAddon,
  async () => {
    await withServer(kernel, async (server) => {
      const realStart = readProcessStartTicks(process.pid);
      const answer = await answerTo(server, helloBytes({ startTicks: realStart + 1 }));
      assertError(answer, "SERVER_PEER_MISMATCH", /process start/);
    });
  },
);

test("a client in another process is welcomed under its own, kernel-checked pid", needsAddon, async () => {
  await withServer(kernel, async (server) => {
    // A client that stays connected until killed.
    const clientModule = new URL("../../src/client/allocation-client.js", import.meta.url).href;
    const program =
      `const { AllocationClient } = await import(${JSON.stringify(clientModule)});` +
      `new AllocationClient({ socketPath: ${JSON.stringify(server.socketPath)}, devices: [] });` +
      "setInterval(() => {}, 1000);";
    const child = spawn(process.execPath, ["--input-type=module", "-e", program], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    try {
      await waitFor(() => [...server.sessions.values()].some((s) => s.pid === child.pid), {
        what: `a session of the child process (pid ${child.pid})`,
      });
    } finally {
      child.kill("SIGKILL");
    }
  });
});

test(
  "version 1 with the kernel's word: welcomed in version 1, joinable by the same process",
  needsAddon,
  async () => {
    await withServer(kernel, async (server) => {
      const sessionId = newSessionId();
      const first = await RawClient.connect(server.socketPath);
      first.send(helloBytes({ version: 1, sessionId }));
      const welcome = await first.waitFor((f) => f.type === FrameType.WELCOME);
      assert.deepEqual(welcome, { type: FrameType.WELCOME, version: 1, maxFrameBytes: 1 << 20 });
      const second = await RawClient.handshake(server.socketPath, { version: 1, sessionId });
      assert.equal(server.sessions.get(sessionId)!.connectionCount, 2);
      // A version 2 session is never joined without its secret, version 1 or not.
      const other = newSessionId();
      const owner = await RawClient.handshake(server.socketPath, { sessionId: other });
      assertError(
        await answerTo(server, helloBytes({ version: 1, sessionId: other })),
        "SERVER_RESUME_REFUSED",
      );
      for (const c of [first, second, owner]) c.destroy();
    });
  },
);

test(`addon disabled (${PEER_CREDENTIALS_ENV}=off): the server runs, warns once at start, keeps the HELLO checks`, async () => {
  const lines: { level: number; msg: string; reason?: string }[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const off = kernelPeerCredentials({ [PEER_CREDENTIALS_ENV]: "off" });
  assert.equal(off.available, false);
  const server = await startTestServer({ peerCredentials: off, logger });
  try {
    const warnings = lines.filter((l) => l.level === 40 && /^peer credentials unavailable/.test(l.msg));
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    assert.match(warnings[0]!.msg, /peer credentials unavailable/);
    assert.match(warnings[0]!.reason ?? "", new RegExp(`${PEER_CREDENTIALS_ENV}=off`));
    // Version 2 works; claims are taken as they are (as before), joining still needs the secret.
    const sessionId = newSessionId();
    const client = await RawClient.handshake(server.socketPath, { sessionId, pid: process.ppid });
    assert.equal(server.sessions.get(sessionId)!.pid, process.ppid);
    assertError(
      await answerTo(server, helloBytes({ sessionId, pid: process.ppid, resumeSecret: newSessionId() })),
      "SERVER_RESUME_REFUSED",
    );
    // Version 1 carries nothing the server could check any more.
    assertError(await answerTo(server, helloBytes({ version: 1 })), "SERVER_PEER_UNVERIFIED", /version 2/);
    client.destroy();
    assert.equal(
      lines.filter((l) => /^peer credentials unavailable/.test(l.msg)).length,
      1,
      "said once, at start",
    );
  } finally {
    await server.stop();
  }
});

test("a connection whose credentials cannot be read is refused with SERVER_PEER_UNVERIFIED", async () => {
  const unreadable: PeerCredentialSource = {
    available: true,
    unavailableReason: undefined,
    of: () => undefined,
  };
  await withServer(unreadable, async (server) => {
    const client = await RawClient.connect(server.socketPath);
    // Refused before HELLO: the ERROR comes without our sending a byte.
    const answer = await client.waitFor((f) => f.type === FrameType.ERROR);
    assertError(answer, "SERVER_PEER_UNVERIFIED", /kernel did not say/);
    await client.closed;
  });
});
