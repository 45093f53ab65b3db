// Properties of the memory map over random live sets (several sessions on one device, overlapping
// extents, addresses off the alignment and outside the region): the union of the extents and the free
// extents tile the region without overlap, the sums match, and the aggregate agrees with the listing.
// Also: exact:false for devices without a description and for bytes counted by shared memory only.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { bankBytes, evenBankBytes, memoryLayout } from "../../src/device/layout.js";
import { BLACKHOLE_P150, TINY, WORMHOLE_B0_N150 } from "../../src/device/presets.js";
import { MEMORY_TYPE_NAMES } from "../../src/protocol/memory-type.js";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import type { MemoryMapResponse, SummaryResponse } from "../../src/server/api-types.js";
import { DeviceCatalog } from "../../src/server/device-catalog.js";
import { MemoryMapBuilder } from "../../src/server/memory-map/memory-map.js";
import { MemoryMapQuery } from "../../src/server/memory-map/memory-map-query.js";
import { Registry } from "../../src/server/registry.js";

const layout = memoryLayout(TINY);
const DRAM = 0;
const region = layout.regions[layout.regionOfType[DRAM]];

const allocationArb = fc.record({
  session: fc.integer({ min: 0, max: 2 }),
  // Mostly aligned addresses inside the region; some anywhere near it.
  address: fc.oneof(
    fc
      .integer({ min: 0, max: region.sizePerBankBytes / region.alignmentBytes })
      .map((u) => region.baseAddressBytes + u * region.alignmentBytes),
    fc.integer({ min: 0, max: region.baseAddressBytes + region.sizePerBankBytes + 256 }),
    // A few shared addresses: same-address chains in one session (ADDRESS_OVERLAP) and across sessions.
    fc.constantFrom(region.baseAddressBytes, region.baseAddressBytes + 1024),
  ),
  sizeBytes: fc.integer({ min: 0, max: 8192 }),
});

function build(
  allocations: { session: number; address: number; sizeBytes: number }[],
  buckets: number,
  frees: readonly number[] = [],
): MemoryMapResponse {
  const registry = new Registry(new AnomalyLog());
  const ledgers = [0, 1, 2].map((s) =>
    registry.ledger(registry.openAccount(String(s).padStart(32, "0"), 100 + s), 0),
  );
  allocations.forEach((a, i) => {
    registry.allocate(ledgers[a.session], DRAM, i + 1, a.address, a.sizeBytes, 0);
  });
  // Frees unlink slots from the heads and the middles of same-address chains.
  for (const i of frees) registry.free(ledgers[allocations[i].session], DRAM, i + 1, -1);
  const builder = new MemoryMapBuilder(registry, () => "p");
  return builder.build(
    { deviceId: 0, memoryType: "DRAM", buckets, nowMs: 0 },
    layout,
    registry.findDevice(0),
  );
}

test("the extents' union and the free extents tile the region; the sums match; the aggregate agrees", () => {
  fc.assert(
    fc.property(
      fc.array(allocationArb, { maxLength: 60 }),
      fc.integer({ min: 1, max: 40 }),
      fc.array(fc.nat({ max: 59 }), { maxLength: 30 }),
      (all, buckets, picks) => {
        const frees = [...new Set(picks.filter((i) => i < all.length))];
        const liveIds = all.map((_, i) => i + 1).filter((id) => !frees.includes(id - 1));
        const allocations = all.filter((_, i) => !frees.includes(i));
        const listed = build(all, 65536, frees);
        assert.deepEqual(
          listed.extents.map((e) => e.allocationId).sort((a, b) => a - b),
          liveIds,
          "every live allocation listed, chains included",
        );
        const start = listed.regionStart;
        const end = listed.regionEnd;
        // Occupancy per byte from the listed extents, clipped to the region.
        const covered = new Uint8Array(end - start);
        for (const e of listed.extents) {
          for (let a = Math.max(e.address, start); a < Math.min(e.address + e.bankBytes, end); a++)
            covered[a - start] = 1;
        }
        let at = start;
        let freeBytes = 0;
        let largest = 0;
        for (const f of listed.free) {
          assert.ok(f.address >= at && f.sizeBytes > 0, "free extents ascend, never touch, never empty");
          for (let a = at; a < f.address; a++)
            assert.equal(covered[a - start], 1, "between free extents: occupied");
          for (let a = f.address; a < f.address + f.sizeBytes; a++)
            assert.equal(covered[a - start], 0, "free: not occupied");
          at = f.address + f.sizeBytes;
          assert.ok(at <= end);
          freeBytes += f.sizeBytes;
          largest = Math.max(largest, f.sizeBytes);
        }
        for (let a = at; a < end; a++)
          assert.equal(covered[a - start], 1, "after the last free extent: occupied");
        assert.equal(listed.freeBytes, freeBytes);
        assert.equal(listed.largestFreeBlock, largest);
        assert.equal(listed.fragmentation, freeBytes > 0 ? 1 - largest / freeBytes : 0);
        assert.equal(listed.allocations, allocations.length);
        assert.equal(listed.extents.length, allocations.length);
        for (let i = 1; i < listed.extents.length; i++) {
          assert.ok(listed.extents[i - 1].address <= listed.extents[i].address, "extents in address order");
        }

        const aggregated = build(all, buckets, frees);
        assert.equal(aggregated.freeBytes, listed.freeBytes);
        assert.equal(aggregated.largestFreeBlock, listed.largestFreeBlock);
        if (allocations.length <= buckets) {
          assert.deepEqual(aggregated, listed);
          return;
        }
        assert.deepEqual([aggregated.extents, aggregated.free], [[], []]);
        assert.ok(aggregated.buckets.length <= buckets);
        let sliceAt = start;
        for (const b of aggregated.buckets) {
          assert.equal(b.address, sliceAt);
          let occupied = 0;
          for (let a = b.address; a < b.address + b.sizeBytes; a++) occupied += covered[a - start];
          assert.equal(b.occupiedBytes, occupied);
          // The dominant pid holds the most bytes of the slice (counting each of its extents).
          const byPid = new Map<number, number>();
          for (const e of listed.extents) {
            const overlap =
              Math.min(e.address + e.bankBytes, b.address + b.sizeBytes, end) -
              Math.max(e.address, b.address, start);
            if (overlap > 0) byPid.set(e.pid, (byPid.get(e.pid) ?? 0) + overlap);
          }
          const best = Math.max(0, ...byPid.values());
          const expected =
            best === 0 ? 0 : Math.min(...[...byPid].filter(([, v]) => v === best).map(([p]) => p));
          assert.equal(b.dominantPid, expected);
          sliceAt += b.sizeBytes;
        }
        assert.equal(sliceAt, end);
      },
    ),
    { numRuns: 150 },
  );
});

test("evenBankBytes is the allocator's bankBytes for aligned pages spread evenly, on every preset", () => {
  for (const preset of [TINY, WORMHOLE_B0_N150, BLACKHOLE_P150]) {
    const { regions } = memoryLayout(preset);
    fc.assert(
      fc.property(fc.constantFrom(...regions), fc.integer({ min: 0, max: 2 ** 40 }), (r, sizeBytes) => {
        const unit = r.alignmentBytes * r.bankCount;
        const padded = Math.ceil(sizeBytes / unit) * unit;
        const expected =
          padded === 0 ? r.minAllocationBytes : bankBytes(r, padded, r.alignmentBytes, r.bankCount);
        assert.equal(evenBankBytes(r, sizeBytes), expected);
      }),
    );
  }
});

function query(hostUsed?: number): { registry: Registry; catalog: DeviceCatalog; maps: MemoryMapQuery } {
  const anomalies = new AnomalyLog();
  const registry = new Registry(anomalies);
  const catalog = new DeviceCatalog(anomalies);
  const maps = new MemoryMapQuery({
    registry,
    catalog,
    processNameOf: () => "",
    hostSummaryOf:
      hostUsed === undefined
        ? undefined
        : () => ({ memory: { DRAM: { used: hostUsed } } }) as unknown as SummaryResponse["devices"][number],
  });
  return { registry, catalog, maps };
}

const request = { deviceId: 0, memoryType: "DRAM" as const, buckets: 2048, nowMs: 0 };

test("allocations of a device no client described (legacy frames): exact:false, totals only", () => {
  const { registry, maps } = query();
  const ledger = registry.ledger(registry.openAccount("1".repeat(32), 7), 0);
  registry.allocate(ledger, DRAM, 1, 4096, 1000, 0);
  const map = maps.answer(request);
  assert.equal(map.exact, false);
  assert.match(map.reason ?? "", /no client described device 0 .* its layout is unknown/);
  assert.equal(map.allocations, 1);
  assert.equal(map.usedBytes, 1000);
  assert.deepEqual([map.extents, map.free, map.buckets, map.freeBytes], [[], [], [], 0]);
});

test("bytes counted only by tt-metal's shared memory (no addresses): exact:false even with a known layout", () => {
  const { registry, catalog, maps } = query(5000);
  const descriptor = {
    deviceId: 0,
    name: "tiny:0",
    architecture: "TINY",
    capacityBytes: MEMORY_TYPE_NAMES.map((_, t) => {
      const r = layout.regions[layout.regionOfType[t]];
      return r.sizePerBankBytes * r.bankCount;
    }),
  };
  catalog.describe(descriptor, registry.openAccount("2".repeat(32), 8));
  const ledger = registry.ledger(registry.openAccount("1".repeat(32), 7), 0);
  registry.allocate(ledger, DRAM, 1, region.baseAddressBytes, 1000, 0);
  const map = maps.answer(request);
  assert.equal(map.exact, false);
  assert.match(
    map.reason ?? "",
    /4000 bytes of DRAM on device 0 are counted by tt-metal's shared-memory counters/,
  );
  assert.equal(map.usedBytes, 5000);

  // Without shared-memory bytes beyond the sessions' the same device maps exactly ("tiny:0" = preset:id).
  const exact = query(1000);
  exact.catalog.describe(descriptor, exact.registry.openAccount("2".repeat(32), 8));
  const l = exact.registry.ledger(exact.registry.openAccount("1".repeat(32), 7), 0);
  exact.registry.allocate(l, DRAM, 1, region.baseAddressBytes, 1000, 0);
  const exactMap = exact.maps.answer(request);
  assert.equal(exactMap.exact, true);
  assert.deepEqual(
    exactMap.extents.map((e) => [e.address, e.bankBytes]),
    [[region.baseAddressBytes, evenBankBytes(region, 1000)]],
  );
});

test("many extents outside the region (a faulty client) still list in address order, and occupy nothing", () => {
  const end = region.baseAddressBytes + region.sizePerBankBytes;
  // Descending beyond the region: every one takes the last key, so only the exact starts order them.
  const outside = Array.from({ length: 500 }, (_, i) => ({
    session: 0,
    address: end + (500 - i) * 16,
    sizeBytes: 64,
  }));
  const map = build([...outside, { session: 1, address: region.baseAddressBytes, sizeBytes: 128 }], 65536);
  const addresses = map.extents.map((e) => e.address);
  assert.deepEqual(
    addresses,
    [...addresses].sort((a, b) => a - b),
  );
  assert.equal(addresses.length, 501);
  assert.equal(map.freeBytes, region.sizePerBankBytes - evenBankBytes(region, 128));
});

test("the aggregate without sorting (coverage bitmap) equals the sorted build's, whenever it answers", () => {
  // Aligned extents (the coverage way's domain), several sessions and two of one pid, overlaps,
  // extents running off either end of the region, and more allocations than buckets.
  const unit = region.alignmentBytes;
  const units = region.sizePerBankBytes / unit;
  const alignedArb = fc.record({
    session: fc.integer({ min: 0, max: 3 }),
    address: fc.oneof(
      fc.integer({ min: 0, max: units - 1 }).map((u) => region.baseAddressBytes + u * unit),
      fc.integer({ min: -4, max: 4 }).map((u) => region.baseAddressBytes + u * unit),
      fc.integer({ min: units - 4, max: units + 4 }).map((u) => region.baseAddressBytes + u * unit),
    ),
    sizeBytes: fc.integer({ min: 0, max: 16 * unit * region.bankCount }),
  });
  const mapOf = (
    allocations: { session: number; address: number; sizeBytes: number }[],
    buckets: number,
    coverage: boolean,
  ): MemoryMapResponse => {
    const registry = new Registry(new AnomalyLog());
    // Sessions 2 and 3 are one process (pid 102): their bytes add up for the dominant owner.
    const pids = [100, 101, 102, 102];
    const ledgers = pids.map((pid, s) =>
      registry.ledger(registry.openAccount(String(s).padStart(32, "0"), pid), 0),
    );
    allocations.forEach((a, i) => {
      registry.allocate(ledgers[a.session], DRAM, i + 1, a.address, a.sizeBytes, 0);
    });
    // A second device's allocations must not show.
    const other = registry.ledger(registry.openAccount("9".repeat(32), 999), 1);
    registry.allocate(other, DRAM, 1, region.baseAddressBytes, 4096, 0);
    return new MemoryMapBuilder(registry, () => "p", { coverage }).build(
      { deviceId: 0, memoryType: "DRAM", buckets, nowMs: 0 },
      layout,
      registry.findDevice(0),
    );
  };
  fc.assert(
    fc.property(
      fc.array(alignedArb, { minLength: 2, maxLength: 80 }),
      fc.integer({ min: 1, max: 64 }),
      (allocations, buckets) => {
        assert.deepEqual(mapOf(allocations, buckets, true), mapOf(allocations, buckets, false));
      },
    ),
    { numRuns: 300 },
  );
});

test("an unaligned extent sends the aggregate to the sorted build, which stays exact", () => {
  const allocations = [
    { session: 0, address: region.baseAddressBytes + 3, sizeBytes: 100 },
    ...Array.from({ length: 20 }, (_, i) => ({
      session: 1,
      address: region.baseAddressBytes + 1024 + i * 256,
      sizeBytes: 64,
    })),
  ];
  const map = build(allocations, 4);
  const listed = build(allocations, 65536);
  assert.equal(map.buckets.length, 4);
  assert.equal(map.freeBytes, listed.freeBytes);
  assert.equal(map.largestFreeBlock, listed.largestFreeBlock);
  assert.equal(map.buckets[0].occupiedBytes, region.sizePerBankBytes - listed.freeBytes);
});

test("on a real preset (slices of whole bitmap words), the coverage aggregate equals the sorted build", () => {
  const n150 = memoryLayout(WORMHOLE_B0_N150);
  const dram = n150.regions[n150.regionOfType[DRAM]];
  const mapOf = (coverage: boolean): MemoryMapResponse => {
    const registry = new Registry(new AnomalyLog());
    const ledgers = [0, 1, 2].map((s) =>
      registry.ledger(registry.openAccount(String(s).padStart(32, "0"), 200 + s), 0),
    );
    let seed = 7;
    for (let i = 0; i < 5000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const unitIndex = seed % (dram.sizePerBankBytes / dram.alignmentBytes);
      const sizeBytes = (1 + (seed % 4096)) * dram.alignmentBytes;
      const address = dram.baseAddressBytes + unitIndex * dram.alignmentBytes;
      registry.allocate(ledgers[i % 3], DRAM, i + 1, address, sizeBytes, 0);
    }
    return new MemoryMapBuilder(registry, () => "p", { coverage }).build(
      { deviceId: 0, memoryType: "DRAM", buckets: 2048, nowMs: 0 },
      n150,
      registry.findDevice(0),
    );
  };
  const fast = mapOf(true);
  assert.equal(fast.buckets.length, 2048);
  assert.ok(fast.buckets.some((b) => b.occupiedBytes > 0 && b.occupiedBytes < b.sizeBytes));
  assert.deepEqual(fast, mapOf(false));
});

test("maps built one after another by one builder stay exact as allocations come and go (kept coverage)", () => {
  // One builder keeps its coverage between maps; slots freed and taken again by other allocations (new
  // addresses and sizes) must never show their old extents.
  const unit = region.alignmentBytes;
  const units = region.sizePerBankBytes / unit;
  const stepArb = fc.array(
    fc.record({
      free: fc.boolean(),
      pick: fc.nat(),
      session: fc.integer({ min: 0, max: 1 }),
      unitIndex: fc.integer({ min: 0, max: units - 1 }),
      sizeBytes: fc.integer({ min: 1, max: 8 * unit * region.bankCount }),
    }),
    { minLength: 1, maxLength: 40 },
  );
  fc.assert(
    fc.property(
      fc.array(stepArb, { minLength: 2, maxLength: 5 }),
      fc.integer({ min: 1, max: 9 }),
      (rounds, buckets) => {
        const registry = new Registry(new AnomalyLog());
        const ledgers = [0, 1].map((s) =>
          registry.ledger(registry.openAccount(String(s).padStart(32, "0"), 300 + s), 0),
        );
        const kept = new MemoryMapBuilder(registry, () => "p");
        const live: { session: number; id: number }[] = [];
        let nextId = 1;
        const request = { deviceId: 0, memoryType: "DRAM" as const, buckets, nowMs: 0 };
        for (const steps of rounds) {
          for (const step of steps) {
            if (step.free && live.length > 0) {
              const [gone] = live.splice(step.pick % live.length, 1);
              registry.free(ledgers[gone.session], DRAM, gone.id, -1);
            } else {
              const id = nextId++;
              const address = region.baseAddressBytes + step.unitIndex * unit;
              registry.allocate(ledgers[step.session], DRAM, id, address, step.sizeBytes, 0);
              live.push({ session: step.session, id });
            }
          }
          const fresh = new MemoryMapBuilder(registry, () => "p", { coverage: false });
          assert.deepEqual(
            kept.build(request, layout, registry.findDevice(0)),
            fresh.build(request, layout, registry.findDevice(0)),
          );
        }
      },
    ),
    { numRuns: 200 },
  );
});

test("a kept coverage stays exact through sessions leaving, serials reused, log overflow and the overlap limit", () => {
  // Sessions come and go (their ledger serials are reused by new sessions of other pids), another device
  // shares the registry, extents overlap often (a narrow address range), the change log is sometimes
  // too short for what happened between two maps (the coverage starts again), and sometimes the
  // overlap limit is tiny (the sorted build answers). After every round the kept builder must equal a
  // fresh sorted build.
  const unit = region.alignmentBytes;
  const units = region.sizePerBankBytes / unit;
  const stepArb = fc.oneof(
    fc.record({
      kind: fc.constant("alloc" as const),
      session: fc.nat(),
      device: fc.constantFrom(0, 0, 0, 1),
      unitIndex: fc.oneof(fc.integer({ min: 0, max: units - 1 }), fc.integer({ min: 0, max: 40 })),
      sizeBytes: fc.integer({ min: 1, max: 8 * unit * region.bankCount }),
    }),
    fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }),
    fc.record({
      kind: fc.constant("leave" as const),
      pick: fc.nat(),
      pid: fc.integer({ min: 400, max: 403 }),
    }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.array(stepArb, { minLength: 1, maxLength: 30 }), { minLength: 2, maxLength: 5 }),
      fc.integer({ min: 1, max: 9 }),
      fc.constantFrom(4, 16, 1024),
      fc.constantFrom(1, 2, undefined),
      (rounds, buckets, changeLogSlots, maxOverlapBlocks) => {
        const registry = new Registry(new AnomalyLog(), undefined, { changeLogSlots });
        let sessionNumber = 0;
        const open = (pid: number) => registry.openAccount(String(sessionNumber++).padStart(32, "0"), pid);
        const accounts = [open(400), open(401), open(400)];
        const kept = new MemoryMapBuilder(registry, () => "p", { maxOverlapBlocks });
        const live: { account: (typeof accounts)[number]; device: number; id: number }[] = [];
        let nextId = 1;
        const request = { deviceId: 0, memoryType: "DRAM" as const, buckets, nowMs: 0 };
        for (const steps of rounds) {
          for (const step of steps) {
            if (step.kind === "alloc") {
              const account = accounts[step.session % accounts.length];
              const id = nextId++;
              const address = region.baseAddressBytes + step.unitIndex * unit;
              const ledger = registry.ledger(account, step.device);
              registry.allocate(ledger, DRAM, id, address, step.sizeBytes, 0);
              live.push({ account, device: step.device, id });
            } else if (step.kind === "free" && live.length > 0) {
              const [gone] = live.splice(step.pick % live.length, 1);
              registry.free(registry.ledger(gone.account, gone.device), DRAM, gone.id, -1);
            } else if (step.kind === "leave") {
              const at = step.pick % accounts.length;
              const leaving = accounts[at];
              registry.releaseAccount(leaving);
              for (let i = live.length - 1; i >= 0; i--) if (live[i].account === leaving) live.splice(i, 1);
              accounts[at] = open(step.pid);
            }
          }
          const fresh = new MemoryMapBuilder(registry, () => "p", { coverage: false });
          assert.deepEqual(
            kept.build(request, layout, registry.findDevice(0)),
            fresh.build(request, layout, registry.findDevice(0)),
          );
        }
      },
    ),
    { numRuns: 300 },
  );
});
