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
 * `text` cut to at most `width` characters, ending in "…" when cut (every character we print is taken
 * as one column wide).
 */
export function truncate(text: string, width: number): string {
  if (width <= 0) return "";
  if (text.length <= width) return text;
  return width === 1 ? "…" : text.slice(0, width - 1) + "…";
}

/** `text` truncated and padded to exactly `width` columns, left- or right-aligned. */
export function fit(text: string, width: number, align: "left" | "right" = "left"): string {
  const cut = truncate(text, width);
  const fill = " ".repeat(width - cut.length);
  return align === "left" ? cut + fill : fill + cut;
}
