import { Box, type Key, Text, useApp, useInput, useStdout } from "ink";
import {
  createElement as h,
  type ReactElement,
  useCallback,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from "react";
import { DETAIL_LIMIT } from "./detail-view.js";
import type { Line } from "./line.js";
import type { TopSource } from "./live-feed.js";
import { type ProcessRow, processRows } from "./process-table.js";
import { topScreen } from "./screen.js";
import { INITIAL_UI, type KeyName, onKey, type UiState } from "./ui-state.js";

export interface TopAppProps {
  source: TopSource;
  serverUrl: string;
  /** Colours on (NO_COLOR unset and a terminal). */
  color: boolean;
  /** A fixed size (tests); by default the terminal's, following resizes. */
  columns?: number;
  rows?: number;
  /** The clock the chart is drawn for. */
  now?: () => number;
  /** Redraw period even when nothing arrives, so the chart moves on: ms, default 1000. */
  tickMs?: number;
}

/** Ink's key report → top's key name. */
export function keyName(input: string, key: Key): KeyName {
  if (key.upArrow) return "up";
  if (key.downArrow) return "down";
  if (key.leftArrow) return "left";
  if (key.return) return "enter";
  if (key.escape) return "escape";
  if (key.backspace || key.delete) return "backspace";
  return input;
}

/** `allocwatch top`: the live screen. All it shows is `topScreen`'s lines; here are keys and timing. */
export function TopApp(props: TopAppProps): ReactElement {
  const { source, tickMs = 1000 } = props;
  const now = props.now ?? Date.now;
  const snapshot = useSyncExternalStore(
    useCallback((listener: () => void) => source.subscribe(listener), [source]),
    () => source.snapshot(),
  );
  const [ui, setUiState] = useState<UiState>(INITIAL_UI);
  // Keys typed together (a paste, "↓ Enter" in one read) arrive before a redraw: each must see the
  // state the previous one left, not the last drawn one.
  const uiNow = useRef<UiState>(INITIAL_UI);
  const setUi = useCallback((next: UiState | ((current: UiState) => UiState)) => {
    uiNow.current = typeof next === "function" ? next(uiNow.current) : next;
    setUiState(uiNow.current);
  }, []);
  const [, setTick] = useState(0);
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => ({
    columns: props.columns ?? (stdout.columns || 80),
    rows: props.rows ?? (stdout.rows || 24),
  }));

  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), tickMs);
    return () => clearInterval(timer);
  }, [tickMs]);

  useEffect(() => {
    if (props.columns !== undefined && props.rows !== undefined) return;
    const onResize = () => setSize({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout, props.columns, props.rows]);

  const openDetail = (row: ProcessRow) => {
    if (row.source === "tt-shm" || row.deviceId < 0) return;
    const settle = (change: Partial<NonNullable<UiState["detail"]>>) =>
      setUi((current) =>
        current.mode === "detail" && current.detail?.row === row
          ? { ...current, detail: { ...current.detail, ...change } }
          : current,
      );
    Promise.all([
      source.allocations(row.deviceId, row.sessionId, "size", DETAIL_LIMIT),
      source.allocations(row.deviceId, row.sessionId, "age", DETAIL_LIMIT),
    ]).then(
      ([largest, oldest]) =>
        settle({
          status: "ready",
          largest: largest.allocations,
          oldest: oldest.allocations,
          total: largest.total,
        }),
      (err: unknown) => settle({ status: "error", error: err instanceof Error ? err.message : String(err) }),
    );
  };

  useInput((input, key) => {
    const name = keyName(input, key);
    // Several characters in one read (typed fast, pasted): each is a key of its own.
    const keys = name === input && input.length > 1 ? [...input] : [name];
    for (const k of keys) {
      const summary = snapshot.summary;
      const current = uiNow.current;
      const rows = summary ? processRows(summary, current.sort, current.device) : [];
      const effect = onKey(current, k, { rows, deviceIds: summary?.devices.map((d) => d.id) ?? [] });
      if ("quit" in effect) {
        exit();
        return;
      }
      setUi(effect.state);
      if ("open" in effect) openDetail(effect.open);
    }
  });

  const lines = topScreen({
    snapshot,
    ui,
    columns: size.columns,
    rows: size.rows,
    nowMs: now(),
    serverUrl: props.serverUrl,
    color: props.color,
  });
  return h(
    Box,
    { flexDirection: "column" },
    lines.map((line, i) => h(Text, { key: i, wrap: "truncate-end" }, ...segments(line))),
  );
}

function segments(line: Line) {
  if (line.length === 0) return [" "];
  return line.map((s, j) =>
    h(Text, { key: j, color: s.color, bold: s.bold === true, inverse: s.inverse === true }, s.text),
  );
}
