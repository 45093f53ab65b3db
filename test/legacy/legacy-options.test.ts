// --legacy-* flags: parsed and validated once, at the edge, with messages that say the fix.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  parseLegacyDevice,
  parseLegacyFrame,
  parseReorderWindowMs,
  resolveLegacyOptions,
} from "../../src/server/legacy/options.js";
import {
  legacyServeOptions,
  parseLegacyDeviceFlag,
  parseLegacyMaxConnectionsFlag,
  parseLegacyMaxReplyBytesFlag,
  parseLegacyReplyPauseBytesFlag,
} from "../../src/server/legacy/serve-flags.js";

test("--legacy-device ID=PRESET and FIRST-LAST=PRESET", () => {
  assert.deepEqual(
    parseLegacyDevice("3=tiny").map((d) => [d.deviceId, d.preset.name]),
    [[3, "tiny"]],
  );
  const range = parseLegacyDeviceFlag("0-7=wormhole_b0_n150", parseLegacyDevice("9=blackhole_p150"));
  assert.deepEqual(
    range.map((d) => d.deviceId),
    [9, 0, 1, 2, 3, 4, 5, 6, 7],
  );
  assert.throws(() => parseLegacyDevice("0=nosuch"), /unknown preset "nosuch" \(presets: .*tiny/);
  assert.throws(() => parseLegacyDevice("wormhole"), /expected ID=PRESET/);
  assert.throws(() => parseLegacyDevice("5-2=tiny"), /FIRST <= LAST/);
  assert.throws(
    () =>
      resolveLegacyOptions({ devices: [...parseLegacyDevice("1=tiny"), ...parseLegacyDevice("0-1=tiny")] }),
    /device 1 is configured twice/,
  );
});

test("--legacy-frame and --legacy-reorder-window", () => {
  assert.equal(parseLegacyFrame("72"), 72);
  assert.equal(parseLegacyFrame("112"), 112);
  assert.equal(parseLegacyFrame("144"), 144);
  assert.equal(parseLegacyFrame("auto"), "auto");
  assert.throws(() => parseLegacyFrame("128"), /use 72, 112, 144 or auto/);
  assert.equal(parseReorderWindowMs("20"), 20);
  assert.throws(() => parseReorderWindowMs("-1"), /0\.\.60000/);
  assert.throws(() => parseReorderWindowMs("fast"), /whole number of milliseconds/);
});

test("--legacy-socket without a path takes the original path; other flags need it", () => {
  assert.equal(legacyServeOptions({}), undefined);
  assert.deepEqual(legacyServeOptions({ legacySocket: true }), {
    socketPath: "/tmp/tt_allocation_server.sock",
  });
  assert.deepEqual(
    legacyServeOptions({ legacySocket: "/x.sock", legacyFrame: 112, legacyReorderWindow: 5 }),
    {
      socketPath: "/x.sock",
      frame: 112,
      reorderWindowMs: 5,
    },
  );
  assert.throws(() => legacyServeOptions({ legacyFrame: 144 }), /--legacy-frame need --legacy-socket/);
});

test("defaults: auto layout, reorder window off, 256 connections, replies paused at 64 KiB, closed at 1 MiB", () => {
  const o = resolveLegacyOptions({});
  assert.equal(o.frame, "auto");
  assert.equal(o.reorderWindowMs, 0);
  assert.equal(o.maxConnections, 256);
  assert.equal(o.replyPauseBytes, 64 * 1024);
  assert.equal(o.maxReplyBytes, 1024 * 1024);
  assert.equal(o.socketPath, "/tmp/tt_allocation_server.sock");
  assert.equal("maxBadFrames" in o, false, "bad frames no longer close a connection: no bound to set");
});

test("--legacy-max-connections, --legacy-reply-pause-bytes, --legacy-max-reply-bytes: parsed, checked, passed on", () => {
  assert.equal(parseLegacyMaxConnectionsFlag("512"), 512);
  assert.throws(
    () => parseLegacyMaxConnectionsFlag("0"),
    /--legacy-max-connections "0": give a whole number >= 1/,
  );
  assert.throws(() => parseLegacyMaxConnectionsFlag("many"), /--legacy-max-connections "many"/);
  assert.equal(parseLegacyReplyPauseBytesFlag("32768"), 32768);
  assert.throws(() => parseLegacyReplyPauseBytesFlag("1.5"), /--legacy-reply-pause-bytes "1\.5"/);
  assert.equal(parseLegacyMaxReplyBytesFlag("2097152"), 2097152);
  assert.throws(() => parseLegacyMaxReplyBytesFlag(""), /--legacy-max-reply-bytes ""/);
  assert.deepEqual(
    legacyServeOptions({
      legacySocket: "/x.sock",
      legacyMaxConnections: 8,
      legacyReplyPauseBytes: 1000,
      legacyMaxReplyBytes: 5000,
    }),
    { socketPath: "/x.sock", maxConnections: 8, replyPauseBytes: 1000, maxReplyBytes: 5000 },
  );
  assert.throws(
    () => legacyServeOptions({ legacyMaxConnections: 8 }),
    /--legacy-max-connections need --legacy-socket/,
  );
  assert.throws(
    () => resolveLegacyOptions({ replyPauseBytes: 1 << 20, maxReplyBytes: 1 << 20 }),
    /replyPauseBytes \(--legacy-reply-pause-bytes, 1048576\) must be below maxReplyBytes/,
  );
  assert.throws(
    () => resolveLegacyOptions({ maxConnections: 0 }),
    /maxConnections \(--legacy-max-connections\) must be an integer >= 1/,
  );
});
