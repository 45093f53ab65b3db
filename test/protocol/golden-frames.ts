// The shared golden frames (test/protocol/golden-frames.txt): one file of hand-written wire bytes that the
// TypeScript, Python and C tests all read. Not a test file itself.
import { readFileSync } from "node:fs";

// Read from the source tree: this file runs as dist/test/protocol/golden-frames.js.
const FILE = new URL("../../../test/protocol/golden-frames.txt", import.meta.url);

const sections = new Map<string, string>();
let section: string | undefined;
for (const line of readFileSync(FILE, "utf8").split("\n")) {
  const header = /^\[([a-z0-9-]+)\]\s*$/.exec(line);
  if (header !== null) {
    section = header[1]!;
    sections.set(section, "");
  } else if (section !== undefined) {
    sections.set(section, `${sections.get(section)}${line}\n`);
  }
}

/** The hex text (comments kept, for fromHex) of section `name`; throws when the file has none. */
export function goldenHex(name: string): string {
  const text = sections.get(name);
  if (text === undefined) throw new Error(`test/protocol/golden-frames.txt has no [${name}] section`);
  return text;
}
