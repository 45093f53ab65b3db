// The addon's descriptor copy (native/peercred, wrapped by descriptor-dup.ts), which ingest shards use
// to move a connection to a worker thread: a copy is a working descriptor of its own; a bad descriptor
// is a coded error; where copies are impossible the wrapper says why and throws a typed error.
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  DESCRIPTOR_DUPLICATION_UNAVAILABLE,
  DescriptorDuplicationUnavailableError,
  kernelDescriptorDuplication,
  noDescriptorDuplication,
} from "../../src/server/descriptor-dup.js";
import { PEER_CREDENTIALS_ENV } from "../../src/server/peer-credentials.js";

const duplication = kernelDescriptorDuplication();
const needsAddon = duplication.available ? {} : { skip: `addon not built: ${duplication.unavailableReason}` };

test("a copy reads the same open file, and outlives the original", needsAddon, () => {
  const dir = mkdtempSync(join(tmpdir(), "allocwatch-dup-"));
  try {
    const path = join(dir, "f");
    writeFileSync(path, "abcdef");
    const fd = openSync(path, "r");
    const copy = duplication.dup(fd);
    assert.notEqual(copy, fd);
    const first = Buffer.alloc(3);
    readSync(fd, first, 0, 3, null);
    closeSync(fd);
    // Same open file description: the offset moved by reading the original is the copy's too.
    const rest = Buffer.alloc(3);
    assert.equal(readSync(copy, rest, 0, 3, null), 3);
    assert.equal(`${first}${rest}`, "abcdef");
    closeSync(copy);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  "a descriptor that is not open throws ERR_PEERCRED_DUPFD; a negative one ERR_PEERCRED_ARGUMENT",
  needsAddon,
  () => {
    const dir = mkdtempSync(join(tmpdir(), "allocwatch-dup-"));
    try {
      const closed = openSync(join(dir, "g"), "w");
      closeSync(closed);
      assert.throws(
        () => duplication.dup(closed),
        (error: unknown) =>
          (error as NodeJS.ErrnoException).code === "ERR_PEERCRED_DUPFD" &&
          /bad file descriptor/i.test(String(error)),
      );
      assert.throws(
        () => duplication.dup(-1),
        (error: unknown) => (error as NodeJS.ErrnoException).code === "ERR_PEERCRED_ARGUMENT",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("turned off, or without the addon: unavailable with its reason, and dup throws a typed error", () => {
  const off = kernelDescriptorDuplication({ [PEER_CREDENTIALS_ENV]: "off" });
  assert.equal(off.available, false);
  assert.match(off.unavailableReason!, /ALLOCWATCH_PEER_CREDENTIALS=off/);
  for (const source of [off, noDescriptorDuplication("no addon here")]) {
    assert.throws(
      () => source.dup(0),
      (error: unknown) =>
        error instanceof DescriptorDuplicationUnavailableError &&
        error.code === DESCRIPTOR_DUPLICATION_UNAVAILABLE,
    );
  }
});
