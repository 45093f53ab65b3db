/**
 * The allocator's critical section. A device decides at construction which one it needs: a device used by
 * one thread pays nothing; a shared device uses a mutex word in its SharedArrayBuffer.
 */
export interface CriticalSection {
  enter(): void;
  leave(): void;
}

/** For a device only one thread can reach: JavaScript runs the critical section to completion anyway. */
export class NoLock implements CriticalSection {
  enter(): void {}
  leave(): void {}
}

const UNLOCKED = 0;
const LOCKED = 1;
const CONTENDED = 2;
/** Spins before sleeping: critical sections last well under a microsecond. */
const SPINS = 64;

/**
 * A futex-style mutex over one Int32 of shared memory (0 unlocked, 1 locked, 2 locked with waiters).
 * Atomics operations order the plain typed-array reads and writes made inside the critical section,
 * so the next holder on any thread sees them.
 */
export class AtomicsMutex implements CriticalSection {
  constructor(
    private readonly words: Int32Array,
    private readonly index: number,
  ) {}

  enter(): void {
    const w = this.words;
    const i = this.index;
    if (Atomics.compareExchange(w, i, UNLOCKED, LOCKED) === UNLOCKED) return;
    for (let spin = 0; spin < SPINS; spin++) {
      if (Atomics.load(w, i) === UNLOCKED && Atomics.compareExchange(w, i, UNLOCKED, LOCKED) === UNLOCKED) {
        return;
      }
    }
    // Announce a waiter, then sleep until the holder's leave() notifies us.
    while (Atomics.exchange(w, i, CONTENDED) !== UNLOCKED) {
      Atomics.wait(w, i, CONTENDED);
    }
  }

  leave(): void {
    const w = this.words;
    const i = this.index;
    if (Atomics.sub(w, i, 1) !== LOCKED) {
      Atomics.store(w, i, UNLOCKED);
      Atomics.notify(w, i, 1);
    }
  }
}
