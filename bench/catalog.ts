import type { Benchmark } from "./harness/benchmark.js";

/** Every benchmark, in the order the table lists them: micro tier first, then end-to-end. */
export const BENCHMARKS: readonly Benchmark[] = [];
