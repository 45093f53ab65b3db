// `q` ends a monitor's loop, as in top, less and nvidia-smi's neighbours. Only on a terminal: a pipe on
// stdin is left alone (it might be someone else's input), and Ctrl+C still arrives as SIGINT there.

/** What listenForQuit needs of stdin: the real process.stdin, or a fake in tests. */
export interface KeyInput {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  on(event: "data", listener: (chunk: Buffer | string) => void): unknown;
  off(event: "data", listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

const CTRL_C = "\x03";

/**
 * Calls `onQuit` when `q`, `Q` or Ctrl+C (raw mode delivers it as a byte) is typed on a terminal
 * `input`. Returns the function that stops listening and puts the terminal back in its normal mode.
 */
export function listenForQuit(input: KeyInput, onQuit: () => void): () => void {
  if (input.isTTY !== true || typeof input.setRawMode !== "function") return () => {};
  const onData = (chunk: Buffer | string) => {
    const text = chunk.toString();
    if (text.includes("q") || text.includes("Q") || text.includes(CTRL_C)) onQuit();
  };
  input.setRawMode(true);
  input.on("data", onData);
  input.resume();
  return () => {
    input.off("data", onData);
    input.setRawMode?.(false);
    input.pause();
  };
}
