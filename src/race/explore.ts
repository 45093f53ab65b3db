/**
 * Explore many schedules of one strategy under one condition with a seeded scheduler (no test framework
 * needed: `allocwatch race` runs this): random programs, and at every scheduling point a random choice of
 * which waiting task goes on. A cell is clean when no explored schedule fails; otherwise the first failing
 * schedule is the counterexample.
 */
import type { RaceCondition } from "./condition.js";
import { judge } from "./judge.js";
import { SeededRandom } from "./random.js";
import { type ModelProgram, type ModelScheduler, randomProgram, runModel } from "./schedule-model.js";
import type { Strategy } from "./strategy.js";

export interface Exploration {
  schedules: number;
  /** Schedules whose reports the server could not apply exactly. */
  failing: number;
  /** The first failing schedule: its number (1-based), program, and what the server saw. */
  counterexample?: { schedule: number; program: ModelProgram; anomaly: string };
  /**
   * Share of the strategy's lock steps, over all schedules, that found the lock held by another task
   * (0..1; 0 without a lock): the work its lock serialises when tasks run at once, on any machine.
   */
  lockWaitShare: number;
}

/**
 * Chooses which waiting point goes next by priority, the way PCT (probabilistic concurrency testing) does:
 * each actor (a task, a connection, the drainer: the label's first word or "deliver tN") gets a random
 * priority and the highest waiting one runs; now and then one actor's priority is drawn again. Long
 * delays of one actor, which uniform choices almost never produce, come often this way, and those are
 * what reorder reports.
 */
export class SeededScheduler implements ModelScheduler {
  private readonly waiting: { actor: string; resolve: () => void }[] = [];
  private readonly priorities = new Map<string, number>();

  constructor(private readonly rng: SeededRandom) {}

  point(label: string): Promise<void> {
    const actor = label.startsWith("deliver") ? label : label.split(" ")[0]!;
    return new Promise((resolve) => this.waiting.push({ actor, resolve }));
  }

  private priorityOf(actor: string): number {
    let p = this.priorities.get(actor);
    if (p === undefined) {
      p = this.rng.next();
      this.priorities.set(actor, p);
    }
    return p;
  }

  /** Drive `work` to completion, choosing which waiting point goes next. */
  async drive<T>(work: Promise<T>): Promise<T> {
    let finished = false;
    let failure: unknown;
    let result: T | undefined;
    work.then(
      (value) => {
        finished = true;
        result = value;
      },
      (error: unknown) => {
        finished = true;
        failure = error ?? new Error("model run failed");
      },
    );
    for (;;) {
      // Let the chosen task run on to its next point. A few microtask turns settle nearly every step; a
      // macrotask turn, slower, settles the rest (any order of resolution is a schedule the model allows).
      for (let turn = 0; turn < 16 && !finished; turn++) await Promise.resolve();
      if (this.waiting.length === 0 && !finished) await new Promise<void>((resolve) => setImmediate(resolve));
      if (finished) break;
      if (this.waiting.length === 0) throw new Error("model run is stuck: no task can go on");
      if (this.rng.next() < 0.1) {
        const w = this.waiting[this.rng.int(this.waiting.length)]!;
        this.priorities.set(w.actor, this.rng.next());
      }
      let best = 0;
      for (let i = 1; i < this.waiting.length; i++) {
        if (this.priorityOf(this.waiting[i]!.actor) > this.priorityOf(this.waiting[best]!.actor)) best = i;
      }
      const chosen = this.waiting[best]!;
      this.waiting.splice(best, 1);
      chosen.resolve();
    }
    if (failure !== undefined) throw failure;
    return result as T;
  }
}

export async function explore(
  strategy: Strategy,
  condition: RaceCondition,
  options: { schedules: number; seed: number },
): Promise<Exploration> {
  const rng = new SeededRandom(options.seed);
  const out: Exploration = { schedules: options.schedules, failing: 0, lockWaitShare: 0 };
  let lockSteps = 0;
  let lockWaits = 0;
  for (let i = 1; i <= options.schedules; i++) {
    const program = randomProgram(rng);
    const scheduler = new SeededScheduler(rng);
    const outcome = await scheduler.drive(runModel(strategy, condition, program, scheduler));
    lockSteps += outcome.lockSteps;
    lockWaits += outcome.lockWaits;
    const verdict = judge(strategy, outcome.arrived, outcome.snapshots);
    if (verdict.failures === 0) continue;
    out.failing++;
    if (out.counterexample === undefined) {
      const first = verdict.samples[0];
      out.counterexample = {
        schedule: i,
        program,
        anomaly:
          first === undefined
            ? "the server's live set differs from the allocator's"
            : `${first.kind}: ${first.detail}`,
      };
    }
  }
  out.lockWaitShare = lockSteps === 0 ? 0 : Math.round((10000 * lockWaits) / lockSteps) / 10000;
  return out;
}
