// Issue 9, finding 3: /api/v1/summary publishes every session id and pid. A peer that HELLOs with them
// (start ticks 0) and sends an empty snapshot with watermark 2^53-1 must not take the session over: the
// HELLO is refused, the victim's allocations stay, and its later events still apply. Run with the kernel's
// peer credentials (when the addon is built) and without them: the resume secret alone must suffice.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { encodeSnapshotBegin, encodeSnapshotEnd } from "../../src/protocol/encode-frame.js";
import { type ErrorFrame, type Frame, FrameType } from "../../src/protocol/frames.js";
import type { ServerOptions } from "../../src/server/options.js";
import { kernelPeerCredentials } from "../../src/server/peer-credentials.js";
import { waitFor } from "../support/wait-for.js";
import { helloBytes, newSessionId, RawClient, TEST_DEVICE } from "./raw-client.js";
import { startTestServer, type TestServer, WITHOUT_PEER_CREDENTIALS } from "./test-server.js";

const servers: TestServer[] = [];
const clients: AllocationClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close({ timeoutMs: 1000 })));
  await Promise.all(servers.map((s) => s.stop()));
});

interface SummaryProcess {
  sessionId: string;
  pid: number;
  devices: { allocations: number }[];
}

async function processes(server: TestServer): Promise<SummaryProcess[]> {
  return (await server.get("/api/v1/summary")).body.processes;
}

/** A server and a victim client (this process) holding `count` allocations of device 0. */
async function victimWith(
  count: number,
  options: ServerOptions,
): Promise<{ server: TestServer; victim: AllocationClient }> {
  const server = await startTestServer(options);
  servers.push(server);
  const victim = new AllocationClient({ socketPath: server.socketPath, devices: [TEST_DEVICE] });
  clients.push(victim);
  for (let seq = 1; seq <= count; seq++) victim.record(1, 0, 0, seq, seq, seq * 4096, 4096, seq);
  await victim.flush();
  await waitFor(async () => (await processes(server))[0]?.devices[0]?.allocations === count, {
    what: `the victim's ${count} allocations`,
  });
  return { server, victim };
}

/** What the server answers a HELLO (`hello`) followed by the wiping snapshot: WELCOME or ERROR. */
async function attack(server: TestServer, hello: Uint8Array): Promise<Frame> {
  const attacker = await RawClient.connect(server.socketPath);
  attacker.send(hello);
  attacker.send(encodeSnapshotBegin({ deviceId: 0, watermarkSeq: 2 ** 53 - 1, totalAllocations: 0 }));
  attacker.send(encodeSnapshotEnd({ deviceId: 0, watermarkSeq: 2 ** 53 - 1 }));
  const answer = await attacker.waitFor((f) => f.type === FrameType.WELCOME || f.type === FrameType.ERROR);
  if (answer.type === FrameType.ERROR) await attacker.closed;
  attacker.destroy();
  return answer;
}

/** The victim's view is intact and it still reports: one more ALLOC (seq count+1) applies. */
async function assertVictimIntact(server: TestServer, victim: AllocationClient, count: number) {
  const [victimProcess] = await processes(server);
  assert.equal(victimProcess?.devices[0]?.allocations, count, "the victim's allocations are all there");
  const seq = count + 1;
  victim.record(1, 0, 0, seq, seq, seq * 4096, 4096, seq);
  await victim.flush();
  await waitFor(async () => (await processes(server))[0]?.devices[0]?.allocations === seq, {
    what: "the victim's next allocation to apply (not discarded as older than the attacker's watermark)",
  });
}

function assertRefused(answer: Frame, codes: string[]): void {
  assert.equal(answer.type, FrameType.ERROR, `the hijacking HELLO was welcomed: ${JSON.stringify(answer)}`);
  assert.ok(codes.includes((answer as ErrorFrame).code), `refused with ${(answer as ErrorFrame).code}`);
}

const kernel = kernelPeerCredentials();
const variants: [string, ServerOptions][] = [
  ["without peer credentials (resume secret alone)", { peerCredentials: WITHOUT_PEER_CREDENTIALS }],
];
if (kernel.available) variants.push(["with the kernel's peer credentials", { peerCredentials: kernel }]);

for (const [name, options] of variants) {
  test(`${name}: a HELLO with a published session id and pid (as in version 1) does not take the session over`, async () => {
    const { server, victim } = await victimWith(3, options);
    const [published] = await processes(server);
    const answer = await attack(
      server,
      helloBytes({ version: 1, sessionId: published!.sessionId, pid: published!.pid, startTicks: 0 }),
    );
    // Without the kernel, a version 1 HELLO is refused outright; with it, it lacks the session's secret.
    assertRefused(answer, ["SERVER_PEER_UNVERIFIED", "SERVER_RESUME_REFUSED"]);
    await assertVictimIntact(server, victim, 3);
  });

  test(`${name}: a version 2 HELLO with a guessed resume secret is refused too`, async () => {
    const { server, victim } = await victimWith(2, options);
    const [published] = await processes(server);
    const answer = await attack(
      server,
      helloBytes({
        sessionId: published!.sessionId,
        resumeSecret: newSessionId(),
        pid: published!.pid,
        startTicks: 0,
      }),
    );
    assertRefused(answer, ["SERVER_RESUME_REFUSED"]);
    await assertVictimIntact(server, victim, 2);
  });
}

test("the resume secret is never served over HTTP", async () => {
  const { server, victim } = await victimWith(1, { peerCredentials: WITHOUT_PEER_CREDENTIALS });
  for (const route of ["/api/v1/summary", `/api/v1/devices/0/allocations?session=${victim.sessionId}`]) {
    const text = await (await fetch(`${server.httpUrl}${route}`)).text();
    assert.ok(text.includes(victim.sessionId) || route.includes("allocations"), route);
    assert.ok(!text.includes(victim.resumeSecret), `${route} does not show the secret`);
  }
});
