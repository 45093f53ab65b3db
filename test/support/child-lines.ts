// Waiting for a child process to print a line: resolves with the first stdout line that matches, rejects
// if the child exits before printing one.
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export function firstLine(child: ChildProcess, match: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (match.test(line)) {
        lines.close();
        resolve(line);
      }
    });
    child.once("exit", (code) => reject(new Error(`exited (${code}) before printing ${match}`)));
  });
}
