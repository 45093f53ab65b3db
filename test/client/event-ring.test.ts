import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { EventRing, EventRingReader, EventRingWriter, RingItem } from "../../src/client/event-ring.js";
import type { RingConsumerReport } from "./ring-consumer-worker.js";

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

test("ring across real threads: a consumer thread sees every accepted event once, in order, and accepted + dropped = recorded", async () => {
  const ring = EventRing.create(1024);
  const writer = new EventRingWriter(ring, 1000);
  const worker = new Worker(new URL("./ring-consumer-worker.js", import.meta.url), {
    workerData: ring.buffer,
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
    const total = 300_000;
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
    const result = (await nextMessage()) as RingConsumerReport;
    assert.equal(result.faults, 0, result.firstFault);
    assert.equal(result.events + dropped, total);
    assert.ok(result.events > 10_000, `the consumer read ${result.events} events (the ring wrapped)`);
    assert.equal(result.lastSeq > 0, true);
  } finally {
    await worker.terminate();
  }
});
