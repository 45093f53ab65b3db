/**
 * The five ways of reporting a buffer's lifecycle that `allocwatch race` compares: the original order, the
 * seed's three fixes exactly as it sketched them, and allocwatch's ordering at the source. Each strategy is
 * the list of steps an allocation, a free and a view take, in order; they differ only where the seed's
 * sketches differ (where the lock is taken, when the report is made, what it carries). The same lists drive
 * the worker-thread workload (workload.ts) and the schedule model (schedule-model.ts).
 */

export const STRATEGY_NAMES = ["naive", "option1", "option2", "option3", "ordered"] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export type Step =
  /** Take the strategy's lock (`Strategy.lock`: the global one, or the buffer's device's). */
  | "lock"
  | "unlock"
  /** Ask the allocator for an address; only the allocator's own lock is held while it chooses. */
  | "allocate"
  /** Allocate and report the ALLOC inside the allocator's critical section (the seed's Option 1). */
  | "allocate-reporting"
  /**
   * From here other threads can reach the buffer: under --cross-thread-frees a handed-over buffer is offered
   * now, as soon as it has an address (before its ALLOC is reported, in every strategy that reports later).
   */
  | "publish"
  /** The work between a change and its report (debug logging, Python, a busy channel): the race window. */
  | "window"
  /** Send the report of this step's change on the condition's channel. */
  | "report"
  /** Give the address back to the allocator. */
  | "release"
  /** Release and report the FREE inside the allocator's critical section (the seed's Option 1). */
  | "release-reporting";

export interface Strategy {
  name: StrategyName;
  /** One line for --help and the docs. */
  summary: string;
  /**
   * How the server identifies buffers: "address" is the original server (reports by (device, address),
   * applied in arrival order, a repeated ALLOC raises a reference count); "sequence" is allocwatch's (reports
   * carry the allocator's sequence number and allocation id, applied in sequence order per device).
   */
  server: "address" | "sequence";
  /** What "lock" takes: nothing, one mutex for the whole process, or the buffer's device's mutex. */
  lock: "none" | "global" | "device";
  allocate: readonly Step[];
  free: readonly Step[];
  /**
   * A view: a second Buffer object at a live address (tt-metal's mesh buffers and kernel-binary views) that
   * owns no memory. Its creation and its drop are reported like any buffer's by strategies that track Buffer
   * objects; strategies that only report the allocator's own changes do its work ("window") and report
   * nothing (a view changes nothing in the allocator).
   */
  viewCreate: readonly Step[];
  viewDrop: readonly Step[];
}

/** The original tt-metal order, as the seed's timeline shows it: each report after its change, no lock. */
const naive: Strategy = {
  name: "naive",
  summary:
    "the original: ALLOC reported after the allocator's lock is dropped, FREE after the address went back",
  server: "address",
  lock: "none",
  allocate: ["allocate", "publish", "window", "report"],
  free: ["release", "window", "report"],
  viewCreate: ["window", "report"],
  viewDrop: ["window", "report"],
};

/** Option 1: track inside the allocator's mutex. The allocator then only knows allocations, not views. */
const option1: Strategy = {
  name: "option1",
  summary: "the seed's Option 1: each report made inside the allocator's critical section",
  server: "address",
  lock: "none",
  allocate: ["allocate-reporting", "publish", "window"],
  free: ["window", "release-reporting"],
  viewCreate: ["window"],
  viewDrop: ["window"],
};

/** Option 2: one process-wide lifecycle mutex held across allocate+track and track+deallocate. */
const option2: Strategy = {
  name: "option2",
  summary:
    "the seed's Option 2: one global mutex held from before allocate to after the ALLOC report, " +
    "and from before the FREE report to after the release",
  server: "address",
  lock: "global",
  allocate: ["lock", "allocate", "publish", "window", "report", "unlock"],
  free: ["lock", "window", "report", "release", "unlock"],
  viewCreate: ["lock", "window", "report", "unlock"],
  viewDrop: ["lock", "window", "report", "unlock"],
};

/**
 * Option 3, exactly as sketched: the address is allocated *before* the per-device mutex is taken, and the
 * address is released *after* it is dropped; the mutex covers the logging and the report only.
 */
const option3: Strategy = {
  name: "option3",
  summary:
    "the seed's Option 3 (recommended there): allocate, then a per-device mutex around the ALLOC " +
    "report; the FREE reported under it, the address released after it is dropped",
  server: "address",
  lock: "device",
  allocate: ["allocate", "publish", "lock", "window", "report", "unlock"],
  free: ["lock", "window", "report", "unlock", "release"],
  viewCreate: ["lock", "window", "report", "unlock"],
  viewDrop: ["lock", "window", "report", "unlock"],
};

/**
 * allocwatch: the allocator takes a sequence number inside the critical section that makes the change and
 * the report carries it with the allocation id; no lock, reports leave whenever. A view changes nothing in
 * the allocator, so nothing is reported for it (it shares its owner's allocation).
 */
const ordered: Strategy = {
  name: "ordered",
  summary:
    "allocwatch: each change numbered inside the allocator's critical section, reported with its " +
    "number and allocation id whenever, applied in number order by the server",
  server: "sequence",
  lock: "none",
  allocate: ["allocate", "publish", "window", "report"],
  free: ["release", "window", "report"],
  viewCreate: ["window"],
  viewDrop: ["window"],
};

export const STRATEGIES: Readonly<Record<StrategyName, Strategy>> = {
  naive,
  option1,
  option2,
  option3,
  ordered,
};

/**
 * The same lifecycle with tracking off: no lock, no report, the allocator's own steps and the window's work
 * kept: the baseline a strategy's throughput is measured against. The window is the runtime's own work
 * (logging and the like), done with tracking on or off, so the baseline is the same for every strategy.
 */
export function untracked(steps: readonly Step[]): Step[] {
  const out: Step[] = [];
  for (const step of steps) {
    if (step === "lock" || step === "unlock" || step === "report") continue;
    if (step === "allocate-reporting") out.push("allocate");
    else if (step === "release-reporting") out.push("release");
    else out.push(step);
  }
  return out;
}
