// The one stop mechanism of the CLI (src/cli/stop-requests.ts) against a fake process: every way a
// command can be asked to end, including the ones a real process test cannot provoke (an exception
// nothing caught, a second one while stopping).
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { type CommandProcess, type StopCause, StopRequests } from "../../src/cli/stop-requests.js";

class FakeProcess extends EventEmitter {
  readonly stdout = new EventEmitter();
  readonly stderr = Object.assign(new EventEmitter(), {
    written: [] as string[],
    write(text: string) {
      this.written.push(text);
      return true;
    },
  });
  exitCode: number | undefined;
  exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
}

function setUp(): { host: FakeProcess; stops: StopRequests } {
  const host = new FakeProcess();
  const stops = new StopRequests(host as unknown as CommandProcess);
  stops.watchOutput();
  return { host, stops };
}

const epipe = () => Object.assign(new Error("write EPIPE"), { code: "EPIPE" });

test("a listening command is stopped once, by the first of SIGINT, SIGTERM, SIGHUP, EPIPE", () => {
  for (const first of ["SIGINT", "SIGTERM", "SIGHUP", "EPIPE"] as const) {
    const { host, stops } = setUp();
    const causes: StopCause[] = [];
    const stopListening = stops.listen((cause) => causes.push(cause));
    if (first === "EPIPE") host.stdout.emit("error", epipe());
    else host.emit(first, first);
    host.emit("SIGINT", "SIGINT"); // a second Ctrl+C while stopping is absorbed
    host.stderr.emit("error", epipe());
    assert.deepEqual(causes, [first]);
    assert.equal(stops.cause, first);
    assert.deepEqual(host.exits, [], "the command ends itself, in order");
    if (first === "EPIPE") assert.equal(host.exitCode, 0);
    stopListening();
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) assert.equal(host.listenerCount(signal), 0);
    assert.equal(host.listenerCount("uncaughtException"), 0);
  }
});

test("without a listening command, a closed output ends the process at once with exit code 0", () => {
  const { host } = setUp();
  host.stdout.emit("error", epipe());
  assert.deepEqual(host.exits, [0]);
  assert.equal(host.listenerCount("SIGINT"), 0, "signals keep their default action");
});

test("an output error other than EPIPE is not hidden", () => {
  const { host } = setUp();
  assert.throws(
    () => host.stdout.emit("error", Object.assign(new Error("write EIO"), { code: "EIO" })),
    /EIO/,
  );
  assert.deepEqual(host.exits, []);
});

test("an uncaught exception stops the command in order with exit code 1; a second one ends it at once", () => {
  const { host, stops } = setUp();
  const causes: StopCause[] = [];
  stops.listen((cause) => causes.push(cause));
  host.emit("uncaughtException", new Error("boom in a socket handler"));
  assert.deepEqual(causes, ["ERROR"]);
  assert.equal(host.exitCode, 1);
  assert.match(host.stderr.written.join(""), /internal error, stopping: Error: boom in a socket handler/);
  assert.deepEqual(host.exits, []);
  host.stdout.emit("error", epipe());
  assert.equal(host.exitCode, 1, "a closed output after a failure does not turn it into success");
  host.emit("uncaughtException", new Error("boom while stopping"));
  assert.deepEqual(host.exits, [1]);
});

test("an exception while stopping for another cause ends the process at once, with exit code 1", () => {
  const { host, stops } = setUp();
  stops.listen(() => {});
  host.emit("SIGTERM", "SIGTERM");
  host.emit("uncaughtException", new Error("boom while stopping"));
  assert.deepEqual(host.exits, [1]);
  assert.equal(host.exitCode, 1);
});
