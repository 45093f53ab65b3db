/**
 * Every way the shard transport (shard-pool.ts, shard-port.ts) can fail, each with a stable string code:
 * callers match on `code` (or the class), never on `message`.
 */
export const ShardErrorCode = {
  /** Connections cannot move to worker threads here (no addon, or turned off): run on one thread. */
  TRANSPORT_UNAVAILABLE: "SHARD_TRANSPORT_UNAVAILABLE",
  /** A shard's worker failed before it said it was ready (threw, exited, or was too slow). */
  START_FAILED: "SHARD_START_FAILED",
  /** The shard is restarting, has given up after too many failures, or the pool is closed. */
  UNAVAILABLE: "SHARD_UNAVAILABLE",
  /** A synchronous call got no reply within the pool's callTimeoutMs. */
  CALL_TIMEOUT: "SHARD_CALL_TIMEOUT",
  /** The shard's call handler threw (or its reply could not be posted); its message is carried. */
  CALL_FAILED: "SHARD_CALL_FAILED",
  /** A socket could not be handed over (no descriptor, already reading, the copy failed). */
  HANDOVER_FAILED: "SHARD_HANDOVER_FAILED",
  /** An option of ShardPool.start is invalid. */
  INVALID_OPTION: "SHARD_INVALID_OPTION",
} as const;
export type ShardErrorCode = (typeof ShardErrorCode)[keyof typeof ShardErrorCode];

export class ShardError extends Error {
  override readonly name: string = "ShardError";
  readonly code: ShardErrorCode;

  constructor(code: ShardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export class ShardTransportUnavailableError extends ShardError {
  override readonly name = "ShardTransportUnavailableError";
  constructor(reason: string) {
    super(
      ShardErrorCode.TRANSPORT_UNAVAILABLE,
      `connections cannot be handed to worker threads: ${reason}; ingest stays on one thread`,
    );
  }
}

export class ShardStartError extends ShardError {
  override readonly name = "ShardStartError";
  readonly shard: number;
  constructor(shard: number, cause: unknown) {
    super(ShardErrorCode.START_FAILED, `shard ${shard} did not start: ${describe(cause)}`, { cause });
    this.shard = shard;
  }
}

/** What a shard is doing when it cannot take work. */
export type ShardUnavailableState = "restarting" | "down" | "closed";

export class ShardUnavailableError extends ShardError {
  override readonly name = "ShardUnavailableError";
  readonly shard: number;
  readonly state: ShardUnavailableState;
  constructor(shard: number, state: ShardUnavailableState) {
    super(
      ShardErrorCode.UNAVAILABLE,
      state === "restarting"
        ? `shard ${shard} is restarting after its worker exited`
        : state === "down"
          ? `shard ${shard} is down: its worker failed too often in a row and is not restarted`
          : `shard ${shard} is closed (the pool was closed)`,
    );
    this.shard = shard;
    this.state = state;
  }
}

/** No shard can take a new connection: every one is restarting or down. */
export class NoShardAvailableError extends ShardError {
  override readonly name = "NoShardAvailableError";
  constructor(shards: number) {
    super(
      ShardErrorCode.UNAVAILABLE,
      `none of the ${shards} shards can take a connection (restarting or down)`,
    );
  }
}

export class ShardCallTimeoutError extends ShardError {
  override readonly name = "ShardCallTimeoutError";
  readonly shard: number;
  constructor(shard: number, timeoutMs: number) {
    super(ShardErrorCode.CALL_TIMEOUT, `shard ${shard} did not answer a call within ${timeoutMs} ms`);
    this.shard = shard;
  }
}

export class ShardCallFailedError extends ShardError {
  override readonly name = "ShardCallFailedError";
  readonly shard: number;
  /** The message of what the shard's handler threw. */
  readonly handlerMessage: string;
  constructor(shard: number, handlerMessage: string) {
    super(ShardErrorCode.CALL_FAILED, `shard ${shard} failed a call: ${handlerMessage}`);
    this.shard = shard;
    this.handlerMessage = handlerMessage;
  }
}

export class ShardHandOverError extends ShardError {
  override readonly name = "ShardHandOverError";
  constructor(message: string, cause?: unknown) {
    super(ShardErrorCode.HANDOVER_FAILED, message, cause === undefined ? undefined : { cause });
  }
}

export class ShardOptionError extends ShardError {
  override readonly name = "ShardOptionError";
  constructor(message: string) {
    super(ShardErrorCode.INVALID_OPTION, message);
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
