import { setTimeout as sleep } from "node:timers/promises";

export interface ScreenOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface WatchOptions {
  /** Time between the end of one frame and the start of the next, ms. */
  intervalMs: number;
  out: ScreenOutput;
  /** Aborting ends the loop after the current frame (Ctrl+C). */
  signal: AbortSignal;
}

const HOME = "\x1b[H";
const CLEAR_SCREEN = "\x1b[2J";
const CLEAR_TO_LINE_END = "\x1b[K";
const CLEAR_TO_SCREEN_END = "\x1b[J";
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";

/**
 * Shows `frame()` every `intervalMs` until aborted. On a terminal each frame is redrawn in place
 * (cursor home, overwrite, clear what is left) so it does not flicker; elsewhere (a pipe, a log)
 * frames are simply appended one after another.
 */
export async function watchScreen(frame: () => Promise<string>, options: WatchOptions): Promise<void> {
  const { out, signal } = options;
  const tty = out.isTTY === true;
  if (tty) out.write(HIDE_CURSOR + CLEAR_SCREEN);
  try {
    while (!signal.aborted) {
      const text = await frame();
      if (signal.aborted) break;
      if (tty) {
        const body = text.endsWith("\n") ? text.slice(0, -1) : text;
        out.write(
          HOME +
            body.split("\n").join(CLEAR_TO_LINE_END + "\n") +
            CLEAR_TO_LINE_END +
            "\n" +
            CLEAR_TO_SCREEN_END,
        );
      } else {
        out.write(text.endsWith("\n") ? text : text + "\n");
      }
      try {
        await sleep(options.intervalMs, undefined, { signal });
      } catch {
        break; // aborted while waiting
      }
    }
  } finally {
    if (tty) out.write(SHOW_CURSOR);
  }
}
