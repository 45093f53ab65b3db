import { e2eThroughput } from "./e2e/e2e-throughput.js";
import { historyIngest } from "./e2e/history-ingest.js";
import { hostileHealthz } from "./e2e/hostile-healthz.js";
import { ingest } from "./e2e/ingest.js";
import { ingestProcs } from "./e2e/ingest-procs.js";
import { legacyFirehose } from "./e2e/legacy-firehose.js";
import { metricsScrape } from "./e2e/metrics-scrape.js";
import { serverMemory } from "./e2e/server-memory.js";
import { streamCpu } from "./e2e/stream-cpu.js";
import { summaryQuery } from "./e2e/summary-query.js";
import { visibilityLatency } from "./e2e/visibility-latency.js";
import type { Benchmark } from "./harness/benchmark.js";
import { allocatorPairs } from "./micro/allocator-pairs.js";
import { cClient } from "./micro/c-client.js";
import { clientOverhead } from "./micro/client-overhead.js";
import { codecDecode } from "./micro/codec-decode.js";
import { codecEncode } from "./micro/codec-encode.js";
import { hardwareScan } from "./micro/hardware-scan.js";
import { historyWrite } from "./micro/history-write.js";
import { legacyDecode } from "./micro/legacy-decode.js";
import { memoryMap } from "./micro/memory-map.js";
import { pythonClient } from "./micro/python-client.js";
import { registryApply } from "./micro/registry-apply.js";
import { ttShmScan } from "./micro/tt-shm-scan.js";

/** Every benchmark, in the order the table lists them: micro tier first, then end-to-end. */
export const BENCHMARKS: readonly Benchmark[] = [
  allocatorPairs,
  clientOverhead,
  cClient,
  pythonClient,
  codecEncode,
  codecDecode,
  registryApply,
  memoryMap,
  legacyDecode,
  hardwareScan,
  ttShmScan,
  historyWrite,
  ingest,
  ingestProcs,
  historyIngest,
  legacyFirehose,
  e2eThroughput,
  visibilityLatency,
  serverMemory,
  summaryQuery,
  metricsScrape,
  hostileHealthz,
  streamCpu,
];
