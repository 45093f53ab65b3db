import type { Detail } from "./detail-view.js";
import { type ProcessRow, SORT_KEYS, type SortKey } from "./process-table.js";

/** What the user has chosen on the screen. */
export interface UiState {
  mode: "list" | "detail" | "help";
  sort: SortKey;
  /** Index of the selected process row. */
  selected: number;
  /** Show this device only (`f`); undefined: all. */
  device: number | undefined;
  detail?: Detail;
}

export const INITIAL_UI: UiState = { mode: "list", sort: "DRAM", selected: 0, device: undefined };

/** Keys top knows, by name ("up", "enter", "escape", or the character typed). */
export type KeyName = string;

/** What a key press asks for: a new state, to quit, or to open the drill-down on a row. */
export type KeyEffect = { state: UiState } | { quit: true } | { state: UiState; open: ProcessRow };

/**
 * The reaction to one key. List: ↑/↓ (k/j) select, s next sort, f next device, Enter details, ? help.
 * Details: Esc (or ←, Backspace) back. Help: any key closes it. Everywhere: q quits.
 */
export function onKey(
  state: UiState,
  key: KeyName,
  context: { rows: readonly ProcessRow[]; deviceIds: readonly number[] },
): KeyEffect {
  if (key === "q" || key === "Q") return { quit: true };
  if (state.mode === "help") return { state: { ...state, mode: "list" } };
  if (state.mode === "detail") {
    if (key === "escape" || key === "left" || key === "backspace") {
      return { state: { ...state, mode: "list", detail: undefined } };
    }
    if (key === "?") return { state: { ...state, mode: "help", detail: undefined } };
    return { state };
  }
  const last = Math.max(0, context.rows.length - 1);
  const selected = Math.min(state.selected, last);
  switch (key) {
    case "up":
    case "k":
      return { state: { ...state, selected: Math.max(0, selected - 1) } };
    case "down":
    case "j":
      return { state: { ...state, selected: Math.min(last, selected + 1) } };
    case "s":
      return {
        state: { ...state, sort: SORT_KEYS[(SORT_KEYS.indexOf(state.sort) + 1) % SORT_KEYS.length]! },
      };
    case "f": {
      const ids = [...context.deviceIds].sort((a, b) => a - b);
      const at = state.device === undefined ? -1 : ids.indexOf(state.device);
      const device = at + 1 < ids.length ? ids[at + 1] : undefined;
      return { state: { ...state, device, selected: 0 } };
    }
    case "?":
      return { state: { ...state, mode: "help" } };
    case "enter": {
      const row = context.rows[selected];
      if (row === undefined) return { state };
      return {
        state: { ...state, selected, mode: "detail", detail: { row, status: "loading" } },
        open: row,
      };
    }
    default:
      return { state };
  }
}
