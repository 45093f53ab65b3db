// The browser the dashboard tests drive: Debian's Chromium through playwright-core (its own download
// cannot work here). Not a test file itself.
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = process.env["ALLOCWATCH_CHROMIUM"] ?? "/usr/bin/chromium";

/** Why the browser tests are skipped (no Chromium), or false when they run. */
export const chromiumMissing: string | false = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set ALLOCWATCH_CHROMIUM): browser tests skipped`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}
