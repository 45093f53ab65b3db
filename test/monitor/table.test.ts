import assert from "node:assert/strict";
import { test } from "node:test";
import { layoutTable, visibleWidth } from "../../src/monitor/table.js";

test("columns take the widest cell, align left or right, two spaces apart, no trailing spaces", () => {
  const lines = layoutTable(
    [
      { header: "N", align: "right" },
      { header: "Name", align: "left" },
      { header: "Note", align: "left" },
    ],
    [
      ["1", "a", ""],
      ["100", "longer name", "x"],
    ],
  );
  assert.deepEqual(lines, ["  N  Name         Note", "  1  a", "100  longer name  x"]);
});

test("colour codes take no width", () => {
  assert.equal(visibleWidth("\x1b[31m[██]\x1b[0m"), 4);
  const lines = layoutTable(
    [
      { header: "Bar", align: "left" },
      { header: "X", align: "right" },
    ],
    [["\x1b[31m[█]\x1b[0m", "1"]],
  );
  assert.equal(visibleWidth(lines[1]!), lines[0]!.length);
});
