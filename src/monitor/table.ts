import { columns } from "./terminal-text.js";

export type Align = "left" | "right";

export interface Column {
  header: string;
  align: Align;
}

// SGR colour sequences take no room on screen; widths must ignore them.
const SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/** Width of a cell on the terminal: its columns (wide CJK characters count two), colour codes none. */
export function visibleWidth(text: string): number {
  return columns(text.replace(SGR, ""));
}

function pad(text: string, width: number, align: Align): string {
  const fill = " ".repeat(Math.max(0, width - visibleWidth(text)));
  return align === "left" ? text + fill : fill + text;
}

/**
 * Lays rows out under their headers: each column as wide as its widest cell, separated by two spaces,
 * left- or right-aligned per column, no trailing spaces. Returns the lines (header first).
 */
export function layoutTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string[] {
  const widths = columns.map((column, i) =>
    rows.reduce((max, row) => Math.max(max, visibleWidth(row[i] ?? "")), visibleWidth(column.header)),
  );
  const line = (cells: readonly string[]): string =>
    columns
      .map((column, i) => pad(cells[i] ?? "", widths[i]!, column.align))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)];
}
