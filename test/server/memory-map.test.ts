// The memory map over the real path: runtime buffers (src/device) reported by the TS client to a real
// server, whose map must equal the allocator's own blocks (extents, free list, largest free block); the
// aggregate at small `buckets`; exact:false for devices described without a known layout; every
// malformed request refused with a clear 4xx.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { describeDevice, deviceOptions } from "../../src/client/device-description.js";
import { TrackingProcessor } from "../../src/client/tracking-processor.js";
import type { BlockView } from "../../src/device/allocator/types.js";
import { Device } from "../../src/device/device.js";
import { DeviceBuffer } from "../../src/device/device-buffer.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";
import type { MemoryMapResponse } from "../../src/server/api-types.js";
import { waitFor } from "../support/wait-for.js";
import { newSessionId, RawClient, TEST_DEVICE } from "./raw-client.js";
import { startTestServer, type TestServer } from "./test-server.js";

let server: TestServer;
let client: AllocationClient;
const device = Device.create(TINY, { id: 3 });
const tracker = new GraphTracker();

/** Page sizes that are aligned and spread evenly over the banks: the wire's sizes give exact extents. */
function buffer(memoryType: MemoryType, pages: number, pageSizeBytes: number): DeviceBuffer {
  return DeviceBuffer.create(
    device,
    { memoryType, sizeBytes: pages * pageSizeBytes, pageSizeBytes },
    { tracker },
  );
}

before(async () => {
  server = await startTestServer();
  client = new AllocationClient({ socketPath: server.socketPath, ...deviceOptions([device]) });
  tracker.addProcessor(new TrackingProcessor(client));
  await waitFor(() => client.state === "ready", { what: "the client to be welcomed" });
  // DRAM: 2 banks, 32-byte alignment, 64-byte minimum. L1 (4 banks) shared with CB.
  const dram = [2, 4, 6, 2, 8, 2].map((pages) => buffer(MemoryType.DRAM, pages, 64));
  const l1 = [4, 8, 4].map((pages) => buffer(MemoryType.L1, pages, 32));
  const cb = [4, 12].map((pages) => buffer(MemoryType.CB, pages, 16));
  // Holes: the free list then has several blocks of different sizes.
  dram[1].deallocate();
  dram[3].deallocate();
  l1[1].deallocate();
  cb[0].deallocate();
  await client.flush();
  const live = dram.length + l1.length + cb.length - 4;
  await waitFor(() => server.queries.summary().devices.find((d) => d.id === 3)?.allocations === live, {
    what: "the live buffers on the server",
  });
});
after(async () => {
  await client.close();
  await server.stop();
});

/** The allocator's view in the map's shape. */
function allocatorView(memoryType: MemoryType): { extents: object[]; free: object[] } {
  const blocks: BlockView[] = device.allocator.blocks(memoryType);
  return {
    extents: blocks
      .filter((b) => !b.free)
      .map((b) => ({
        address: b.address,
        bankBytes: b.sizePerBankBytes,
        allocationId: b.allocationId,
        sizeBytes: b.sizeBytes,
      })),
    free: blocks.filter((b) => b.free).map((b) => ({ address: b.address, sizeBytes: b.sizePerBankBytes })),
  };
}

async function map(query: string): Promise<MemoryMapResponse> {
  const { status, body } = await server.get(`/api/v1/devices/3/memory-map?${query}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

for (const [name, type] of [
  ["DRAM", MemoryType.DRAM],
  ["L1", MemoryType.L1],
  ["CB", MemoryType.CB],
] as const) {
  test(`${name}: the map's extents and free list are the allocator's blocks`, async () => {
    const body = await map(`type=${name}`);
    const expected = allocatorView(type);
    const region = device.layout.regions[device.layout.regionOfType[type]];
    const stats = device.allocator.statistics(type);
    assert.equal(body.exact, true);
    assert.equal(body.memoryType, name);
    assert.equal(body.regionStart, region.baseAddressBytes);
    assert.equal(body.regionEnd, region.baseAddressBytes + region.sizePerBankBytes);
    assert.equal(body.bankCount, region.bankCount);
    assert.deepEqual(
      body.extents.map((e) => ({
        address: e.address,
        bankBytes: e.bankBytes,
        allocationId: e.allocationId,
        sizeBytes: e.sizeBytes,
      })),
      expected.extents,
    );
    assert.deepEqual(body.free, expected.free);
    assert.equal(body.largestFreeBlock, stats.largestFreeBlockBytes);
    assert.equal(body.freeBytes, stats.freeBytes / stats.bankCount);
    assert.equal(body.fragmentation, 1 - body.largestFreeBlock / body.freeBytes);
    assert.ok(body.fragmentation > 0, "the holes fragment the free space");
    assert.equal(body.allocations, expected.extents.length);
    assert.deepEqual(body.buckets, []);
    for (const extent of body.extents) {
      assert.equal(extent.pid, process.pid);
      assert.equal(extent.sessionId, client.sessionId);
      assert.ok(extent.processName.length > 0);
      assert.ok(extent.ageMs >= 0);
    }
  });
}

test("the L1 map names each extent's type: L1 buffers top-down, CBs bottom-up in one region", async () => {
  const body = await map("type=L1");
  const types = body.extents.map((e) => e.memoryType);
  assert.deepEqual(types, ["CB", "L1", "L1"]);
});

test("beyond `buckets` extents the map is aggregated; the free figures stay exact", async () => {
  const exact = await map("type=DRAM");
  const body = await map("type=DRAM&buckets=3");
  assert.deepEqual(body.extents, []);
  assert.deepEqual(body.free, []);
  assert.equal(body.buckets.length, 3);
  assert.equal(body.largestFreeBlock, exact.largestFreeBlock);
  assert.equal(body.freeBytes, exact.freeBytes);
  assert.equal(body.fragmentation, exact.fragmentation);
  // The slices tile the region; their occupancy sums to what is not free.
  let at = body.regionStart;
  let occupied = 0;
  for (const bucket of body.buckets) {
    assert.equal(bucket.address, at);
    at += bucket.sizeBytes;
    occupied += bucket.occupiedBytes;
    assert.equal(bucket.dominantPid, bucket.occupiedBytes > 0 ? process.pid : 0);
  }
  assert.equal(at, body.regionEnd);
  assert.equal(occupied, body.regionEnd - body.regionStart - body.freeBytes);
  // One slice per byte range: the first slice holds the lowest extents (DRAM allocates bottom-up).
  assert.ok(body.buckets[0].occupiedBytes > 0);
});

test("a device described under a name that is no preset: exact:false with the reason, totals only", async (t) => {
  const raw = await RawClient.handshake(server.socketPath, {
    sessionId: newSessionId(),
    name: "map-test",
    devices: [TEST_DEVICE],
  });
  t.after(() => raw.destroy());
  const { status, body } = await server.get("/api/v1/devices/0/memory-map?type=L1");
  assert.equal(status, 200);
  assert.equal(body.exact, false);
  assert.match(body.reason, /"tiny-0", which names no known device preset/);
  assert.deepEqual([body.extents, body.free, body.buckets], [[], [], []]);
  assert.equal(body.regionEnd, 0);
  assert.equal(body.bankCount, 0);
});

test("a device named as a preset but with other capacities: exact:false, never a guess", async (t) => {
  const described = { ...describeDevice(Device.create(TINY, { id: 5 })), name: "tiny" };
  const raw = await RawClient.handshake(server.socketPath, {
    sessionId: newSessionId(),
    name: "map-test",
    devices: [{ ...described, capacityBytes: [1, ...described.capacityBytes.slice(1)] }],
  });
  t.after(() => raw.destroy());
  const { status, body } = await server.get("/api/v1/devices/5/memory-map?type=DRAM");
  assert.equal(status, 200);
  assert.equal(body.exact, false);
  assert.match(body.reason, /described as tiny with 1 bytes of DRAM, but that preset's layout has \d+/);
});

test("malformed requests: 400 with a message naming the parameter; unknown device 404", async () => {
  const cases: [string, number, RegExp][] = [
    ["/api/v1/devices/3/memory-map", 400, /type must be one of DRAM, L1, L1_SMALL, TRACE, CB, got none/],
    ["/api/v1/devices/3/memory-map?type=KERNEL", 400, /type must be one of .* got "KERNEL"/],
    ["/api/v1/devices/3/memory-map?type=SYSTEM_MEMORY", 400, /type must be one of/],
    ["/api/v1/devices/3/memory-map?type=DRAM&buckets=0", 400, /buckets must be an integer in 1\.\.65536/],
    ["/api/v1/devices/3/memory-map?type=DRAM&buckets=65537", 400, /buckets must be an integer/],
    ["/api/v1/devices/3/memory-map?type=DRAM&buckets=2.5", 400, /buckets must be an integer/],
    ["/api/v1/devices/3/memory-map?type=DRAM&limit=3", 400, /unknown query parameter "limit"/],
    ["/api/v1/devices/x/memory-map?type=DRAM", 400, /device id must be an integer/],
    ["/api/v1/devices/999/memory-map?type=DRAM", 404, /no device 999/],
  ];
  for (const [path, status, message] of cases) {
    const response = await server.get(path);
    assert.equal(response.status, status, path);
    assert.equal(response.body.error.code, status === 404 ? "HTTP_NOT_FOUND" : "HTTP_BAD_REQUEST", path);
    assert.match(response.body.error.message, message, path);
  }
  // The largest allowed value is accepted.
  assert.equal((await map("type=DRAM&buckets=65536")).exact, true);
});
