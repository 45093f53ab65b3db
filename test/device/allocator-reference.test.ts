import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FreeList, NONE } from "../../src/device/allocator/free-list.js";
import { FitPolicy } from "../../src/device/allocator/types.js";
import { FreeList as ReferenceFreeList, TreeOrder } from "./reference/treap-free-list.js";

// The allocator in src/ must place every block exactly where the frozen reference (issue 17) does:
// the same requests on both, side by side, give the same addresses, failures and statistics.

const UNIT_BYTES = 32;

type Op = { kind: "alloc"; units: number; bottomUp: boolean } | { kind: "free"; pick: number };

const opArb = (maxUnits: number): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("alloc" as const),
        // Small sizes often (ties and exact fits), large ones sometimes (splits, NO_FIT).
        units: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: maxUnits })),
        bottomUp: fc.boolean(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }) },
  );

interface Pair {
  list: FreeList;
  reference: ReferenceFreeList;
  live: number[];
}

function pair(
  policy: FitPolicy,
  capacity: number,
  regionBytes: number,
  shared: boolean,
  granuleBytes = UNIT_BYTES,
): Pair {
  const make = (bytes: number) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const list = new FreeList(
    make(FreeList.byteLength(capacity)),
    0,
    capacity,
    regionBytes,
    policy,
    granuleBytes,
  );
  const reference = new ReferenceFreeList(
    make(ReferenceFreeList.byteLength(capacity)),
    0,
    capacity,
    regionBytes,
    // The reference picks its policy by its tree's order.
    policy === FitPolicy.BEST_FIT ? TreeOrder.BY_SIZE : TreeOrder.BY_ADDRESS,
  );
  list.format();
  reference.format();
  return { list, reference, live: [] };
}

function step(p: Pair, op: Op, id: number): void {
  const { list, reference, live } = p;
  if (op.kind === "free") {
    if (live.length === 0) return;
    const k = op.pick % live.length;
    const offset = live[k]!;
    live[k] = live[live.length - 1]!;
    live.pop();
    const a = list.find(offset);
    const b = reference.find(offset);
    assert.notEqual(a, NONE);
    assert.notEqual(b, NONE);
    list.release(a);
    reference.release(b);
  } else {
    const sizeBytes = op.units * UNIT_BYTES;
    const a = list.allocate(sizeBytes, op.bottomUp, 1, id, sizeBytes);
    const b = reference.allocate(sizeBytes, op.bottomUp, 1, id, sizeBytes);
    if (b < 0) {
      assert.equal(a, b, "the same failure (NO_FIT or TABLE_FULL)");
    } else {
      assert.ok(a >= 0, `allocation failed with ${a} where the reference placed it`);
      assert.equal(list.offsetOf(a), reference.offsetOf(b), `placement of ${sizeBytes} bytes`);
      live.push(list.offsetOf(a));
    }
  }
  assert.equal(list.freeBlocks, reference.freeBlocks, "free blocks");
  assert.equal(list.largestFreeBytes, reference.largestFreeBytes, "largest free block");
  assert.equal(list.freeBytes, reference.freeBytes, "free bytes");
}

for (const [name, policy] of [
  ["first fit", FitPolicy.FIRST_FIT],
  ["best fit", FitPolicy.BEST_FIT],
] as const) {
  test(`${name}: the same placements as the reference treap on random workloads`, () => {
    fc.assert(
      fc.property(
        fc.array(opArb(64), { maxLength: 400, size: "max" }),
        fc.boolean(),
        // Best fit's size lists: all sizes listed (32), some odd sizes in the tree (96), sizes from
        // 4096 B in the tree (1).
        fc.constantFrom(UNIT_BYTES, 3 * UNIT_BYTES, 1),
        (ops, shared, granuleBytes) => {
          // A small region and few slots: NO_FIT and TABLE_FULL both happen.
          const p = pair(policy, 96, 512 * UNIT_BYTES, shared, granuleBytes);
          for (let i = 0; i < ops.length; i++) step(p, ops[i]!, i + 1);
          assert.equal(p.list.checkInvariants(), undefined);
        },
      ),
      { numRuns: 200 },
    );
  });

  test(`${name}: the same placements as the reference treap over a long fragmented run`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        // Thousands of holes: deep trees, many rotations and node moves.
        // Granule 1: best fit lists sizes below 4 KiB (every request's), merged holes above go to its tree.
        const p = pair(policy, 20_000, 1 << 26, false, 1);
        let state = seed;
        const random = (): number => {
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          return (state >>> 0) / 4294967296;
        };
        for (let i = 1; i <= 30_000; i++) {
          const alloc = p.live.length < 4000 || random() < 0.5;
          const op: Op = alloc
            ? { kind: "alloc", units: 1 + Math.floor(random() * 96), bottomUp: random() < 0.8 }
            : { kind: "free", pick: Math.floor(random() * 1e9) };
          step(p, op, i);
        }
        assert.ok(p.list.freeBlocks > 500, `fragmented: ${p.list.freeBlocks} free blocks`);
        assert.equal(p.list.checkInvariants(), undefined);
      }),
      // A failure is reported as found: shrinking 30k-step runs would take minutes.
      { numRuns: 4, endOnFailure: true },
    );
  });
}
