import assert from "node:assert/strict";
import test from "node:test";
import { MemoryType as DeviceMemoryType, MEMORY_TYPES } from "../../src/device/memory-type.js";
import {
  isMemoryType,
  MEMORY_TYPE_COUNT,
  MEMORY_TYPE_NAMES,
  memoryTypeName,
  MemoryType as WireMemoryType,
} from "../../src/protocol/memory-type.js";

// The device model and the wire protocol keep separate code tables (neither layer imports the other);
// this test keeps them identical.

test("protocol and device memory types have the same names and numbers", () => {
  assert.deepEqual({ ...WireMemoryType }, { ...DeviceMemoryType });
  assert.equal(MEMORY_TYPES.length, MEMORY_TYPE_COUNT);
});

test("the wire table is dense 0..MEMORY_TYPE_COUNT-1 and its names index match", () => {
  const values = Object.values(WireMemoryType).sort((a, b) => a - b);
  assert.deepEqual(
    values,
    Array.from({ length: MEMORY_TYPE_COUNT }, (_, i) => i),
  );
  for (const [name, value] of Object.entries(WireMemoryType)) {
    assert.equal(MEMORY_TYPE_NAMES[value], name);
    assert.equal(memoryTypeName(value), name);
    assert.ok(isMemoryType(value));
  }
  assert.equal(isMemoryType(MEMORY_TYPE_COUNT), false);
  assert.equal(isMemoryType(-1), false);
  assert.equal(isMemoryType(1.5), false);
});
