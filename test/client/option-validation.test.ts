import assert from "node:assert/strict";
import { test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { ClientErrorCode, InvalidClientOptionError } from "../../src/client/errors.js";
import type { AllocationClientOptions } from "../../src/client/types.js";

const DEVICE = { deviceId: 0, name: "d0", architecture: "TINY", capacityBytes: [0, 0, 0, 0, 0, 0, 0] };
const BASE: AllocationClientOptions = { socketPath: "/nonexistent/allocwatch.sock", devices: [DEVICE] };

const cases: [string, Partial<AllocationClientOptions> | Record<string, unknown>, string, RegExp][] = [
  ["devices missing", { devices: undefined }, "devices", /pass an array/],
  [
    "device id out of range",
    { devices: [{ ...DEVICE, deviceId: 0xffff }] },
    "devices[0].deviceId",
    /\[0, 65534\]/,
  ],
  ["device listed twice", { devices: [DEVICE, DEVICE] }, "devices[1].deviceId", /listed twice/],
  [
    "capacities too short",
    { devices: [{ ...DEVICE, capacityBytes: [1] }] },
    "devices[0].capacityBytes",
    /7 byte counts/,
  ],
  [
    "negative capacity",
    { devices: [{ ...DEVICE, capacityBytes: [0, -1, 0, 0, 0, 0, 0] }] },
    "devices[0].capacityBytes[1]",
    /non-negative/,
  ],
  ["session id not hex", { sessionId: "XYZ" }, "sessionId", /32 lowercase hex/],
  [
    "resume secret not hex",
    { sessionId: "ab".repeat(16), resumeSecret: "secret" },
    "resumeSecret",
    /32 lowercase hex characters \(16 bytes\), got 6 characters/,
  ],
  [
    "resume secret without its session id",
    { resumeSecret: "ab".repeat(16) },
    "resumeSecret",
    /pass the sessionId it was chosen with too/,
  ],
  ["queue bound not an integer", { maxQueueBytes: 1.5 }, "maxQueueBytes", /integer in \[1024/],
  ["queue bound too small", { maxQueueBytes: 10 }, "maxQueueBytes", /got 10/],
  ["negative flush interval", { flushIntervalMs: -1 }, "flushIntervalMs", /integer in \[0, 60000\]/],
  ["batch too large for a frame", { batchMaxEvents: 1_000_000 }, "batchMaxEvents", /integer in \[1, 21845\]/],
  [
    "backoff max below initial",
    { reconnectInitialMs: 100, reconnectMaxMs: 10 },
    "reconnectMaxMs",
    />= reconnectInitialMs/,
  ],
  ["snapshot not a function", { snapshot: 3 }, "snapshot", /must be a function/],
  [
    "initial snapshot without source",
    { initialSnapshot: true },
    "initialSnapshot",
    /needs a snapshot source/,
  ],
  ["empty socket path", { socketPath: "" }, "socketPath", /non-empty string/],
  ["onError not a function", { onError: "log" }, "onError", /must be a function/],
  ["process name too long for HELLO", { processName: "x".repeat(300) }, "devices/processName", /processName/],
];

for (const [name, override, option, message] of cases) {
  test(`option validation: ${name}`, () => {
    assert.throws(
      () => new AllocationClient({ ...BASE, ...override } as AllocationClientOptions),
      (error: unknown) => {
        assert.ok(error instanceof InvalidClientOptionError, `got ${String(error)}`);
        assert.equal(error.code, ClientErrorCode.INVALID_OPTION);
        assert.equal(error.option, option);
        assert.match(error.message, message);
        assert.match(
          error.message,
          new RegExp(`^allocwatch client option ${option.replace(/[[\]/]/g, "\\$&")}:`),
        );
        return true;
      },
    );
  });
}

test("option validation: valid options construct a client that can be closed", async () => {
  const client = new AllocationClient({ ...BASE, sessionId: "00112233445566778899aabbccddeeff" });
  assert.equal(client.sessionId, "00112233445566778899aabbccddeeff");
  await client.close();
});
