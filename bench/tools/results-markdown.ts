// Renders a `--json` report as the Markdown tables of docs/PERFORMANCE.md, so the page is generated
// from a run rather than retyped:   node dist/bench/tools/results-markdown.js results.json
import { readFileSync } from "node:fs";
import type { BenchReport } from "../harness/report.js";
import { formatNumber } from "../harness/report.js";

export function resultsMarkdown(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `Machine: ${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, ` +
      `${m.platform}. Load average (1/5/15 min) ${m.loadavg.join(" / ")} at the start` +
      (m.loadavgEnd ? `, ${m.loadavgEnd.join(" / ")} at the end` : "") +
      `. Run started ${report.startedAt}, took ${(report.durationMs / 1000).toFixed(0)} s` +
      `${report.quick ? " (--quick)" : ""}.`,
    "",
    "| result | tier | median | min | max | unit | target | met |",
    "|---|---|---:|---:|---:|---|---|---|",
  ];
  for (const [name, r] of Object.entries(report.results)) {
    const target = r.target === null ? "—" : `${r.comparison} ${formatNumber(r.target)}`;
    const met = r.error ? `error: ${r.error}` : r.target === null ? "—" : r.met ? "yes" : "**no**";
    lines.push(
      `| \`${name}\` | ${r.tier} | ${formatNumber(r.value)} | ${formatNumber(r.min)} | ${formatNumber(r.max)} | ` +
        `${r.unit} | ${target} | ${met} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write("usage: results-markdown.js RESULTS.json\n");
    process.exitCode = 2;
  } else {
    process.stdout.write(resultsMarkdown(JSON.parse(readFileSync(file, "utf8")) as BenchReport));
  }
}
