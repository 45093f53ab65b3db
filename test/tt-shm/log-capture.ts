// A pino logger whose lines the test can read back, parsed.
import pino, { type Logger } from "pino";

export interface LogLine {
  level: number;
  msg: string;
  code?: string;
  file?: string;
  [field: string]: unknown;
}

export const WARN = 40;
export const INFO = 30;

export function captureLogs(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}

/** Warnings with `code` (about `file`, when given). */
export function warnings(lines: readonly LogLine[], code: string, file?: string): LogLine[] {
  return lines.filter((l) => l.level === WARN && l.code === code && (file === undefined || l.file === file));
}
