// The replay names its anomaly kinds exactly as the server's public API does: a race report and a server's
// anomaly counts must not spell one kind two ways. The compile-time check fails the build on a stray name.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ReplayAnomalyKind } from "../../src/race/replay-anomaly-kind.js";
import type { AnomalyKind } from "../../src/server/api-types.js";

// Every replay kind is a server kind (assignability, checked by tsc).
const replayKinds: AnomalyKind[] = Object.values(ReplayAnomalyKind);

test("every replay anomaly kind is one of the server's, named by its own value", () => {
  assert.deepEqual(ReplayAnomalyKind, {
    UNKNOWN_FREE: "UNKNOWN_FREE",
    DUPLICATE_ALLOCATION: "DUPLICATE_ALLOCATION",
    ADDRESS_OVERLAP: "ADDRESS_OVERLAP",
    FREE_MISMATCH: "FREE_MISMATCH",
    SEQUENCE_GAP: "SEQUENCE_GAP",
    DUPLICATE_SEQ: "DUPLICATE_SEQ",
  });
  for (const [name, value] of Object.entries(ReplayAnomalyKind)) assert.equal(value, name);
  assert.equal(new Set(replayKinds).size, replayKinds.length);
});
