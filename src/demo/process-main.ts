// Entry of one demo workload process (started by `allocwatch demo`, or directly by tests):
// simulated devices, a model running forward passes on each, frees on worker threads, every change
// reported to the allocation server. Prints one JSON line per milestone on stdout.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Device } from "../device/device.js";
import { MemoryType } from "../device/memory-type.js";
import { DEVICE_PRESETS } from "../device/presets.js";
import { ClientTrouble } from "./client-trouble.js";
import { FreePool } from "./free-pool.js";
import { InferenceWorkload } from "./inference.js";
import { modelFor } from "./models.js";
import { monotonicClock, startReporting, whenConnected } from "./reporting.js";

const { values } = parseArgs({
  options: {
    index: { type: "string", default: "0" },
    devices: { type: "string", default: "1" },
    // The id of the first device: a fleet gives each process its own chips, as a host's runtimes own theirs.
    "first-device": { type: "string", default: "0" },
    preset: { type: "string", default: "wormhole_b0_n150" },
    workers: { type: "string", default: "2" },
    "step-ms": { type: "string", default: "200" },
    duration: { type: "string" },
    steps: { type: "string" },
    leak: { type: "boolean", default: false },
    socket: { type: "string" },
    "session-id": { type: "string" },
    "live-set-out": { type: "string" },
    hold: { type: "boolean", default: false },
    "progress-ms": { type: "string", default: "5000" },
    // Started by a Fleet: stdin is a pipe from it, and its end means the fleet's process is gone.
    supervised: { type: "boolean", default: false },
  },
});

function count(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`demo process: --${name} must be a number >= ${min}, got ${value}\n`);
    process.exit(2);
  }
  return n;
}

const index = count("index", values.index, 0)!;
const deviceCount = count("devices", values.devices, 1)!;
const firstDevice = count("first-device", values["first-device"], 0)!;
if (!Number.isInteger(firstDevice) || firstDevice + deviceCount > 0x10000) {
  process.stderr.write(
    `demo process: --first-device must be an integer with --first-device + --devices <= 65536, got ${firstDevice}\n`,
  );
  process.exit(2);
}
const workerCount = count("workers", values.workers, 0)!;
const stepMs = count("step-ms", values["step-ms"], 0)!;
const durationMs = (count("duration", values.duration, 0) ?? Number.POSITIVE_INFINITY) * 1000;
const maxSteps = count("steps", values.steps, 0) ?? Number.POSITIVE_INFINITY;
const progressMs = count("progress-ms", values["progress-ms"], 100)!;
const preset = DEVICE_PRESETS[values.preset!];
if (preset === undefined) {
  process.stderr.write(
    `demo process: unknown --preset ${values.preset}; use ${Object.keys(DEVICE_PRESETS).join(", ")}\n`,
  );
  process.exit(2);
}

const model = modelFor(index);
const processName = `${model.name}${values.leak ? "-leaky" : ""}`;
process.title = `allocwatch-demo ${processName}`;
const sessionId = values["session-id"] ?? randomBytes(16).toString("hex");
const socketPath = values.socket;
const originNs = process.hrtime.bigint();
const clock = monotonicClock(originNs);

const devices = Array.from({ length: deviceCount }, (_, k) =>
  Device.create(preset, { id: firstDevice + k, shared: workerCount > 0, clock }),
);
// Client errors once per cause ("cannot reach ...: permission denied"), not a silent "dropped N". A
// milestone like the others: `allocwatch demo` shows it on its stderr.
const trouble = new ClientTrouble((report) => say("client-error", { ...report }));
const { tracker, client } = startReporting({
  devices,
  sessionId,
  processName,
  socketPath,
  onError: trouble.onError,
  onStateChange: trouble.onStateChange,
});
const pool =
  workerCount > 0
    ? new FreePool({
        workers: workerCount,
        devices: devices.map((d) => d.share()),
        sessionId,
        resumeSecret: client.resumeSecret,
        processName,
        socketPath,
        originNs,
      })
    : undefined;

const workloads = devices.map((device) => {
  const l1 = device.layout.regions[device.layout.regionOfType[MemoryType.L1]!]!;
  const dram = device.layout.regions[device.layout.regionOfType[MemoryType.DRAM]!]!;
  return new InferenceWorkload({
    device,
    l1Banks: l1.bankCount,
    dramCapacityBytes: dram.bankCount * dram.sizePerBankBytes,
    model,
    tracker,
    leak: values.leak,
    withOperation: (name, fn) => device.withOperation(name, fn),
    ...(pool ? { releaseElsewhere: (buffer) => pool.release(buffer) } : {}),
  });
});

function say(event: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, pid: process.pid, name: processName, ...extra }) + "\n");
}

function totals() {
  const sum = (key: keyof InferenceWorkload["counters"]) =>
    workloads.reduce((n, w) => n + w.counters[key], 0);
  const c = client.counters;
  return {
    steps,
    events: sum("allocations") + sum("frees"),
    freesOnWorkers: pool?.counters.handedOver ?? 0,
    leakedBytes: sum("leakedBytes"),
    outOfMemory: sum("outOfMemory"),
    sent: c.sent,
    dropped: c.dropped,
    resyncs: c.resyncs,
    reconnects: c.reconnects,
    errors: c.errors,
  };
}

let stopping = false;
let steps = 0;
const stop = () => {
  stopping = true;
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Whoever reads our output has gone (a closed pipe): finish in order, quietly; later writes are dropped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    stop();
  });
}
if (values.supervised) {
  // The fleet's process ended (even by SIGKILL): do not outlive it. unref: stdin never keeps us alive.
  process.stdin.once("close", stop).resume();
  (process.stdin as unknown as { unref?: () => void }).unref?.();
}

// Like a runtime that opens its devices before it runs: every thread's connection first (a worker that
// connects late would leave a gap the server must wait out), but never wait long for an absent server.
await Promise.all([whenConnected(client, 3000), pool?.ready]);
for (const workload of workloads) workload.load();
say("started", {
  sessionId,
  devices: deviceCount,
  workers: workerCount,
  model: model.name,
  leak: values.leak,
});

const started = Date.now();
let lastProgress = started;
while (!stopping && steps < maxSteps && Date.now() - started < durationMs) {
  for (const workload of workloads) workload.step();
  steps++;
  // Yield every step: the clients write, the workers' messages go out, signals are seen.
  if (stepMs > 0) await sleep(stepMs);
  else await nextTurn();
  if (Date.now() - lastProgress >= progressMs) {
    lastProgress = Date.now();
    say("progress", totals());
  }
}

await pool?.drain();
await client.flush();
if (values["live-set-out"]) {
  // The allocator is the truth: its live set, taken under its lock, is what the server must show.
  const liveSet = devices.map((device) => ({ id: device.id, ...device.allocator.snapshot() }));
  writeFileSync(values["live-set-out"], JSON.stringify({ pid: process.pid, sessionId, devices: liveSet }));
}
say("finished", totals());

if (values.hold) {
  // Stay alive (memory held, connections open) until told to go: lets a test read the server's view.
  while (!stopping) await sleep(50);
}

// A leaky process ends holding its leaked outputs: the server keeps a leak report of them.
for (const workload of workloads) workload.unload(values.leak);
await pool?.close();
await client.close();
say("stopped", totals());
