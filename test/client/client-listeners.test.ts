import assert from "node:assert/strict";
import { test } from "node:test";
import { ClientListeners } from "../../src/client/client-listeners.js";
import { type ClientError, ClientErrorCode, ConnectionFailedError } from "../../src/client/errors.js";
import type { ClientState } from "../../src/client/types.js";

test("listeners: errors are counted whether or not onError is set", () => {
  const silent = new ClientListeners(undefined, undefined);
  silent.report(new ConnectionFailedError("/x.sock", new Error("refused")));
  assert.equal(silent.errors, 1);
  const seen: ClientError[] = [];
  const listening = new ClientListeners((e) => seen.push(e), undefined);
  const error = new ConnectionFailedError("/x.sock", new Error("refused"));
  listening.report(error);
  assert.deepEqual(seen, [error]);
  assert.equal(listening.errors, 1);
});

test("listeners: an onError that throws is swallowed, and the error still counted", () => {
  const listeners = new ClientListeners(() => {
    throw new Error("broken handler");
  }, undefined);
  assert.doesNotThrow(() => listeners.report(new ConnectionFailedError("/x.sock", new Error("refused"))));
  assert.equal(listeners.errors, 1);
});

test("listeners: an onStateChange that throws is reported to onError as CALLBACK_FAILED", () => {
  const seen: ClientError[] = [];
  const states: ClientState[] = [];
  const listeners = new ClientListeners(
    (e) => seen.push(e),
    (state) => {
      states.push(state);
      throw new Error("broken state handler");
    },
  );
  assert.doesNotThrow(() => listeners.stateChanged("ready"));
  assert.deepEqual(states, ["ready"]);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].code, ClientErrorCode.CALLBACK_FAILED);
  assert.match(seen[0].message, /onStateChange.*broken state handler/);
  assert.equal(listeners.errors, 1);
});

test("listeners: a state change without onStateChange reports nothing", () => {
  const seen: ClientError[] = [];
  const listeners = new ClientListeners((e) => seen.push(e), undefined);
  listeners.stateChanged("backoff");
  assert.deepEqual(seen, []);
  assert.equal(listeners.errors, 0);
});
