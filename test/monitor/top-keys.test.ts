// top's keys as a state machine: q quits from every screen, Esc leaves the drill-down, any key closes
// help, the selection stays on a row, f walks the devices and back to all.
import assert from "node:assert/strict";
import { test } from "node:test";
import { processRows } from "../../src/monitor/top/process-table.js";
import { INITIAL_UI, onKey, type UiState } from "../../src/monitor/top/ui-state.js";
import { fixtureSummary } from "./smi-fixture.js";

const rows = processRows(fixtureSummary, "DRAM", undefined);
const context = { rows, deviceIds: [1, 0] };
const stateOf = (effect: ReturnType<typeof onKey>): UiState => {
  assert.ok("state" in effect);
  return effect.state;
};

test("q and Q quit from the list, the drill-down and help", () => {
  const detail: UiState = { ...INITIAL_UI, mode: "detail", detail: { row: rows[0]!, status: "loading" } };
  for (const state of [INITIAL_UI, detail, { ...INITIAL_UI, mode: "help" as const }]) {
    for (const key of ["q", "Q"]) assert.deepEqual(onKey(state, key, context), { quit: true });
  }
});

test("selection moves within the rows and Enter opens the selected one", () => {
  let state = INITIAL_UI;
  for (const key of ["down", "j", "down", "down", "down"]) state = stateOf(onKey(state, key, context));
  assert.equal(state.selected, rows.length - 1);
  for (const key of ["up", "k", "up", "up"]) state = stateOf(onKey(state, key, context));
  assert.equal(state.selected, 0);
  state = stateOf(onKey(state, "down", context));
  const opened = onKey(state, "enter", context);
  assert.ok("open" in opened);
  assert.equal(opened.open, rows[1]);
  assert.equal(opened.state.mode, "detail");
  assert.equal(opened.state.detail?.status, "loading");
  // Esc, ← and Backspace go back; other keys stay.
  for (const key of ["escape", "left", "backspace"]) {
    const back = stateOf(onKey(opened.state, key, context));
    assert.equal(back.mode, "list");
    assert.equal(back.detail, undefined);
    assert.equal(back.selected, 1);
  }
  assert.equal(stateOf(onKey(opened.state, "s", context)).mode, "detail");
});

test("Enter with no rows does nothing; the selection is clamped when rows disappear", () => {
  assert.deepEqual(onKey(INITIAL_UI, "enter", { rows: [], deviceIds: [] }), { state: INITIAL_UI });
  const far = { ...INITIAL_UI, selected: 9 };
  assert.equal(stateOf(onKey(far, "down", context)).selected, rows.length - 1);
});

test("help opens on ? and any key closes it; s walks the sort keys round", () => {
  const help = stateOf(onKey(INITIAL_UI, "?", context));
  assert.equal(help.mode, "help");
  assert.equal(stateOf(onKey(help, "x", context)).mode, "list");
  let state = INITIAL_UI;
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    state = stateOf(onKey(state, "s", context));
    seen.push(state.sort);
  }
  assert.deepEqual(seen, ["L1", "CB", "TRACE", "pid", "name", "DRAM"]);
});

test("f walks the devices in id order, then back to all, resetting the selection", () => {
  let state: UiState = { ...INITIAL_UI, selected: 2 };
  const seen: (number | undefined)[] = [];
  for (let i = 0; i < 3; i++) {
    state = stateOf(onKey(state, "f", context));
    seen.push(state.device);
    assert.equal(state.selected, 0);
  }
  assert.deepEqual(seen, [0, 1, undefined]);
});
