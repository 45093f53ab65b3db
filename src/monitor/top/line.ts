// A screen line of top as plain data: segments of text, each with its style. The screen is built from
// these by pure functions (tested without a terminal); the Ink app only draws them.

import { columns, takeColumns } from "../terminal-text.js";

export type Colour = "green" | "yellow" | "red" | "cyan" | "gray" | "magenta";

export interface Segment {
  text: string;
  color?: Colour;
  bold?: boolean;
  inverse?: boolean;
}

export type Line = Segment[];

export function seg(text: string, style: Omit<Segment, "text"> = {}): Segment {
  return { text, ...style };
}

export function lineText(line: Line): string {
  return line.map((s) => s.text).join("");
}

/** The line cut to `width` columns (segments past it dropped, the last one cut): never wraps. */
export function clip(line: Line, width: number): Line {
  const out: Line = [];
  let left = width;
  for (const segment of line) {
    if (left <= 0) break;
    const segmentColumns = columns(segment.text);
    if (segmentColumns <= left) {
      out.push(segment);
      left -= segmentColumns;
    } else {
      out.push({ ...segment, text: takeColumns(segment.text, left) });
      left = 0;
    }
  }
  return out;
}

/** Drops colours (NO_COLOR); bold and inverse stay, they are not colour. */
export function withoutColour(line: Line): Line {
  return line.map(({ color: _colour, ...rest }) => rest);
}

/** Whole percent → its colour: green, yellow from 75%, red from 90% (and over capacity). */
export function usageColour(percent: number, over: boolean): Colour {
  if (over || percent >= 90) return "red";
  if (percent >= 75) return "yellow";
  return "green";
}
