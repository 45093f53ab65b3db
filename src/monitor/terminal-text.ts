// Text that reaches a terminal from outside (process names sent by clients, legacy frames, tt-metal's
// shared memory) must not drive the terminal: an ESC or other control character in a name could move
// the cursor, recolour or retitle the screen. Every name a monitor prints goes through `terminalSafe`.

/** What a control character is shown as. */
export const CONTROL_REPLACEMENT = "?";

/** C0 (U+0000–U+001F, ESC among them), DEL (U+007F) and C1 (U+0080–U+009F, CSI among them). */
export function isControl(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

/** `text` with every C0/C1 control character and DEL replaced by "?". */
export function terminalSafe(text: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    if (!isControl(text.charCodeAt(i))) continue;
    out += text.slice(from, i) + CONTROL_REPLACEMENT;
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * Columns a code point takes in a terminal: 0 for combining marks and zero-width characters, 2 for East
 * Asian wide and fullwidth characters (CJK, Hangul, fullwidth forms, most emoji), else 1. A table of the
 * common ranges, not all of Unicode's East Asian Width property: enough that CJK process names line up.
 */
export function codePointColumns(code: number): number {
  if (
    (code >= 0x0300 && code <= 0x036f) ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0xfe00 && code <= 0xfe0f) ||
    (code >= 0x20d0 && code <= 0x20ff)
  ) {
    return 0;
  }
  if (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf && code !== 0x303f) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f680 && code <= 0x1f6ff) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Columns `text` takes in a terminal (codePointColumns summed). */
export function columns(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i)!;
    if (code > 0xffff) i++;
    n += codePointColumns(code);
  }
  return n;
}

/** The longest start of `text` that takes at most `width` columns (never half a wide character). */
export function takeColumns(text: string, width: number): string {
  let used = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i)!;
    const w = codePointColumns(code);
    if (used + w > width) return text.slice(0, i);
    used += w;
    if (code > 0xffff) i++;
  }
  return text;
}

/** `text` cut to at most `width` columns, ending in "…" when cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return "";
  if (columns(text) <= width) return text;
  return width === 1 ? "…" : takeColumns(text, width - 1) + "…";
}

/** `text` truncated and padded to exactly `width` columns, left- or right-aligned. */
export function fit(text: string, width: number, align: "left" | "right" = "left"): string {
  const cut = truncate(text, width);
  const fill = " ".repeat(Math.max(0, width - columns(cut)));
  return align === "left" ? cut + fill : fill + cut;
}
