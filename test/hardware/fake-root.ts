// A fake tt-kmd tree in a temp dir: dev/tenstorrent/<N> (plain files a child can open), sysfs attributes
// under sys/class/tenstorrent/tenstorrent!<N>/ and kmd pids files under proc/driver/tenstorrent/<N>/.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import pino, { type Logger } from "pino";

export interface CardFiles {
  cardType?: string;
  serial?: string;
  asicId?: string;
  pciDeviceId?: string;
}

export class FakeRoot {
  readonly path = mkdtempSync(join(tmpdir(), "allocwatch-hw-"));

  nodePath(ordinal: number | string): string {
    return join(this.path, "dev", "tenstorrent", String(ordinal));
  }

  /** Adds `/dev/tenstorrent/<ordinal>` and the sysfs attributes given (absent ones are not written). */
  addCard(ordinal: number, files: CardFiles = {}): void {
    mkdirSync(join(this.path, "dev", "tenstorrent"), { recursive: true });
    writeFileSync(this.nodePath(ordinal), "");
    const sysfs = join(this.path, "sys", "class", "tenstorrent", `tenstorrent!${ordinal}`);
    mkdirSync(join(sysfs, "device"), { recursive: true });
    if (files.cardType !== undefined) writeFileSync(join(sysfs, "tt_card_type"), `${files.cardType}\n`);
    if (files.serial !== undefined) writeFileSync(join(sysfs, "tt_serial"), `${files.serial}\n`);
    if (files.asicId !== undefined) writeFileSync(join(sysfs, "tt_asic_id"), `${files.asicId}\n`);
    if (files.pciDeviceId !== undefined)
      writeFileSync(join(sysfs, "device", "device"), `${files.pciDeviceId}\n`);
  }

  /** Writes (or, with undefined, removes) tt-kmd's pids file of device `ordinal`. */
  writeKmdPids(ordinal: number, text: string | undefined): void {
    const directory = join(this.path, "proc", "driver", "tenstorrent", String(ordinal));
    if (text === undefined) {
      rmSync(join(directory, "pids"), { force: true });
      return;
    }
    mkdirSync(directory, { recursive: true });
    writeFileSync(join(directory, "pids"), text);
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** A pino logger that keeps its warnings (parsed lines) for assertions. */
export function capturingLogger(): { log: Logger; warnings: Record<string, unknown>[] } {
  const warnings: Record<string, unknown>[] = [];
  const log = pino({ level: "warn" }, { write: (line: string) => warnings.push(JSON.parse(line)) });
  return { log, warnings };
}

/** Process name the holder child gives itself (comm keeps 15 characters). */
export const HOLDER_NAME = "tt-holder-test";

/**
 * A child process that opens `path`, says "open" and holds it until a line arrives on its stdin.
 * `release()` sends the line and resolves when the child has exited (and was reaped).
 */
export async function holdOpen(path: string): Promise<{ pid: number; release(): Promise<void> }> {
  const script = [
    `process.title = ${JSON.stringify(HOLDER_NAME)};`,
    "const fs = require('node:fs');",
    "const fd = fs.openSync(process.argv[1], 'r');",
    "process.stdout.write('open\\n');",
    "process.stdin.once('data', () => { fs.closeSync(fd); process.exit(0); });",
  ].join("\n");
  const child = spawn(process.execPath, ["-e", script, path], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    lines.once("line", () => resolve());
    child.once("exit", (code) => reject(new Error(`holder child exited early (${code})`)));
  });
  return {
    pid: child.pid!,
    async release() {
      child.stdin!.write("done\n");
      await exited;
    },
  };
}
