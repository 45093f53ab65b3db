// IngestLimits for tests that build shards by hand: the server's defaults.
import type { IngestLimits } from "../../../src/server/ingest.js";
import { resolveServerOptions } from "../../../src/server/options.js";
import { ingestLimitsOf } from "../../../src/server/shards/shard-limits.js";

export const TEST_INGEST_LIMITS: IngestLimits = ingestLimitsOf(
  resolveServerOptions({ socketPath: "/tmp/unused.sock" }),
);
