// Summarises V8 .cpuprofile files (from `node --cpu-prof`): the top self-time functions, so that
// docs/PERFORMANCE.md can say where a missed target's time goes.
//   node dist/bench/tools/profile-summary.js FILE.cpuprofile [--top N]
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const IDLE = "(idle)";

export interface SelfTimeEntry {
  /** functionName (file:line), "(anonymous)" for unnamed functions. */
  name: string;
  selfMs: number;
  /** Share of the busy (non-idle) sampled time, percent; 0 for "(idle)" itself. */
  percent: number;
}

/** Self time per function (aggregated over identical name+location), largest first. */
export function selfTimes(profile: CpuProfile, cwd = process.cwd()): SelfTimeEntry[] {
  const frameOf = new Map<number, string>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    let where = "";
    if (url !== "") {
      const path = url.startsWith("file://") ? relative(cwd, fileURLToPath(url)) : url;
      where = ` ${path}:${lineNumber + 1}`;
    }
    frameOf.set(node.id, `${functionName || "(anonymous)"}${where}`);
  }
  const selfUs = new Map<string, number>();
  let busyUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const name = frameOf.get(profile.samples[i]!) ?? "?";
    const delta = profile.timeDeltas[i] ?? 0;
    selfUs.set(name, (selfUs.get(name) ?? 0) + delta);
    // Idle = the event loop waiting: a child that waits for its parent is not slow, so it is left out.
    if (name !== IDLE) busyUs += delta;
  }
  return [...selfUs.entries()]
    .map(([name, us]) => ({
      name,
      selfMs: us / 1000,
      percent: name !== IDLE && busyUs > 0 ? (100 * us) / busyUs : 0,
    }))
    .sort((a, b) => b.selfMs - a.selfMs);
}

function main(argv: string[]): void {
  const topIndex = argv.indexOf("--top");
  const top = topIndex >= 0 ? Number(argv[topIndex + 1]) : 15;
  const files = argv.filter((arg, i) => arg !== "--top" && (topIndex < 0 || i !== topIndex + 1));
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
    const totalMs = (profile.endTime - profile.startTime) / 1000;
    const entries = selfTimes(profile);
    const idleMs = entries.find((e) => e.name === IDLE)?.selfMs ?? 0;
    process.stdout.write(
      `${file}: ${totalMs.toFixed(0)} ms sampled, ${idleMs.toFixed(0)} ms idle; % of busy time:\n`,
    );
    for (const entry of entries.filter((e) => e.name !== IDLE).slice(0, top)) {
      process.stdout.write(
        `  ${entry.percent.toFixed(1).padStart(5)}%  ${entry.selfMs.toFixed(1).padStart(9)} ms  ${entry.name}\n`,
      );
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2));
}
