// `allocwatch top` in a real terminal (tmux, 80×24) against a live server and workload: it shows the
// device names and the process's row, `q` ends it with exit code 0, and the terminal is restored (the
// normal screen back, the cursor shown, line mode on). Also: top refuses a pipe, and usage errors exit 2.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { waitFor } from "../support/wait-for.js";
import {
  CLI,
  freePort,
  processScope,
  runCli,
  startServerProcess,
  startServerWithSteadyDemo,
} from "./harness.js";

const scope = processScope();
const { dir, procs } = scope;
const hasTmux = spawnSync("tmux", ["-V"]).status === 0;

test("in tmux at 80×24: device names and the process row, q exits 0, the terminal restored", {
  timeout: 60_000,
  skip: hasTmux ? false : "tmux is not installed",
}, async () => {
  const { server, client } = await startServerWithSteadyDemo(scope, "top.sock");

  // A private tmux server (its own socket file), so no one else's sessions are touched.
  const tmuxSocket = join(dir, "tmux.sock");
  const tmux = (...args: string[]) => execFileSync("tmux", ["-S", tmuxSocket, ...args], { encoding: "utf8" });
  const script =
    // CI=true as CI sets it: Ink must still draw every frame on a terminal.
    `env -u ALLOCWATCH_HTTP CI=true NO_COLOR=1 "${process.execPath}" "${CLI}" top --server ${server.url}; ` +
    `echo "top exited $?"; stty -a | grep -o -- '-*icanon'; sleep 60`;
  tmux("new-session", "-d", "-s", "top", "-x", "80", "-y", "24", "bash", "-c", script);
  try {
    const screen = () => tmux("capture-pane", "-p", "-t", "top");
    const rowPattern = new RegExp(`^ +${client.pid} llama-decoder +conn +0 +\\d+`, "m");
    await waitFor(
      () => /^Device 0 /m.test(screen()) && /^Device 1 /m.test(screen()) && rowPattern.test(screen()),
      {
        what: "top to show both devices and the process row",
        timeoutMs: 20_000,
        intervalMs: 100,
        detail: screen,
      },
    );
    const shown = screen();
    // NO_COLOR: the cells carry no foreground or background colour (bold and inverse are not colour).
    const ESC = String.fromCharCode(27);
    const colour = new RegExp(`${ESC}\\[(?:[0-9;]*;)?(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9;]*)?m`);
    assert.doesNotMatch(tmux("capture-pane", "-p", "-e", "-t", "top"), colour);
    assert.match(shown, /^allocwatch top {2}· {2}server \S+ {2}· {2}up .* {2}· {2}live/m);
    for (const line of shown.split("\n")) assert.ok(line.length <= 80, line);
    assert.equal(
      tmux("display", "-p", "-t", "top", "#{alternate_on}").trim(),
      "1",
      "top draws on the alternate screen",
    );

    tmux("send-keys", "-t", "top", "q");
    // Until stty's line: the shell prints it after "top exited", and under load a read in between sees
    // the one without the other.
    await waitFor(() => /^top exited \d+$/m.test(screen()) && /^-?icanon$/m.test(screen()), {
      what: "top to exit after q, and stty to report",
      timeoutMs: 15_000,
      intervalMs: 100,
      detail: screen,
    });
    const after = screen();
    assert.match(after, /^top exited 0$/m);
    assert.match(after, /^icanon$/m, "the terminal is back in line mode (raw mode off)");
    assert.doesNotMatch(after, /^Device 0 /m, "top's screen is gone: the normal screen is back");
    assert.equal(tmux("display", "-p", "-t", "top", "#{alternate_on} #{cursor_flag}").trim(), "0 1");
  } finally {
    spawnSync("tmux", ["-S", tmuxSocket, "kill-server"]);
  }
});

test("in tmux: Ctrl+C ends top with exit 0 and the terminal restored; q ends `smi -l 1` with exit 0", {
  timeout: 60_000,
  skip: hasTmux ? false : "tmux is not installed",
}, async () => {
  const socket = join(dir, "keys.sock");
  const server = await startServerProcess(socket, await freePort());
  procs.push(server);
  const tmuxSocket = join(dir, "tmux-keys.sock");
  const tmux = (...args: string[]) => execFileSync("tmux", ["-S", tmuxSocket, ...args], { encoding: "utf8" });
  try {
    for (const [name, command, ready, key] of [
      ["top", "top", /^allocwatch top .* live/m, "C-c"],
      ["smi", "smi -l 1", /^allocwatch smi /m, "q"],
    ] as const) {
      const script =
        `env -u ALLOCWATCH_HTTP NO_COLOR=1 "${process.execPath}" "${CLI}" ${command} --server ${server.url}; ` +
        `echo "${name} exited $?"; stty -a | grep -o -- '-*icanon'; sleep 60`;
      tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24", "bash", "-c", script);
      const screen = () => tmux("capture-pane", "-p", "-t", name);
      await waitFor(() => ready.test(screen()), {
        what: `${name} to draw`,
        timeoutMs: 20_000,
        intervalMs: 100,
        detail: screen,
      });
      tmux("send-keys", "-t", name, key);
      await waitFor(
        () => new RegExp(`^${name} exited \\d+$`, "m").test(screen()) && /^-?icanon$/m.test(screen()),
        {
          what: `${name} to exit after ${key}, and stty to report`,
          timeoutMs: 15_000,
          intervalMs: 100,
          detail: screen,
        },
      );
      assert.match(screen(), new RegExp(`^${name} exited 0$`, "m"));
      assert.match(screen(), /^icanon$/m, `${name}: line mode back`);
      assert.equal(tmux("display", "-p", "-t", name, "#{alternate_on} #{cursor_flag}").trim(), "0 1");
    }
  } finally {
    spawnSync("tmux", ["-S", tmuxSocket, "kill-server"]);
  }
});

test("top needs a terminal: piped, it says what to use instead and exits 2", async () => {
  const { code, stdout, stderr } = await runCli(["top", "--http", `127.0.0.1:${await freePort()}`]);
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.match(stderr, /^allocwatch: top needs a terminal; for a pipe or a log use `allocwatch smi -l 1`/);
});

test("top usage errors exit 2: an unknown option, a server address that is not one", async () => {
  for (const args of [
    ["top", "--bogus"],
    ["top", "--http", "nonsense"],
  ]) {
    const { code, stderr } = await runCli(args);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.match(stderr, /\S/);
  }
});
