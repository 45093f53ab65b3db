// Operations on a free-block index (the B+ tree, first fit's address index) for their fast-check tests:
// slot s owns addresses [s × SPAN, (s + 1) × SPAN), so any address in its own span keeps address order.
import fc from "fast-check";

export const SPAN = 1000;

export type Op =
  | { kind: "insert"; slot: number; offset: number; size: number }
  | { kind: "remove"; pick: number }
  | { kind: "resize"; pick: number; offset: number; size: number }
  | { kind: "find"; n: number; bottomUp: boolean };

/** Inserts into `capacity` slots with `insertWeight`, sizes 1..maxSize, finds weighted `findWeight`. */
export const opArb = (
  capacity: number,
  insertWeight: number,
  options: { maxSize: number; findWeight: number },
): fc.Arbitrary<Op> =>
  fc.oneof(
    {
      weight: insertWeight,
      arbitrary: fc.record({
        kind: fc.constant("insert" as const),
        slot: fc.nat(capacity - 1),
        offset: fc.nat(SPAN - 1),
        size: fc.integer({ min: 1, max: options.maxSize }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("resize" as const),
        pick: fc.nat(),
        offset: fc.nat(SPAN - 1),
        size: fc.integer({ min: 1, max: options.maxSize }),
      }),
    },
    {
      weight: options.findWeight,
      arbitrary: fc.record({
        kind: fc.constant("find" as const),
        n: fc.integer({ min: 1, max: options.maxSize + 2 }),
        bottomUp: fc.boolean(),
      }),
    },
  );
