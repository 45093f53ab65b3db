// deploy/: the systemd unit passes `systemd-analyze verify`, keeps the daemon ahead of the workloads it
// watches (Nice, CPUWeight) and restarts it, and its ExecStart line, run as written (paths moved into a
// temp folder), starts a daemon that serves /metrics and stops cleanly on the unit's KillSignal. The
// Grafana dashboard has its `host` variable and every panel reads the chosen data source (that every
// panel query returns data is prometheus-scrape.test.ts's job).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CLI, cleanEnv, freePort, Proc, processScope } from "../e2e/harness.js";
import { repoRoot } from "../support/repo-files.js";
import { waitFor } from "../support/wait-for.js";

const repoFile = (path: string) => join(repoRoot(import.meta.url), path);
const UNIT = readFileSync(repoFile("deploy/systemd/allocwatch.service"), "utf8");
const { dir, procs } = processScope();
/** How the dashboard names its data source variable (Grafana's syntax, not a template string). */
const DATASOURCE_VARIABLE = ["$", "{datasource}"].join("");

/** `Key=value` settings of the unit (comments and sections left out); the last one of a key wins. */
function settings(unit: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of unit.split("\n")) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) out.set(match[1]!, match[2]!);
  }
  return out;
}

test("the unit keeps the daemon ahead of its workloads and restarts it on failure", () => {
  const unit = settings(UNIT);
  assert.ok(Number(unit.get("Nice")) < 0, "a higher priority than the workloads (default 0)");
  assert.ok(Number(unit.get("CPUWeight")) > 100, "more CPU weight than the default 100");
  assert.equal(unit.get("Restart"), "on-failure");
  assert.match(unit.get("RestartSec") ?? "", /^\d+s$/);
  assert.match(unit.get("ExecStart") ?? "", /^\/usr\/bin\/allocwatch serve --socket \/run\/allocwatch\/\S+ /);
  assert.equal(
    unit.get("Environment"),
    `ALLOCWATCH_SOCKET=${/--socket (\S+)/.exec(unit.get("ExecStart")!)![1]}`,
  );
});

test("systemd-analyze verify accepts the unit", {
  skip: existsSync("/usr/bin/systemd-analyze") ? false : "systemd-analyze is not installed",
}, () => {
  // The unit as installed, but running this checkout's CLI (verify checks the binary exists).
  const path = join(dir, "allocwatch.service");
  writeFileSync(path, UNIT.replace("/usr/bin/allocwatch", `${process.execPath} ${CLI}`));
  const result = spawnSync("/usr/bin/systemd-analyze", ["verify", path], { encoding: "utf8" });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});

test("the unit's ExecStart starts a daemon that serves /metrics and stops cleanly on SIGTERM", async () => {
  const unit = settings(UNIT);
  const port = await freePort();
  const socket = join(dir, "allocwatch.sock");
  const history = join(dir, "history.sqlite");
  const args = unit
    .get("ExecStart")!
    .split(/\s+/)
    .slice(1)
    .map((arg) =>
      arg.startsWith("/run/allocwatch/")
        ? socket
        : arg.startsWith("/var/lib/allocwatch/")
          ? history
          : arg === "127.0.0.1:7477"
            ? `127.0.0.1:${port}`
            : arg,
    );
  assert.ok(
    args.includes(socket) && args.includes(history) && args.includes(`127.0.0.1:${port}`),
    `moved paths in ${args.join(" ")}`,
  );
  const daemon = new Proc(
    spawn(process.execPath, [CLI, ...args], { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] }),
  );
  procs.push(daemon);
  const metrics = await waitFor(
    () =>
      fetch(`http://127.0.0.1:${port}/metrics`).then(
        (r) => (r.ok ? r.text() : undefined),
        () => undefined,
      ),
    {
      what: "the daemon's /metrics",
      timeoutMs: 20_000,
      intervalMs: 50,
      detail: () => daemon.stderr.join("\n"),
    },
  );
  assert.match(metrics, /^allocwatch_sessions 0$/m);
  assert.ok(existsSync(socket));
  daemon.kill(unit.get("KillSignal") as NodeJS.Signals);
  const exit = await daemon.exited;
  assert.equal(exit.code, 0, daemon.stderr.join("\n"));
  assert.ok(!existsSync(socket), "the socket is removed");
  assert.ok(existsSync(history), "the history database is where the unit says");
});

test("the dashboard has a multi-host `host` variable and every panel reads the chosen data source", () => {
  const dashboard = JSON.parse(readFileSync(repoFile("deploy/grafana/allocwatch.json"), "utf8")) as {
    templating: {
      list: { name: string; type: string; multi?: boolean; includeAll?: boolean; definition?: string }[];
    };
    panels: {
      title: string;
      datasource: { uid: string };
      targets: { expr: string; datasource: { uid: string } }[];
    }[];
  };
  const host = dashboard.templating.list.find((v) => v.name === "host");
  assert.equal(host?.type, "query");
  assert.equal(host?.multi, true);
  assert.equal(host?.includeAll, true);
  assert.match(host?.definition ?? "", /label_values\(allocwatch_\w+, host\)/);
  for (const panel of dashboard.panels) {
    assert.equal(panel.datasource.uid, DATASOURCE_VARIABLE, panel.title);
    for (const target of panel.targets) {
      assert.equal(target.datasource.uid, DATASOURCE_VARIABLE, panel.title);
      assert.match(target.expr, /host=~"\$host"/, `${panel.title}: every query selects the hosts chosen`);
    }
  }
});
