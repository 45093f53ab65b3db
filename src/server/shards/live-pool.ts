/**
 * The server-wide live-allocation limit shared by ingest shards (docs/ARCHITECTURE.md "Ingest on more
 * than one core"). Each shard's registry may hold as many live allocations as it has *reserved* from one
 * counter in shared memory; it reserves in chunks when it reaches its reservation (Registry.allocate's
 * slow path) and gives back what it holds beyond two chunks at each of its updates. The sum of the
 * reservations never passes the limit, so neither do the live allocations; a shard can be refused while
 * others hold unused reservations, at most two chunks each.
 *
 * One Atomics operation per chunk, never per event: the counter's cache line is not fought over.
 */
export class LivePool {
  private readonly reserved: BigInt64Array;
  /** Allocations reserved at a time. */
  readonly chunk: number;

  /** `buffer`: LivePool.BYTES of shared memory, zeroed, the same for every shard. */
  constructor(
    buffer: SharedArrayBuffer,
    readonly maxLive: number,
    shards: number,
  ) {
    this.reserved = new BigInt64Array(buffer, 0, 1);
    // Small limits (tests, tiny servers) get small chunks, so that slack stays a small part of the limit.
    this.chunk = Math.max(1, Math.min(1024, Math.floor(maxLive / (8 * shards))));
  }

  static readonly BYTES = 8;

  /** Reservations of every shard together now (at least their live allocations). */
  get total(): number {
    return Number(Atomics.load(this.reserved, 0));
  }

  /** A shard holding `quota` wants more: its new quota (the same when the limit leaves no room). */
  reserve(quota: number): number {
    const want = BigInt(this.chunk);
    const before = Atomics.add(this.reserved, 0, want);
    const room = BigInt(this.maxLive) - before;
    if (room >= want) return quota + this.chunk;
    // Too little room for a chunk: keep what there is, give back the rest.
    const kept = room > 0n ? room : 0n;
    Atomics.sub(this.reserved, 0, want - kept);
    return quota + Number(kept);
  }

  /** A shard holding `quota` with `live` allocations: its new quota, two chunks of spare at most. */
  giveBack(quota: number, live: number): number {
    const spare = quota - live - 2 * this.chunk;
    if (spare <= 0) return quota;
    Atomics.sub(this.reserved, 0, BigInt(spare));
    return quota - spare;
  }
}
