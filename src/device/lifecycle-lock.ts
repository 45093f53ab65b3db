import type { CriticalSection } from "./allocator/lock.js";

/**
 * A per-device lock around a buffer's lifecycle step: taken before the allocator is asked for an address
 * and released after the ALLOC is tracked; taken before the memory is released and held until the FREE is
 * tracked.
 *
 * Why it is no longer what makes tracking correct: every change already carries the sequence number its
 * allocator took inside its own critical section, and the identity is the allocation id. Whoever applies
 * the changes (a processor, the server) orders them by number, so reports may travel over any number of
 * threads, queues and connections and still be applied in the allocator's order. A lock held while
 * reporting could not give that: it orders the calls that *send* reports, never their arrival on
 * different connections.
 *
 * What it still gives in-process observers: because the lock is taken *before* the address is chosen
 * (unlike the seed's Option 3, which takes it after `allocate_buffer` returned and leaves the window
 * open), the lifecycle steps of one device are tracked in the same order the allocator performed them.
 * A synchronous processor therefore sees each change at once (nothing waits in the reorder stage), and an
 * observer that only knows addresses (a legacy tt-metal frame writer, a debug log) sees the FREE of an
 * address before anyone can allocate it again and the ALLOC before anyone can free it — as long as it
 * writes synchronously to one FIFO sink. In one JavaScript realm a synchronous lifecycle step cannot be
 * interleaved anyway, so the default lock only counts nesting; across worker threads sharing a device,
 * inject a lock that lives in shared memory, e.g. `() => new AtomicsMutex(word, 0)` over an Int32Array of a
 * SharedArrayBuffer every thread was given (see `GraphTrackerOptions.lifecycleLock`). Such a lock is not
 * re-entrant: a processor must not allocate or free buffers of the same device.
 *
 * It is the allocator's CriticalSection shape (enter / leave), so the allocator's locks plug in.
 */
export type LifecycleLock = CriticalSection;

/** In-realm lock: a synchronous step cannot be interleaved in one realm, so it only counts nesting. */
export class RealmLifecycleLock implements LifecycleLock {
  private depth = 0;
  enter(): void {
    this.depth++;
  }
  leave(): void {
    if (this.depth > 0) this.depth--;
  }
}

/** The lifecycle lock of each device, made by the factory on a device's first step. */
export class LifecycleLocks {
  private readonly locks = new Map<number, LifecycleLock>();
  /** The device of the latest lookup and its lock: most workloads step one device at a time. */
  private recentDeviceId = Number.NaN;
  private recentLock: LifecycleLock | undefined;

  constructor(
    private readonly factory: (deviceId: number) => LifecycleLock = () => new RealmLifecycleLock(),
  ) {}

  /** The lock of a device (the same instance on every call). */
  of(deviceId: number): LifecycleLock {
    if (deviceId === this.recentDeviceId) return this.recentLock!;
    let lock = this.locks.get(deviceId);
    if (lock === undefined) {
      lock = this.factory(deviceId);
      this.locks.set(deviceId, lock);
    }
    this.recentDeviceId = deviceId;
    this.recentLock = lock;
    return lock;
  }
}
