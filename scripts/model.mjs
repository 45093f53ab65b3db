// `npm run model`: checks the resync protocol's SPIN model (model/resync.pml, docs/DESIGN.md "The resync
// model") and prints one line per run (states, depth, time) and a summary; exits 1 when any run's result
// is not the expected one, 2 when spin or a C compiler is missing.
//
//   node scripts/model.mjs [--ci] [--only PREFIX] [--json FILE] [--keep DIR]
//
// --ci     the runs CI makes (each configuration small enough for 2 cores in well under 2 minutes);
//          without it, also the larger exhaustive liveness run, the LTL safety claims and the bitstate runs
// --only   only the runs whose name starts with PREFIX (e.g. "mutant/")
// --json   write the results to FILE
// --keep   build in DIR (kept, with every pan binary and .trail file) instead of a temporary folder
//
// Expectations: "pass" (no error and, unless bitstate, a complete search); "trail" (a mutant: at least one
// error and a .trail file); "reach" (a vacuity probe: the search reaches probe n, so the configuration
// exercises that path); "unreached" (a path the model shows cannot happen).
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const MODEL = join(root, "model", "resync.pml");

/** The configurations (docs/DESIGN.md "The resync model" explains each switch). */
const SMALL = []; // NT=2, MAXCH=4, MAXDROP=1, MAXRESTART=1, MAXDISC=0: the defaults in resync.pml
const RECONNECT = ["-DMAXCH=3", "-DMAXDISC=1"];
const TWO_CLOSES = ["-DMAXCH=3", "-DMAXDISC=2", "-DMAXRESTART=0"];
const LARGER = ["-DMAXDISC=1"];
/** No drop, no restart: the naive mutant's configuration, where nothing is ever lost. */
const LOSSLESS = ["-DMAXDROP=0", "-DMAXRESTART=0"];
const THREE = ["-DNT=3", "-DMAXCH=3"];

const SAFETY_CC = ["-DSAFETY", "-DNOCLAIM", "-DCOLLAPSE", "-DMEMLIM=2048"];
const LIVENESS_CC = ["-DNFAIR=3", "-DCOLLAPSE", "-DMEMLIM=2048"];
const CLAIM_CC = ["-DCOLLAPSE", "-DMEMLIM=2048"];
const BITSTATE_CC = ["-DSAFETY", "-DNOCLAIM", "-DBITSTATE"];
const DEPTH = "-m300000";

/** Probes reachable in the small configuration, and those that need connections closed. */
const PROBES = [
  [1, "FAR_AHEAD: an event beyond the reorder window", SMALL],
  [2, "a snapshot older than the applied state is ignored", SMALL],
  [3, "gap rule WAIT: a connection behind still delivers", SMALL],
  [4, "gap rule LOST: those behind stayed quiet", SMALL],
  [5, "gap rule LOST: every connection passed the hole", SMALL],
  [6, "a snapshot cut off by its connection closing", RECONNECT],
  [7, "an in-flight event the snapshot in progress holds is discarded", SMALL],
  [8, "an event older than the last watermark is discarded (discardOld)", SMALL],
  [9, "a newer snapshot takes over from one in progress", SMALL],
  [10, "a resync asked while no connection is open (pendingResyncs)", TWO_CLOSES],
  [11, "the END of an ignored snapshot", SMALL],
  [12, "SNAPSHOT_END drains events held past the watermark", SMALL],
  [13, "SNAPSHOT_END asks again: an event past its watermark was dropped", SMALL],
  [15, "the gap timer fires after the hole filled: re-armed for the next", SMALL],
  [16, "the gap timer retries an unanswered resync", SMALL],
  [17, "a pending resync is asked on the next connection's HELLO", TWO_CLOSES],
];

function runs(ci) {
  const list = [
    { name: "safety/small", defines: SMALL, cc: SAFETY_CC, pan: [DEPTH], expect: "pass" },
    { name: "safety/reconnect", defines: RECONNECT, cc: SAFETY_CC, pan: [DEPTH], expect: "pass" },
    { name: "safety/lossless", defines: LOSSLESS, cc: SAFETY_CC, pan: [DEPTH], expect: "pass" },
    {
      name: "ltl/eventually_exact (MAXCH=3)",
      defines: ["-DMAXCH=3"],
      cc: LIVENESS_CC,
      pan: [DEPTH, "-a", "-f", "-N", "eventually_exact"],
      expect: "pass",
    },
    {
      name: "mutant/naive-order",
      defines: ["-DNAIVE", ...LOSSLESS],
      cc: SAFETY_CC,
      pan: [DEPTH],
      expect: "trail",
    },
    { name: "mutant/naive-order-lossy", defines: ["-DNAIVE"], cc: SAFETY_CC, pan: [DEPTH], expect: "trail" },
    {
      name: "mutant/watermark-ignored",
      defines: ["-DWM_IGNORED"],
      cc: SAFETY_CC,
      pan: [DEPTH],
      expect: "trail",
    },
    ...PROBES.map(([n, what, defines]) => ({
      name: `probe/${String(n).padStart(2, "0")} ${what}`,
      defines: [...defines, `-DREACH=${n}`],
      cc: SAFETY_CC,
      pan: [DEPTH],
      expect: "reach",
      probe: n,
    })),
  ];
  if (ci) return list;
  return [
    ...list,
    {
      name: "ltl/eventually_exact (small)",
      defines: SMALL,
      cc: LIVENESS_CC,
      pan: [DEPTH, "-a", "-f", "-N", "eventually_exact"],
      expect: "pass",
    },
    {
      name: "ltl/no_false_anomaly (small)",
      defines: SMALL,
      cc: CLAIM_CC,
      pan: [DEPTH, "-N", "no_false_anomaly"],
      expect: "pass",
    },
    {
      name: "ltl/ring_bounded (small)",
      defines: SMALL,
      cc: CLAIM_CC,
      pan: [DEPTH, "-N", "ring_bounded"],
      expect: "pass",
    },
    {
      name: "unreached/14 record() of a seq its own snapshot covers",
      defines: [...SMALL, "-DREACH=14"],
      cc: SAFETY_CC,
      pan: [DEPTH],
      expect: "unreached",
    },
    {
      name: "bitstate/larger (MAXDISC=1)",
      defines: LARGER,
      cc: BITSTATE_CC,
      pan: [DEPTH, "-w30"],
      expect: "pass",
    },
    {
      name: "bitstate/three connections",
      defines: THREE,
      cc: BITSTATE_CC,
      pan: [DEPTH, "-w30"],
      expect: "pass",
    },
  ];
}

function parseArgs(argv) {
  const args = { ci: false, only: "", json: "", keep: "" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--ci") args.ci = true;
    else if (arg === "--only" || arg === "--json" || arg === "--keep") {
      const value = argv[++i];
      if (value === undefined) fail(`${arg} needs a value`);
      args[arg.slice(2)] = value;
    } else
      fail(
        `unknown argument ${arg} (usage: node scripts/model.mjs [--ci] [--only PREFIX] [--json FILE] [--keep DIR])`,
      );
  }
  return args;
}

function fail(message, code = 2) {
  process.stderr.write(`model: ${message}\n`);
  process.exit(code);
}

function have(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

function number(text, pattern) {
  const match = pattern.exec(text);
  return match === null ? undefined : Number(match[1]);
}

/** One run: spin -a, cc, pan, in its own folder (pan writes resync.pml.trail there). */
function check(run, dir) {
  mkdirSync(dir, { recursive: true });
  copyFileSync(MODEL, join(dir, "resync.pml"));
  const started = process.hrtime.bigint();
  const step = (command, args, timeoutMs) => {
    const result = spawnSync(command, args, { cwd: dir, encoding: "utf8", timeout: timeoutMs });
    return { ...result, text: `${result.stdout ?? ""}${result.stderr ?? ""}` };
  };
  const spin = step("spin", [...run.defines, "-a", "resync.pml"], 60_000);
  if (spin.status !== 0) return { ok: false, detail: `spin -a failed: ${spin.text.trim()}` };
  // Small searches (mutants, probes) spend most of their time in the compiler: build those unoptimised.
  const optimise = run.expect === "pass" || run.expect === "unreached" ? "-O2" : "-O0";
  const cc = step("cc", [optimise, "-w", ...run.defines, ...run.cc, "-o", "pan", "pan.c"], 120_000);
  if (cc.status !== 0) return { ok: false, detail: `cc failed: ${cc.text.trim().slice(0, 2000)}` };
  // `times` after pan prints its CPU time (user, system): on a shared machine the wall clock says little.
  const pan = step("sh", ["-c", `./pan ${run.pan.map((a) => `'${a}'`).join(" ")}; times >&2`], 600_000);
  const cpu = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(pan.stderr ?? "");
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const out = pan.text;
  writeFileSync(join(dir, "pan.out"), out);
  const errors = number(out, /errors: (\d+)/);
  const result = {
    states: number(out, /([\d.e+]+) states, stored/),
    transitions: number(out, /([\d.e+]+) transitions/),
    depth: number(out, /depth reached (\d+)/),
    panSeconds: number(out, /elapsed time ([\d.e+]+) seconds/),
    panCpuS:
      cpu === null ? undefined : 60 * (Number(cpu[1]) + Number(cpu[3])) + Number(cpu[2]) + Number(cpu[4]),
    memoryMB: number(out, /([\d.]+)\s+total actual memory usage/),
    /** Bitstate only: bits per state stored; coverage is good above 100, fair above 10. */
    hashFactor: number(out, /hash factor: ([\d.e+]+)/),
    wallS,
    errors,
    complete: !/Search not completed/.test(out) && !/reached -DMEMLIM bound/.test(out),
    trail: existsSync(join(dir, "resync.pml.trail")),
    violation: (/^pan:\d+: (.+)$/m.exec(out) ?? [])[1],
  };
  if (pan.error !== undefined || errors === undefined) {
    return { ...result, ok: false, detail: `pan did not finish: ${pan.error?.message ?? out.slice(-500)}` };
  }
  switch (run.expect) {
    case "pass": {
      const bitstate = run.cc.includes("-DBITSTATE");
      const ok = errors === 0 && (bitstate || result.complete);
      return { ...result, ok, detail: ok ? "" : (result.violation ?? "search not completed") };
    }
    case "trail":
      return {
        ...result,
        ok: errors > 0 && result.trail,
        detail:
          errors > 0
            ? result.trail
              ? ""
              : "error but no trail file"
            : "the mutant produced no counterexample",
      };
    case "reach": {
      const ok = errors > 0 && (result.violation ?? "").includes(`(${run.probe}!=${run.probe})`);
      return {
        ...result,
        ok,
        detail: ok ? "" : `probe ${run.probe} not reached: ${result.violation ?? "no error"}`,
      };
    }
    case "unreached":
      return { ...result, ok: errors === 0 && result.complete, detail: errors === 0 ? "" : "reached" };
    default:
      return { ...result, ok: false, detail: `unknown expectation ${run.expect}` };
  }
}

function format(value) {
  if (value === undefined) return "-";
  return value >= 1e6 ? `${(value / 1e6).toFixed(2)}M` : String(value);
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!have("spin")) fail("spin is not installed (Debian/Ubuntu: apt-get install spin; .ci/run installs it)");
  if (!have("cc")) fail("no C compiler (cc) to build SPIN's verifier");
  const selected = runs(args.ci).filter((run) => run.name.startsWith(args.only));
  if (selected.length === 0) fail(`no run matches --only ${args.only}`);
  const base = args.keep !== "" ? args.keep : mkdtempSync(join(tmpdir(), "allocwatch-model-"));
  const results = [];
  try {
    for (const [i, run] of selected.entries()) {
      const dir = join(base, String(i).padStart(2, "0"));
      const result = { name: run.name, expect: run.expect, defines: run.defines, ...check(run, dir), dir };
      results.push(result);
      const mark = result.ok ? "ok  " : "FAIL";
      const line =
        `${mark} ${run.name.padEnd(72)} ${run.expect.padEnd(9)} states ${format(result.states).padStart(7)}` +
        `  depth ${format(result.depth).padStart(4)}  pan cpu ${(result.panCpuS ?? 0).toFixed(1).padStart(6)} s` +
        `  wall ${result.wallS.toFixed(1).padStart(6)} s` +
        (result.ok ? "" : `  -- ${result.detail}`);
      console.log(line);
      if (run.expect === "trail" && result.ok) console.log(`     counterexample: ${result.violation}`);
    }
  } finally {
    if (args.json !== "") writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
    if (args.keep === "") rmSync(base, { recursive: true, force: true });
  }
  const failed = results.filter((r) => !r.ok);
  const total = results.reduce((sum, r) => sum + r.wallS, 0);
  console.log(
    `model: ${results.length - failed.length}/${results.length} runs as expected in ${total.toFixed(1)} s` +
      (failed.length > 0 ? `; UNEXPECTED: ${failed.map((r) => r.name).join(", ")}` : ""),
  );
  process.exit(failed.length > 0 ? 1 : 0);
}

main();
