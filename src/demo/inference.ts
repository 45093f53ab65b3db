import { type BufferDevice, DeviceBuffer } from "../device/device-buffer.js";
import { OutOfMemoryError } from "../device/errors.js";
import type { GraphTracker } from "../device/graph-tracker.js";
import { MemoryType } from "../device/memory-type.js";
import { BYTES_PER_ELEMENT, type ModelSpec, TILE_BYTES } from "./models.js";

export interface InferenceOptions {
  device: BufferDevice;
  /** Banks of the device's L1 region (circular buffers take the same tiles on every core). */
  l1Banks: number;
  /** DRAM capacity of the device, bytes (bounds the leak). */
  dramCapacityBytes: number;
  model: ModelSpec;
  tracker: GraphTracker;
  /** Frees an activation somewhere else (a worker thread); default: here, at once. */
  releaseElsewhere?: (buffer: DeviceBuffer) => void;
  /** Forget one output tensor per step, as a script that keeps every result alive (the demo's leak). */
  leak?: boolean;
  /**
   * Runs `fn` inside operation `name` (Device.withOperation), so that its allocations carry the name as
   * their context; default: no contexts.
   */
  withOperation?: <T>(name: string, fn: () => T) => T;
}

export interface InferenceCounters {
  /** Forward passes completed. */
  steps: number;
  /** Buffers created (each one ALLOC). */
  allocations: number;
  /** Buffers freed here or handed to be freed elsewhere (each one FREE). */
  frees: number;
  /** Output tensors leaked so far, and their bytes. */
  leakedBuffers: number;
  leakedBytes: number;
  /** Allocations refused by the device (out of memory); the step skips that work and goes on. */
  outOfMemory: number;
}

/** Programs whose kernel binaries stay loaded, as tt-metal's program cache keeps them. */
const PROGRAMS = ["layernorm", "matmul", "softmax", "gelu", "eltwise_add", "embedding"] as const;
/** Tiles per core of each circular buffer of an op (double-buffered input, output). */
const CB_TILES_PER_CORE = [8, 8, 4] as const;
/** Re-capture the trace every this many steps (a new sequence length, a new trace). */
const TRACE_RECAPTURE_STEPS = 64;
/** The leak stops growing at this share of DRAM: the demo shows a leak, not an out-of-memory crash. */
const LEAK_CEILING_SHARE = 0.4;

function tiles(elements: number): number {
  return Math.ceil((elements * BYTES_PER_ELEMENT) / TILE_BYTES) * TILE_BYTES;
}

/**
 * A model's forward passes on one device, through the runtime model: weights and embedding in DRAM for
 * the model's lifetime, kernel binaries loaded once per program, a trace region captured and re-captured,
 * small sharding configs in L1_SMALL, and per layer the ops' circular buffers and L1 activations,
 * allocated and freed as a real pass does. Synchronous: every buffer call reports through the tracker.
 */
export class InferenceWorkload {
  readonly counters: InferenceCounters = {
    steps: 0,
    allocations: 0,
    frees: 0,
    leakedBuffers: 0,
    leakedBytes: 0,
    outOfMemory: 0,
  };
  private readonly resident: DeviceBuffer[] = [];
  private readonly leaked: DeviceBuffer[] = [];
  private trace: DeviceBuffer | undefined;
  /** Layers whose key/value cache is already in L1 (made during the first pass, kept until unload). */
  private cachedLayers = 0;

  private readonly within: <T>(name: string, fn: () => T) => T;

  constructor(private readonly options: InferenceOptions) {
    this.within = options.withOperation ?? ((_name, fn) => fn());
  }

  /** Loads the model: weights, embedding, kernels, configs, host staging, trace. */
  load(): void {
    const { hidden, layers, vocabulary } = this.options.model;
    const h2 = hidden * hidden;
    this.within("ttnn.as_tensor", () => {
      for (let layer = 0; layer < layers; layer++) {
        for (const elements of [3 * h2, h2, 4 * h2, 4 * h2, hidden * 32, hidden * 32]) {
          this.keep(MemoryType.DRAM, tiles(elements));
        }
      }
    });
    if (vocabulary > 0) {
      this.within("ttnn.embedding", () => this.keep(MemoryType.DRAM, tiles(vocabulary * hidden)));
    }
    // A kernel binary is written to every core that runs it: a few KiB per core.
    this.within("program_cache", () => {
      for (let p = 0; p < PROGRAMS.length; p++) this.keep(MemoryType.KERNEL, this.perCore(1 + (p % 3)));
    });
    this.within("ttnn.create_sharded_memory_config", () => this.keep(MemoryType.L1_SMALL, this.perCore(1)));
    this.within("ttnn.from_torch", () => this.keep(MemoryType.SYSTEM_MEMORY, 4 * 1024 * 1024));
    this.captureTrace();
  }

  /** One forward pass. */
  step(): void {
    const { hidden, sequence, layers, vocabulary } = this.options.model;
    if (this.counters.steps > 0 && this.counters.steps % TRACE_RECAPTURE_STEPS === 0) {
      this.free(this.trace);
      this.captureTrace();
    }
    const input = this.within("ttnn.from_torch", () =>
      this.create(MemoryType.DRAM, tiles(sequence * hidden)),
    );
    let x = this.within("ttnn.to_memory_config", () => this.create(MemoryType.L1, tiles(sequence * hidden)));
    this.free(input);
    for (let layer = 0; layer < layers; layer++) {
      const config = this.within("ttnn.create_sharded_memory_config", () =>
        this.create(MemoryType.L1_SMALL, this.perCore(1)),
      );
      const normed = this.op("ttnn.layer_norm", x, sequence * hidden);
      const qkv = this.op("ttnn.linear", normed, 3 * sequence * hidden);
      this.release(normed);
      const attention = this.op("ttnn.transformer.scaled_dot_product_attention", qkv, sequence * hidden);
      // The layer's key/value cache for 32 tokens stays in L1 from the first pass on; made while this
      // pass's activations are live, it leaves a hole above it once they are freed.
      this.within("ttnn.fill_cache", () => this.cacheLayer(layer));
      this.release(qkv);
      const residual = this.op("ttnn.add", attention, sequence * hidden);
      this.release(attention);
      this.release(x);
      const hiddenUp = this.op("ttnn.linear", residual, 4 * sequence * hidden);
      const activated = this.op("ttnn.gelu", hiddenUp, 4 * sequence * hidden);
      this.release(hiddenUp);
      const down = this.op("ttnn.linear", activated, sequence * hidden);
      this.release(activated);
      x = this.op("ttnn.add", down, sequence * hidden);
      this.release(down);
      this.release(residual);
      this.free(config);
    }
    // Logits over the vocabulary (or 1000 classes, padded to 1024) for every token: what a leak keeps.
    const outputBytes = tiles(sequence * (vocabulary > 0 ? vocabulary : 1024));
    const output = this.within("ttnn.matmul", () => this.create(MemoryType.DRAM, outputBytes));
    this.release(x);
    if (output !== undefined && this.options.leak && this.leakHasRoom(outputBytes)) {
      this.leaked.push(output);
      this.counters.leakedBuffers++;
      this.counters.leakedBytes += outputBytes;
    } else {
      this.free(output);
    }
    this.counters.steps++;
  }

  /**
   * Frees everything this workload still holds (a clean shutdown), leaks included unless `keepLeaked`:
   * then the leaked outputs stay allocated as the process ends, which the server records as a leak
   * report (`allocwatch leaks`).
   */
  unload(keepLeaked = false): void {
    this.free(this.trace);
    this.trace = undefined;
    for (const buffer of this.resident.splice(0)) this.free(buffer);
    if (!keepLeaked) for (const buffer of this.leaked.splice(0)) this.free(buffer);
  }

  /**
   * One op (`name`, as TT-NN names it): its circular buffers live while the program runs; its output is
   * a new L1 activation. Both are allocated inside the operation.
   */
  private op(
    name: string,
    input: DeviceBuffer | undefined,
    outputElements: number,
  ): DeviceBuffer | undefined {
    return this.within(name, () => {
      const cbs = CB_TILES_PER_CORE.map((t) => this.create(MemoryType.CB, this.perCore(t)));
      const output = input === undefined ? undefined : this.create(MemoryType.L1, tiles(outputElements));
      for (const cb of cbs) this.free(cb);
      return output;
    });
  }

  private cacheLayer(layer: number): void {
    if (layer < this.cachedLayers) return;
    this.keep(MemoryType.L1, tiles(2 * 32 * this.options.model.hidden));
    this.cachedLayers = layer + 1;
  }

  private captureTrace(): void {
    const { layers } = this.options.model;
    // Trace size grows with the number of ops captured; vary it so re-captures move the address.
    const bytes = (layers * 256 + (this.counters.steps % 3) * 1024) * TILE_BYTES;
    this.trace = this.within("ttnn.begin_trace_capture", () => this.create(MemoryType.TRACE, bytes));
  }

  private leakHasRoom(bytes: number): boolean {
    return this.counters.leakedBytes + bytes <= this.options.dramCapacityBytes * LEAK_CEILING_SHARE;
  }

  /** `tilesPerCore` tiles on every L1 bank, bytes. */
  private perCore(tilesPerCore: number): number {
    return this.options.l1Banks * tilesPerCore * TILE_BYTES;
  }

  private keep(memoryType: MemoryType, sizeBytes: number): void {
    const buffer = this.create(memoryType, sizeBytes);
    if (buffer !== undefined) this.resident.push(buffer);
  }

  private create(memoryType: MemoryType, sizeBytes: number): DeviceBuffer | undefined {
    try {
      const buffer = DeviceBuffer.create(
        this.options.device,
        { memoryType, sizeBytes, pageSizeBytes: TILE_BYTES },
        { tracker: this.options.tracker },
      );
      this.counters.allocations++;
      return buffer;
    } catch (err) {
      if (!(err instanceof OutOfMemoryError)) throw err;
      this.counters.outOfMemory++;
      return undefined;
    }
  }

  /** Frees an activation, on a worker thread when one is available (frees that cross threads). */
  private release(buffer: DeviceBuffer | undefined): void {
    if (buffer === undefined) return;
    const elsewhere = this.options.releaseElsewhere;
    if (elsewhere === undefined) {
      this.free(buffer);
      return;
    }
    this.counters.frees++;
    elsewhere(buffer);
  }

  private free(buffer: DeviceBuffer | undefined): void {
    if (buffer === undefined) return;
    buffer.deallocate();
    this.counters.frees++;
  }
}
