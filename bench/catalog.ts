import { ingest } from "./e2e/ingest.js";
import type { Benchmark } from "./harness/benchmark.js";
import { codecDecode } from "./micro/codec-decode.js";
import { codecEncode } from "./micro/codec-encode.js";

/** Every benchmark, in the order the table lists them: micro tier first, then end-to-end. */
export const BENCHMARKS: readonly Benchmark[] = [codecEncode, codecDecode, ingest];
