// A real Prometheus (Debian's `prometheus`, installed by .ci/run) scrapes a server fed by real demo
// processes, configured by deploy/prometheus/allocwatch.yml itself (only the target and the intervals
// changed). Through Prometheus's query API: the device figures equal /api/v1/summary, a process's series
// go when it dies, and every panel query of deploy/grafana/allocwatch.json returns data.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import pino from "pino";
import {
  API_MEMORY_TYPES,
  type MemoryMapResponse,
  type SummaryResponse,
} from "../../src/server/api-types.js";
import { startServer } from "../../src/server/server.js";
import { freePort, processScope, startDemoProcess } from "../e2e/harness.js";
import { repoRoot } from "../support/repo-files.js";
import { waitFor } from "../support/wait-for.js";

const PROMETHEUS = "/usr/bin/prometheus";
const repoFile = (path: string) => join(repoRoot(import.meta.url), path);
const DEMO_PROCESSES = 2;
const { dir, procs } = processScope();

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query; the vector's samples (throws on an error answer). */
async function query(base: string, expr: string): Promise<PromSample[]> {
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: PromSample[] | [number, string] };
  };
  if (body.status !== "success") throw new Error(`Prometheus refused ${expr}: ${body.error}`);
  if (body.data!.resultType === "scalar")
    return [{ metric: {}, value: body.data!.result as [number, string] }];
  return body.data!.result as PromSample[];
}

/** Starts Prometheus on `config`, storing in a folder of `dir`; resolves once it is ready. */
async function startPrometheus(
  config: string,
): Promise<{ base: string; child: ChildProcess; log: () => string }> {
  const port = await freePort();
  const storage = join(dir, "tsdb");
  mkdirSync(storage);
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${storage}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr!.on("data", (chunk) => {
    log += chunk;
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${log}`);
      return fetch(`${base}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
    },
    { what: "Prometheus to be ready", timeoutMs: 30_000, intervalMs: 100, detail: () => log },
  );
  return { base, child, log: () => log };
}

/** The deploy file with only the target and the intervals changed (1 s scrapes). */
function scrapeConfig(httpPort: number): string {
  const text = readFileSync(repoFile("deploy/prometheus/allocwatch.yml"), "utf8");
  const replacements: [string, string][] = [
    ['["127.0.0.1:7477"]', `["127.0.0.1:${httpPort}"]`],
    ["  scrape_interval: 5s\n  evaluation_interval: 5s", "  scrape_interval: 1s\n  evaluation_interval: 1s"],
    ["    scrape_interval: 5s\n    scrape_timeout: 4s", "    scrape_interval: 1s\n    scrape_timeout: 1s"],
  ];
  let config = text;
  for (const [from, to] of replacements) {
    assert.ok(config.includes(from), `deploy/prometheus/allocwatch.yml no longer holds ${from}`);
    config = config.replace(from, to);
  }
  const path = join(dir, "prometheus.yml");
  writeFileSync(path, config);
  return path;
}

/** Every target expression of the dashboard's panels (rows and nested panels included). */
function panelQueries(): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(repoFile("deploy/grafana/allocwatch.json"), "utf8")) as {
    panels: { title: string; targets?: { expr: string }[]; panels?: unknown[] }[];
  };
  const out: { panel: string; expr: string }[] = [];
  const visit = (panels: typeof dashboard.panels) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) out.push({ panel: panel.title, expr: target.expr });
      if (panel.panels) visit(panel.panels as typeof dashboard.panels);
    }
  };
  visit(dashboard.panels);
  return out;
}

/**
 * What Grafana sends for `expr`: `$host` is a regex (the host's name, escaped, or ".*" for All);
 * `$__rate_interval` for 1-s scrapes is max($__interval + 1s, 4 × 1s) = 4s.
 */
function asGrafanaSends(expr: string, host: string): string {
  const sent = expr.replaceAll("$__rate_interval", "4s").replaceAll("$host", host);
  assert.doesNotMatch(sent, /\$/, `a variable the test does not substitute is left in ${expr}`);
  return sent;
}

test("a real Prometheus scrapes /metrics: device bytes equal the summary, process series end with the process, every dashboard panel has data", {
  timeout: 120_000,
  skip: existsSync(PROMETHEUS)
    ? false
    : `${PROMETHEUS} is not installed (Debian package prometheus; .ci/run installs it)`,
}, async () => {
  const server = await startServer({
    socketPath: join(dir, "s.sock"),
    http: "127.0.0.1:0",
    logger: pino({ level: "silent" }),
  });
  const summary = async (): Promise<SummaryResponse> =>
    (await fetch(`${server.httpUrl}/api/v1/summary`)).json() as Promise<SummaryResponse>;
  let prometheus: { base: string; child: ChildProcess; log: () => string } | undefined;
  try {
    const demos = Array.from({ length: DEMO_PROCESSES }, (_, i) =>
      startDemoProcess(server.socketPath, [
        ...["--index", String(i), "--devices", "2", "--workers", "1"],
        ...["--step-ms", "0", "--steps", "3", "--hold"],
      ]),
    );
    procs.push(...demos);
    await Promise.all(demos.map((d) => d.milestone("finished", 60_000)));
    // Delivered is not applied yet: wait until the server holds what every demo process holds.
    await waitFor(
      async () => {
        const s = await summary();
        return demos.every((d) => s.processes.some((p) => p.pid === d.pid && p.devices.length === 2));
      },
      { what: "both demo processes on both devices in the summary", timeoutMs: 30_000 },
    );
    const settledAt = Date.now() / 1000;

    prometheus = await startPrometheus(scrapeConfig(server.httpAddress!.port));
    const base = prometheus.base;
    // Two scrapes after the processes settled (samples, not the `up` series, so the body was parsed).
    await waitFor(
      async () => {
        const window = Math.max(1, Math.ceil(Date.now() / 1000 - settledAt));
        const samples = await query(
          base,
          `count_over_time(allocwatch_sessions{job="allocwatch"}[${window}s])`,
        );
        return samples.length === 1 && Number(samples[0]!.value[1]) >= 2;
      },
      {
        what: "two scrapes of /metrics",
        timeoutMs: 30_000,
        intervalMs: 200,
        detail: () => prometheus!.log(),
      },
    );

    const truth = await summary();
    const used = await query(base, "allocwatch_device_memory_used_bytes");
    assert.ok(truth.devices.length >= 2);
    for (const device of truth.devices) {
      for (const type of API_MEMORY_TYPES) {
        const sample = used.find(
          (s) => s.metric["device"] === String(device.id) && s.metric["memory_type"] === type,
        );
        assert.ok(sample !== undefined, `no series for device ${device.id} ${type}`);
        assert.equal(Number(sample.value[1]), device.memory[type].used, `device ${device.id} ${type}`);
        assert.equal(sample.metric["host"], "127.0.0.1", "the deploy config's relabelling sets host");
      }
    }
    assert.equal(
      used.length,
      truth.devices.length * API_MEMORY_TYPES.length,
      "one series per device and type",
    );
    assert.ok(truth.devices.some((d) => d.memory.DRAM.used > 0 && d.memory.L1.used > 0));

    // Per process: the same bytes as the summary's processes.
    const perProcess = await query(base, "allocwatch_process_memory_used_bytes");
    for (const p of truth.processes) {
      for (const device of p.devices) {
        for (const type of API_MEMORY_TYPES) {
          const sample = perProcess.find(
            (s) =>
              s.metric["pid"] === String(p.pid) &&
              s.metric["device"] === String(device.id) &&
              s.metric["memory_type"] === type,
          );
          assert.equal(
            Number(sample?.value[1]),
            device.used[type],
            `pid ${p.pid} device ${device.id} ${type}`,
          );
          assert.equal(sample?.metric["process"], p.name);
        }
      }
    }

    // The largest free block of DRAM, once the cache has computed it, is the memory map's.
    const map = (await (
      await fetch(`${server.httpUrl}/api/v1/devices/0/memory-map?type=DRAM&buckets=1`)
    ).json()) as MemoryMapResponse;
    assert.equal(map.exact, true, "the demo's devices have a known layout");
    await waitFor(
      async () => {
        const samples = await query(
          base,
          'allocwatch_device_largest_free_block_bytes{device="0", memory_type="DRAM"}',
        );
        return samples.length === 1 && Number(samples[0]!.value[1]) === map.largestFreeBlock;
      },
      { what: "Prometheus to hold device 0's DRAM largest free block", timeoutMs: 30_000, intervalMs: 250 },
    );

    // The dashboard: its host variable lists this host, and every panel query returns data, for the
    // host chosen and for All.
    const hosts = (await (
      await fetch(`${base}/api/v1/label/host/values?match[]=${encodeURIComponent("allocwatch_sessions")}`)
    ).json()) as { data: string[] };
    assert.deepEqual(hosts.data, ["127.0.0.1"]);
    const queries = panelQueries();
    assert.ok(queries.length >= 8, `only ${queries.length} panel queries`);
    for (const host of ["127\\\\.0\\\\.0\\\\.1", ".*"]) {
      for (const { panel, expr } of queries) {
        const sent = asGrafanaSends(expr, host);
        await waitFor(async () => (await query(base, sent)).length > 0, {
          what: `data for panel "${panel}": ${sent}`,
          timeoutMs: 15_000,
          intervalMs: 250,
        });
      }
    }

    // A process that dies: its session is released and its series are gone from the next scrapes.
    const victim = demos[0]!;
    victim.kill("SIGKILL");
    await waitFor(async () => !(await summary()).processes.some((p) => p.pid === victim.pid), {
      what: "the killed process's session to be released",
      timeoutMs: 30_000,
    });
    await waitFor(
      async () =>
        (await query(base, `allocwatch_process_memory_used_bytes{pid="${victim.pid}"}`)).length === 0,
      { what: "the killed process's series to go", timeoutMs: 15_000, intervalMs: 250 },
    );
    const survivor = await query(base, `allocwatch_process_memory_used_bytes{pid="${demos[1]!.pid}"}`);
    assert.ok(survivor.length > 0, "the other process's series stay");
    const dramOf = (s: SummaryResponse) => s.devices.find((d) => d.id === 0)!.memory.DRAM.used;
    const dramAfter = dramOf(await summary());
    assert.ok(dramAfter < dramOf(truth), "the killed process held DRAM on device 0");
    await waitFor(
      async () => {
        const samples = await query(
          base,
          'allocwatch_device_memory_used_bytes{device="0", memory_type="DRAM"}',
        );
        return Number(samples[0]?.value[1]) === dramAfter;
      },
      { what: "device 0's DRAM in Prometheus to drop to the summary's", timeoutMs: 15_000, intervalMs: 250 },
    );
  } finally {
    if (prometheus !== undefined && prometheus.child.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.child.once("exit", resolve));
      prometheus.child.kill("SIGTERM");
      await exited;
    }
    await server.close();
  }
});
