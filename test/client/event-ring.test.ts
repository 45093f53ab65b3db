import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { EventRing, EventRingReader, EventRingWriter, RingItem } from "../../src/client/event-ring.js";
import type { RingConsumerData, RingConsumerReport } from "./ring-consumer-worker.js";

type Fields = [number, number, number, number, number, number, number, number, number];

const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const fieldsArb: fc.Arbitrary<Fields> = fc.tuple(
  fc.constantFrom(1, 2),
  fc.integer({ min: 0, max: 0xfffe }),
  fc.integer({ min: 0, max: 6 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  u53,
  u53,
  u53,
  u53,
  fc.integer({ min: 0, max: 0xffffffff }),
);

type Action = { kind: "event"; fields: Fields } | { kind: "marker" } | { kind: "take"; count: number };
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fieldsArb.map((fields) => ({ kind: "event" as const, fields })) },
  { weight: 1, arbitrary: fc.constant({ kind: "marker" as const }) },
  {
    weight: 3,
    arbitrary: fc.integer({ min: 1, max: 12 }).map((count) => ({ kind: "take" as const, count })),
  },
);

function takeOne(reader: EventRingReader): Fields {
  let got: Fields | undefined;
  reader.take(1, (...fields) => {
    got = fields;
  });
  return got!;
}

test("ring: wraps around many times, takes events up to its bound and markers up to its size, in order, fields exact", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(actionArb, { maxLength: 400 }),
      (eventLimit, actions) => {
        const ring = EventRing.create(8);
        assert.equal(ring.slotCount, 8);
        const writer = new EventRingWriter(ring, eventLimit);
        const reader = new EventRingReader(ring);
        const model: ({ marker: number } | { fields: Fields })[] = [];
        let ordinal = 0;
        let dropped = 0;
        let accepted = 0;
        for (const action of actions) {
          if (action.kind === "event") {
            const fits: boolean = model.length < eventLimit;
            assert.equal(writer.append(...action.fields), fits);
            if (fits) model.push({ fields: action.fields });
            else dropped++;
            if (fits) accepted++;
          } else if (action.kind === "marker") {
            const fits: boolean = model.length < ring.slotCount;
            assert.equal(writer.appendMarker(++ordinal), fits);
            if (fits) model.push({ marker: ordinal });
          } else {
            writer.publish();
            for (let i = 0; i < action.count && model.length > 0; i++) {
              assert.equal(reader.available(), model.length);
              const expected = model.shift()!;
              if ("marker" in expected) {
                assert.equal(reader.itemAt(0), RingItem.MARKER);
                assert.equal(reader.markerOrdinal(), expected.marker);
                reader.takeMarker();
              } else {
                assert.equal(reader.itemAt(0), RingItem.EVENT);
                assert.deepEqual(takeOne(reader), expected.fields);
              }
            }
          }
          assert.equal(writer.used, model.length);
          assert.equal(writer.eventsQueued, model.filter((m) => "fields" in m).length);
          assert.equal(writer.position, reader.head + model.length);
        }
        assert.equal(accepted + dropped, actions.filter((a) => a.kind === "event").length);
      },
    ),
    { numRuns: 300 },
  );
});

type WrapAction =
  | { kind: "event" }
  | { kind: "marker" }
  | { kind: "take"; count: number }
  | { kind: "partial" }
  | { kind: "settle" }
  | { kind: "discard" };
const wrapActionArb: fc.Arbitrary<WrapAction> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "event" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "marker" as const }) },
  {
    weight: 4,
    arbitrary: fc.integer({ min: 1, max: 12 }).map((count) => ({ kind: "take" as const, count })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "partial" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "settle" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "discard" as const }) },
);
/** Where positions start: 0, and just below the words' sign bit (2^31), their wrap (2^32) and 2^33. */
const startArb = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 2 ** 31 - 40, max: 2 ** 31 - 1 }),
  fc.integer({ min: 2 ** 32 - 40, max: 2 ** 32 - 1 }),
  fc.integer({ min: 2 ** 33 - 40, max: 2 ** 33 }),
);

test("ring: space, full, empty, settled and partial-due arithmetic is exact across 2^31, 2^32 and beyond (positions as u32 words)", () => {
  fc.assert(
    fc.property(
      startArb,
      fc.integer({ min: 1, max: 8 }),
      fc.array(wrapActionArb, { maxLength: 300 }),
      (start, eventLimit, actions) => {
        const ring = EventRing.create(8);
        const writer = new EventRingWriter(ring, eventLimit, start);
        const reader = new EventRingReader(ring);
        reader.resetTo(start);
        // The model: plain integer positions and what lies between head and tail.
        let tail = start;
        let head = start;
        let published = start;
        let settled = start;
        let partialAt = start;
        const items: ("event" | "marker")[] = [];
        let ordinal = 0;
        for (const action of actions) {
          switch (action.kind) {
            case "event": {
              const fits = tail - head < eventLimit;
              assert.equal(
                writer.append(1, 0, 0, tail + 1, 1, 0, 64, 0, 0),
                fits,
                "full exactly at the bound",
              );
              if (fits) {
                items.push("event");
                tail++;
              }
              break;
            }
            case "marker": {
              const fits = tail - head < ring.slotCount;
              assert.equal(writer.appendMarker(++ordinal), fits, "markers fill the whole ring");
              if (fits) {
                items.push("marker");
                tail++;
                published = tail;
              }
              break;
            }
            case "take":
              writer.publish();
              published = tail;
              assert.equal(reader.available(), published - head);
              for (let i = 0; i < action.count && items.length > 0; i++) {
                const item = items.shift()!;
                if (item === "marker") {
                  assert.equal(reader.itemAt(0), RingItem.MARKER);
                  reader.takeMarker();
                } else {
                  assert.equal(reader.itemAt(0), RingItem.EVENT);
                  assert.equal(takeOne(reader)[3], head + 1, "the event stored at this position");
                }
                head++;
              }
              if (items.length === 0) assert.equal(reader.available(), 0, "empty");
              break;
            case "partial":
              writer.requestPartial();
              published = tail;
              partialAt = tail;
              break;
            case "settle":
              reader.settle(reader.head);
              settled = head;
              break;
            case "discard": {
              const events = items.filter((item) => item === "event").length;
              assert.equal(writer.discardUnread(), events);
              items.length = 0;
              head = tail;
              settled = tail;
              published = tail;
              reader.resetTo(writer.position);
              break;
            }
          }
          assert.equal(writer.position, tail);
          assert.equal(reader.head, head);
          assert.equal(writer.head, head);
          assert.equal(writer.used, tail - head);
          assert.equal(writer.settled, settled);
          assert.equal(reader.available(), published - head);
          assert.equal(reader.partialDue(), partialAt > head);
          assert.equal(writer.eventsQueued, items.filter((item) => item === "event").length);
        }
      },
    ),
    { numRuns: 400 },
  );
});

test("ring: eventRun stops at the first marker and at the limit; discardUnread counts events and frees the ring", () => {
  const ring = EventRing.create(16);
  const writer = new EventRingWriter(ring, 16);
  const reader = new EventRingReader(ring);
  for (let i = 1; i <= 3; i++) writer.append(1, 0, 0, i, i, 0, 64, 0, 0);
  writer.appendMarker(7);
  writer.append(2, 0, 0, 4, 1, 0, 64, 0, 0);
  assert.equal(reader.available(), 4, "the marker published the events before it, not the one after");
  writer.publish();
  assert.equal(reader.available(), 5);
  assert.equal(reader.eventRun(10), 3);
  assert.equal(reader.eventRun(2), 2);
  reader.take(3, () => {});
  assert.equal(reader.eventRun(10), 0);
  assert.equal(reader.markerOrdinal(), 7);
  // The connection is gone: the rest (one marker, one event) is taken back.
  assert.equal(writer.discardUnread(), 1);
  assert.equal(writer.used, 0);
  assert.equal(writer.eventsQueued, 0);
  assert.equal(writer.settled, writer.position);
  reader.resetTo(writer.position);
  assert.equal(reader.available(), 0);
});

test("ring: a partial batch is due only up to the position the producer asked for", () => {
  const ring = EventRing.create(8);
  const writer = new EventRingWriter(ring, 8);
  const reader = new EventRingReader(ring);
  writer.append(1, 0, 0, 1, 1, 0, 64, 0, 0);
  assert.equal(reader.available(), 0, "an event is published with the next batch or partial request");
  assert.equal(reader.partialDue(), false);
  writer.requestPartial();
  assert.equal(reader.available(), 1);
  assert.equal(reader.partialDue(), true);
  reader.take(1, () => {});
  assert.equal(reader.partialDue(), false, "everything asked for is taken");
});

/**
 * Records `total` events on this thread into a ring whose positions start at `startPosition`, while a
 * consumer thread drains it (test/client/ring-consumer-worker.ts checks each event's fields and order);
 * the ring both fills and drains, wrapping many times. Returns the consumer's report and the drops.
 */
async function produceAgainstConsumerThread(
  startPosition: number,
  total: number,
): Promise<{ report: RingConsumerReport; dropped: number; position: number }> {
  const ring = EventRing.create(1024);
  const writer = new EventRingWriter(ring, 1000, startPosition);
  const worker = new Worker(new URL("./ring-consumer-worker.js", import.meta.url), {
    workerData: { buffer: ring.buffer, startPosition } satisfies RingConsumerData,
  });
  try {
    const messages: unknown[] = [];
    let arrived: () => void = () => {};
    worker.on("message", (message) => {
      messages.push(message);
      arrived();
    });
    const nextMessage = () =>
      new Promise<unknown>((resolve, reject) => {
        if (messages.length > 0) return resolve(messages.shift());
        arrived = () => resolve(messages.shift());
        worker.once("error", reject);
      });
    assert.equal(await nextMessage(), "ready");
    let dropped = 0;
    for (let seq = 1; seq <= total; seq++) {
      if (
        !writer.append(
          seq % 2 === 0 ? 2 : 1,
          seq % 0xffff,
          seq % 7,
          seq,
          seq * 3,
          seq * 64,
          4096,
          seq * 10,
          seq % 5,
        )
      ) {
        dropped++;
      }
      if (seq % 256 === 0) writer.wake();
      // Let the consumer catch up now and then, so the ring both fills and drains, wrapping many times.
      if (seq % 1000 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    writer.appendMarker(0xffffffff);
    writer.wake();
    const report = (await nextMessage()) as RingConsumerReport;
    return { report, dropped, position: writer.position };
  } finally {
    await worker.terminate();
  }
}

test("ring across real threads: a consumer thread sees every accepted event once, in order, and accepted + dropped = recorded", async () => {
  const total = 300_000;
  const { report, dropped } = await produceAgainstConsumerThread(0, total);
  assert.equal(report.faults, 0, report.firstFault);
  assert.equal(report.events + dropped, total);
  assert.ok(report.events > 10_000, `the consumer read ${report.events} events (the ring wrapped)`);
  assert.equal(report.lastSeq > 0, true);
});

test("ring across real threads and across 2^32: positions start just below the u32 words' wrap; every event once, in order", async () => {
  const start = 2 ** 32 - 20_000;
  const total = 200_000;
  const { report, dropped, position } = await produceAgainstConsumerThread(start, total);
  assert.equal(report.faults, 0, report.firstFault);
  assert.equal(report.events + dropped, total);
  assert.ok(report.events > 10_000, `the consumer read ${report.events} events`);
  // Every slot (events and the end marker) was produced and consumed: both sides crossed 2^32 together.
  assert.equal(position, start + report.events + 1);
  assert.equal(report.head, position);
  assert.ok(report.head > 2 ** 32, "the consumer's head passed 2^32");
});
