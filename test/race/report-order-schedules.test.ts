// fast-check's scheduler explores async interleavings of allocate / report / free / report across tasks
// sharing one device. Each task reports over its own FIFO channel; the channels' deliveries interleave as
// the scheduler decides. The naive protocol (report by address after the allocator's lock is released)
// fails for some schedule; ordering at the source holds for every schedule explored.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ChangeOp } from "../../src/device/change.js";
import { Device } from "../../src/device/device.js";
import { DeviceBuffer } from "../../src/device/device-buffer.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";
import { compareLiveSets } from "../../src/race/live-set-comparison.js";
import { type ReplayEvent, replayEvents } from "../../src/race/replay.js";

type Op = "alloc" | "freeOwn" | "handOff" | "freeHanded";
type Program = Op[][];

const programArb: fc.Arbitrary<Program> = fc.array(
  fc.array(fc.constantFrom<Op>("alloc", "alloc", "freeOwn", "handOff", "freeHanded"), {
    minLength: 2,
    maxLength: 6,
  }),
  { minLength: 2, maxLength: 3 },
);

/** One allocation as a task holds it, whichever protocol made it. */
interface Held {
  free(): Promise<void>;
}

interface Protocol {
  allocate(task: number, pages: number): Promise<Held>;
}

/** Runs `program` under scheduler `s`; resolves with the reports in arrival order and the device. */
async function runProgram(s: fc.Scheduler, program: Program, mode: "naive" | "ordered") {
  const device = Device.create(TINY, { id: 0 });
  const arrived: ReplayEvent[] = [];
  const channels = program.map(() => Promise.resolve());
  const send = (task: number, event: ReplayEvent): void => {
    // FIFO per task; when each delivery happens relative to other channels is the scheduler's choice.
    channels[task] = channels[task]!.then(() => s.schedule(Promise.resolve(), `deliver t${task}`)).then(
      () => {
        arrived.push(event);
      },
    );
  };
  const window = (task: number) => s.schedule(Promise.resolve(), `window t${task}`);

  let protocol: Protocol;
  if (mode === "naive") {
    protocol = {
      async allocate(task, pages) {
        const a = device.allocator.allocate({
          memoryType: MemoryType.DRAM,
          sizeBytes: pages * 64,
          pageSizeBytes: 64,
        });
        await window(task); // the allocator's lock is released; the report leaves later
        send(task, {
          op: ChangeOp.ALLOC,
          deviceId: 0,
          memoryType: a.memoryType,
          seq: 0,
          allocationId: 0,
          address: a.address,
          sizeBytes: a.sizeBytes,
          sizePerBankBytes: a.sizePerBankBytes,
        });
        return {
          async free() {
            await window(task);
            send(task, {
              op: ChangeOp.FREE,
              deviceId: 0,
              memoryType: a.memoryType,
              seq: 0,
              allocationId: 0,
              address: a.address,
              sizeBytes: 0,
            });
            device.allocator.deallocate(a.memoryType, a.address);
          },
        };
      },
    };
  } else {
    let sender = 0;
    let lastRecord: ReplayEvent | undefined;
    const tracker = new GraphTracker();
    tracker.addProcessor({
      process(c) {
        lastRecord = { ...c };
        send(sender, lastRecord);
      },
    });
    protocol = {
      async allocate(task, pages) {
        sender = task;
        const buffer = DeviceBuffer.create(
          device,
          { memoryType: MemoryType.DRAM, sizeBytes: pages * 64, pageSizeBytes: 64 },
          { tracker },
        );
        // The per-bank extent (for the overlap check) is known once create() returns.
        lastRecord!.sizePerBankBytes = buffer.sizePerBankBytes;
        await window(task);
        return {
          async free() {
            await window(task);
            sender = task;
            buffer.deallocate();
          },
        };
      },
    };
  }

  const pool: Held[] = [];
  const runTask = async (task: number, ops: Op[]) => {
    const own: Held[] = [];
    for (const [i, op] of ops.entries()) {
      await s.schedule(Promise.resolve(), `t${task} step ${i} ${op}`);
      if (op === "alloc") own.push(await protocol.allocate(task, 1 + ((task + i) % 3)));
      else if (op === "freeOwn" && own.length > 0) await own.pop()!.free();
      else if (op === "handOff" && own.length > 0) pool.push(own.pop()!);
      else if (op === "freeHanded" && pool.length > 0) await pool.pop()!.free();
    }
  };
  const done = Promise.all(program.map((ops, task) => runTask(task, ops)));
  await s.waitFor(done);
  await s.waitFor(Promise.all(channels));
  return { device, arrived };
}

async function exact(s: fc.Scheduler, program: Program, mode: "naive" | "ordered"): Promise<void> {
  const { device, arrived } = await runProgram(s, program, mode);
  const replay = replayEvents(arrived, { mode });
  assert.equal(replay.anomalies, 0, `anomalies: ${JSON.stringify(replay.byKind)}`);
  const live = replay.live.get("0:0") ?? [];
  assert.equal(
    compareLiveSets(mode, live, device.allocator.snapshot().allocations).equal,
    true,
    "live sets differ",
  );
}

test("naive reporting: fast-check finds a schedule where the server's picture is wrong", async () => {
  await assert.rejects(
    fc.assert(
      fc.asyncProperty(fc.scheduler(), programArb, (s, program) => exact(s, program, "naive")),
      { numRuns: 500, seed: 0x5eed, endOnFailure: true },
    ),
    (err: Error) => {
      assert.match(err.message, /Property failed after \d+ tests/);
      assert.match(String((err.cause as Error | undefined)?.message), /anomalies|live sets differ/);
      return true;
    },
  );
});

test("ordered reporting: every explored schedule leaves zero anomalies and the allocator's live set", async () => {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), programArb, (s, program) => exact(s, program, "ordered")),
    { numRuns: 150 },
  );
});
