/**
 * A device: identity, preset, memory layout and its one allocator. A device created with `shared: true`
 * keeps its whole allocator state in one SharedArrayBuffer behind an Atomics mutex; `share()` returns a
 * structured-clonable handle that a worker thread passes to `Device.attach()` to operate on the same
 * device (a block allocated on one thread can be freed on another).
 */
import { Allocator, allocatorStateBytes } from "./allocator/allocator.js";
import { AtomicsMutex, type CriticalSection, NoLock } from "./allocator/lock.js";
import { FitPolicy } from "./allocator/types.js";
import { InvalidDeviceOptionsError, InvalidSharedHandleError } from "./errors.js";
import { type MemoryLayout, memoryLayout } from "./layout.js";
import { OperationScope } from "./operation-scope.js";
import type { DevicePreset } from "./presets.js";

/** Monotonic time source, ns. */
export type Clock = () => number;

export interface DeviceOptions {
  /** Device id, unique within the process (a non-negative integer). */
  id: number;
  /** Display name; default "<preset name>:<id>". */
  name?: string;
  /** Monotonic ns clock; default ms-resolution ns since load (inject a finer monotonic clock from the edge). */
  clock?: Clock;
  /** Keep the allocator state in a SharedArrayBuffer for worker threads (default false). */
  shared?: boolean;
  /** Block slots per region (free + allocated blocks); default 16384. */
  maxBlocksPerRegion?: number;
  /** default first-fit, as tt-metal. */
  policy?: FitPolicy;
}

/** Everything another thread needs to attach to a shared device. Structured-clonable. */
export interface SharedDeviceHandle {
  readonly kind: "allocwatch.shared-device";
  readonly id: number;
  readonly name: string;
  readonly preset: DevicePreset;
  readonly maxBlocksPerRegion: number;
  readonly policy: FitPolicy;
  readonly state: SharedArrayBuffer;
}

export const DEFAULT_MAX_BLOCKS_PER_REGION = 16384;
const CONTROL_LOCK_WORD = 0;

// ns since this module loaded. Only Date (ms resolution) is available to a pure layer; the edge injects a
// finer monotonic clock. Relative, because wall-clock ns (~1.7e18) would not fit the wire's 2^53 limit.
const clockOriginMs = Date.now();
const defaultClock: Clock = () => (Date.now() - clockOriginMs) * 1e6;

function checkOptions(options: DeviceOptions): void {
  const fail = (message: string): never => {
    throw new InvalidDeviceOptionsError(message);
  };
  if (!(Number.isSafeInteger(options.id) && options.id >= 0)) {
    fail(`device id must be a non-negative integer, got ${String(options.id)}`);
  }
  const blocks = options.maxBlocksPerRegion;
  if (blocks !== undefined && !(Number.isSafeInteger(blocks) && blocks >= 1 && blocks <= 1 << 24)) {
    fail(`maxBlocksPerRegion must be an integer in 1..16777216, got ${String(blocks)}`);
  }
  const policy = options.policy;
  if (policy !== undefined && policy !== FitPolicy.FIRST_FIT && policy !== FitPolicy.BEST_FIT) {
    fail(`policy must be "${FitPolicy.FIRST_FIT}" or "${FitPolicy.BEST_FIT}", got ${String(policy)}`);
  }
}

export class Device {
  readonly id: number;
  readonly name: string;
  readonly preset: DevicePreset;
  readonly layout: MemoryLayout;
  readonly allocator: Allocator;
  readonly clock: Clock;
  /** True when the allocator state is in shared memory (share() is available). */
  readonly shared: boolean;
  private readonly state: ArrayBuffer | SharedArrayBuffer;
  private readonly maxBlocksPerRegion: number;
  private subDeviceManagerId = 0;
  /**
   * The operations this thread is inside on the device (innermost last): what its allocations are for.
   * A TrackingProcessor given the device reports `operations.current` as each allocation's context.
   */
  readonly operations = new OperationScope();

  private constructor(
    id: number,
    name: string,
    preset: DevicePreset,
    layout: MemoryLayout,
    state: ArrayBuffer | SharedArrayBuffer,
    maxBlocksPerRegion: number,
    policy: FitPolicy,
    clock: Clock,
    format: boolean,
  ) {
    this.id = id;
    this.name = name;
    this.preset = preset;
    this.layout = layout;
    this.state = state;
    this.maxBlocksPerRegion = maxBlocksPerRegion;
    this.clock = clock;
    this.shared = typeof SharedArrayBuffer !== "undefined" && state instanceof SharedArrayBuffer;
    const lock: CriticalSection = this.shared
      ? new AtomicsMutex(new Int32Array(state, 0, 1), CONTROL_LOCK_WORD)
      : new NoLock();
    this.allocator = new Allocator({
      deviceId: id,
      layout,
      buffer: state,
      capacity: maxBlocksPerRegion,
      policy,
      lock,
      format,
    });
  }

  static create(preset: DevicePreset, options: DeviceOptions): Device {
    checkOptions(options);
    const layout = memoryLayout(preset);
    const capacity = options.maxBlocksPerRegion ?? DEFAULT_MAX_BLOCKS_PER_REGION;
    const bytes = allocatorStateBytes(layout, capacity);
    const state = options.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    return new Device(
      options.id,
      options.name ?? `${preset.name}:${options.id}`,
      preset,
      layout,
      state,
      capacity,
      options.policy ?? FitPolicy.FIRST_FIT,
      options.clock ?? defaultClock,
      true,
    );
  }

  /** A handle for another thread (postMessage it). Throws InvalidDeviceOptionsError unless shared. */
  share(): SharedDeviceHandle {
    if (!this.shared) {
      throw new InvalidDeviceOptionsError(`device ${this.id} is not shared: create it with { shared: true }`);
    }
    return {
      kind: "allocwatch.shared-device",
      id: this.id,
      name: this.name,
      preset: this.preset,
      maxBlocksPerRegion: this.maxBlocksPerRegion,
      policy: this.allocator.policy,
      state: this.state as SharedArrayBuffer,
    };
  }

  /** This thread's view of a shared device; state, sequence numbers and allocation ids are common. */
  static attach(handle: SharedDeviceHandle, options: { clock?: Clock } = {}): Device {
    if (handle?.kind !== "allocwatch.shared-device" || !(handle.state instanceof SharedArrayBuffer)) {
      throw new InvalidSharedHandleError(
        "not a shared device handle: pass the value returned by Device.share()",
      );
    }
    checkOptions({ id: handle.id, maxBlocksPerRegion: handle.maxBlocksPerRegion, policy: handle.policy });
    const layout = memoryLayout(handle.preset);
    const expected = allocatorStateBytes(layout, handle.maxBlocksPerRegion);
    if (handle.state.byteLength !== expected || !Allocator.isFormatted(handle.state)) {
      throw new InvalidSharedHandleError(
        `shared device ${handle.id}: state buffer does not match its preset (${handle.state.byteLength} B, expected ${expected} B)`,
      );
    }
    return new Device(
      handle.id,
      handle.name,
      handle.preset,
      layout,
      handle.state,
      handle.maxBlocksPerRegion,
      handle.policy,
      options.clock ?? defaultClock,
      false,
    );
  }

  /**
   * The active sub-device manager (tt-metal's get_active_sub_device_manager_id): 0 is the default manager.
   * Buffers allocated for a sub-device remember it and refuse to deallocate under another one. Per thread:
   * a shared device's view in each worker keeps its own.
   */
  get activeSubDeviceManagerId(): number {
    return this.subDeviceManagerId;
  }

  /** Make `managerId` the active sub-device manager (tt-metal's load_sub_device_manager). */
  loadSubDeviceManager(managerId: number): void {
    if (!Number.isInteger(managerId) || managerId < 0) {
      throw new InvalidDeviceOptionsError(
        `sub-device manager id must be a non-negative integer, got ${managerId}`,
      );
    }
    this.subDeviceManagerId = managerId;
  }

  /** Back to the default manager (tt-metal's clear_loaded_sub_device_manager). */
  clearLoadedSubDeviceManager(): void {
    this.subDeviceManagerId = 0;
  }

  /**
   * Runs `fn` inside operation `name` (e.g. "ttnn.matmul"): allocations it makes on this device, directly
   * or in nested operations' bodies (the innermost name wins), carry that context. Synchronous bodies;
   * see OperationScope.run.
   */
  withOperation<T>(name: string, fn: () => T): T {
    return this.operations.run(name, fn);
  }

  /** Enters operation `name` until `endOperation()` (for bodies withOperation cannot wrap). */
  beginOperation(name: string): void {
    this.operations.begin(name);
  }

  /** Leaves the innermost operation (`name`, when given, must be it). */
  endOperation(name?: string): void {
    this.operations.end(name);
  }

  /** The innermost operation, "" outside every operation. */
  get currentOperation(): string {
    return this.operations.current;
  }

  /** False once close() was called on any thread sharing the device. */
  isInitialized(): boolean {
    return !this.allocator.closed;
  }

  /** Closes the device for every thread sharing it: later allocations and frees throw DeviceClosedError. */
  close(): void {
    this.allocator.close();
  }
}
