import assert from "node:assert/strict";
import { test } from "node:test";
import { Device } from "../../src/device/device.js";
import { DeviceErrorCode, OperationScopeError } from "../../src/device/errors.js";
import { MAX_OPERATION_DEPTH, OperationScope } from "../../src/device/operation-scope.js";
import { TINY } from "../../src/device/presets.js";

const scopeError = (e: unknown) =>
  e instanceof OperationScopeError && e.code === DeviceErrorCode.OPERATION_SCOPE;

test("the innermost operation is current; withOperation restores the outer one, even when the body throws", () => {
  const device = Device.create(TINY, { id: 0 });
  assert.equal(device.currentOperation, "");
  const seen = device.withOperation("ttnn.conv2d", () => {
    const inner = device.withOperation("ttnn.conv2d.halo", () => device.currentOperation);
    return [inner, device.currentOperation];
  });
  assert.deepEqual(seen, ["ttnn.conv2d.halo", "ttnn.conv2d"]);
  assert.throws(() =>
    device.withOperation("ttnn.matmul", () => {
      throw new Error("kernel failed");
    }),
  );
  assert.equal(device.currentOperation, "");
  device.beginOperation("ttnn.add");
  assert.equal(device.currentOperation, "ttnn.add");
  device.endOperation("ttnn.add");
  assert.equal(device.operations.depth, 0);
});

test("misuse is a typed error and leaves the scope as it was", () => {
  const scope = new OperationScope();
  assert.throws(() => scope.end(), scopeError);
  assert.throws(() => scope.begin(""), scopeError);
  assert.throws(() => scope.begin(42 as unknown as string), scopeError);
  scope.begin("a");
  assert.throws(() => scope.end("b"), scopeError);
  assert.equal(scope.current, "a");
  for (let i = 1; i < MAX_OPERATION_DEPTH; i++) scope.begin(`op${i}`);
  assert.throws(() => scope.begin("one too many"), scopeError);
  assert.equal(scope.depth, MAX_OPERATION_DEPTH);
});
