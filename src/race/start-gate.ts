/**
 * A one-shot barrier in shared memory: every worker waits until all have attached, so the threads really
 * run the workload at the same time (worker start-up takes longer than a small workload).
 */
export class StartGate {
  private readonly word: Int32Array;

  constructor(
    readonly memory: SharedArrayBuffer,
    private readonly parties: number,
  ) {
    this.word = new Int32Array(memory, 0, 1);
  }

  static create(parties: number): StartGate {
    return new StartGate(new SharedArrayBuffer(4), parties);
  }

  /** Arrive, then block until every party has arrived (or `timeoutMs` passed). */
  arriveAndWait(timeoutMs = 30_000): void {
    const deadline = Date.now() + timeoutMs;
    Atomics.add(this.word, 0, 1);
    Atomics.notify(this.word, 0);
    for (;;) {
      const arrived = Atomics.load(this.word, 0);
      if (arrived >= this.parties) return;
      const left = deadline - Date.now();
      if (left <= 0) return;
      Atomics.wait(this.word, 0, arrived, left);
    }
  }
}
