// The legacy adapter's connections and traffic are in the summary (`server.legacy`) and in /metrics, so
// that a refused tt-metal client, a FREE of an address never allocated or bytes off the frame grid show
// where a user looks, not only in the server's log.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiRoute } from "../../src/server/api-types.js";
import { parseExposition } from "../metrics/exposition.js";
import { startTestServer } from "../server/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { startLegacyServer } from "./legacy-server.js";
import { concat, request, TYPE } from "./wire.js";

const pid = process.pid;
const frame = (type: number, size: number, bufferId: number) =>
  request(144, { type, deviceId: 0, size, bufferType: 0, pid, bufferId });

test("summary.server.legacy and /metrics count connections, refusals, quarantines and frame outcomes", async (t) => {
  const server = await startLegacyServer({ frame: 144, maxConnections: 1 });
  t.after(() => server.stop());
  const client = await server.connectLegacy();
  await client.write(
    concat([
      frame(TYPE.ALLOC, 4096, 0x1000),
      frame(TYPE.ALLOC, 4096, 0x1000), // the same key again: shared, no bytes added
      frame(TYPE.FREE, 0, 0x1000), // drops a reference
      frame(TYPE.FREE, 0, 0x1000), // releases
      frame(TYPE.FREE, 0, 0x9000), // never allocated
      new Uint8Array(300).fill(0xab), // off the grid
      frame(TYPE.ALLOC, 512, 0x2000),
    ]),
  );
  await waitFor(() => server.legacy!.stats.allocations === 2, {
    what: "the frames after the garbage applied",
  });
  const refused = await server.connectLegacy(); // past --legacy-max-connections 1
  await refused.closed;

  const legacy = (await server.summary()).server.legacy;
  assert.deepEqual(legacy, {
    socketPath: server.legacyPath,
    connections: 1,
    refusedConnections: 1,
    budgetClosures: 0,
    quarantines: 1,
    allocations: 2,
    sharedAllocations: 1,
    frees: 1,
    sharedFrees: 1,
    unknownFrees: 1,
    heldFrees: 0,
    reorderedFrees: 0,
  });
  const text = await (await fetch(`${server.httpUrl}${ApiRoute.METRICS}`)).text();
  const value = (name: string, labels: Record<string, string> = {}) =>
    parseExposition(text).find(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    )?.value;
  assert.equal(value("allocwatch_legacy_connections"), 1);
  assert.equal(value("allocwatch_legacy_connections_closed_total", { reason: "refused" }), 1);
  assert.equal(value("allocwatch_legacy_quarantines_total"), 1);
  assert.equal(value("allocwatch_legacy_frames_total", { outcome: "unknown_free" }), 1);
  assert.equal(value("allocwatch_legacy_frames_total", { outcome: "shared_allocation" }), 1);
  client.close();
});

test("without the legacy adapter the summary has no legacy block and /metrics no legacy samples", async (t) => {
  const server = await startTestServer();
  t.after(() => server.stop());
  assert.equal(server.queries.summary().server.legacy, undefined);
  const text = await (await fetch(`${server.httpUrl}${ApiRoute.METRICS}`)).text();
  assert.doesNotMatch(text, /^allocwatch_legacy_\w+(\{| )/m);
});
