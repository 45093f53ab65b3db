/**
 * The conditions a strategy is judged under: how reports travel to the server, whether a buffer can be
 * freed by another thread than the one that allocated it, and whether two live buffers can share an address.
 */

export const CHANNELS = ["fifo", "per-thread", "async-queue"] as const;
/**
 * - "fifo": one channel for the process; a report is appended to it synchronously, at the call.
 * - "per-thread": each thread has its own connection; the server reads connections in whatever order
 *   their data arrives.
 * - "async-queue": each thread appends to its own queue and another thread drains the queues into the
 *   connection, in whatever order it polls them (the lock-free queue low-overhead clients use; a single
 *   queue filled under one lock would be "fifo").
 */
export type Channel = (typeof CHANNELS)[number];

export interface RaceCondition {
  channel: Channel;
  /** A share of buffers is handed to another thread as soon as it has an address, and freed there. */
  crossThreadFrees: boolean;
  /** A share of buffers gets a view: a second live Buffer object at the same address (see Strategy). */
  sharedAddress: boolean;
}

/** "fifo", "per-thread+cross-thread-frees", "async-queue+cross-thread-frees+shared-address", ... */
export function conditionLabel(c: RaceCondition): string {
  return [c.channel, c.crossThreadFrees ? "cross-thread-frees" : "", c.sharedAddress ? "shared-address" : ""]
    .filter((part) => part !== "")
    .join("+");
}

/** Every condition: each channel with and without cross-thread frees and shared addresses. */
export function allConditions(channels: readonly Channel[] = CHANNELS): RaceCondition[] {
  const out: RaceCondition[] = [];
  for (const channel of channels) {
    for (const sharedAddress of [false, true]) {
      for (const crossThreadFrees of [false, true]) out.push({ channel, crossThreadFrees, sharedAddress });
    }
  }
  return out;
}
