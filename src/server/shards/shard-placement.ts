/**
 * Which shard a new connection goes to. Every connection of one process must land on one shard (a
 * session's FREE may come on another connection than its ALLOC, and only one shard's sequencer may see
 * them), so a pid sticks to its shard while it has a connection open there; a pid with none goes to the
 * shard with the fewest open connections (ties: the lowest index). Sized by the connections open, which
 * connection admission bounds (--max-connections).
 */
export class ShardPlacement {
  private readonly open: number[];
  private readonly byPid = new Map<number, { shard: number; connections: number }>();

  constructor(shards: number) {
    this.open = new Array<number>(shards).fill(0);
  }

  /** Open connections of each shard, in shard order. */
  get connections(): readonly number[] {
    return this.open;
  }

  /** The shard `pid` is stuck to, or undefined when it has no open connection. */
  stuck(pid: number | undefined): number | undefined {
    return pid === undefined ? undefined : this.byPid.get(pid)?.shard;
  }

  /** The least-loaded shard among those `usable` says may take work (lowest index on ties); -1: none. */
  leastLoaded(usable: (shard: number) => boolean): number {
    let best = -1;
    for (let shard = 0; shard < this.open.length; shard++) {
      if (!usable(shard)) continue;
      if (best === -1 || this.open[shard]! < this.open[best]!) best = shard;
    }
    return best;
  }

  /** A connection of `pid` (undefined: unknown peer, never sticky) opened on `shard`. */
  add(shard: number, pid: number | undefined): void {
    this.open[shard]!++;
    if (pid === undefined) return;
    const entry = this.byPid.get(pid);
    if (entry === undefined) this.byPid.set(pid, { shard, connections: 1 });
    else entry.connections++;
  }

  /** That connection closed: its pid is free to go elsewhere once its last connection has. */
  remove(shard: number, pid: number | undefined): void {
    this.open[shard]!--;
    if (pid === undefined) return;
    const entry = this.byPid.get(pid);
    if (entry === undefined) return;
    if (--entry.connections === 0) this.byPid.delete(pid);
  }
}
