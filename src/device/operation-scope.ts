import { OperationScopeError } from "./errors.js";

/** Deepest nesting of operations one scope keeps (a bound on a runaway begin without end). */
export const MAX_OPERATION_DEPTH = 256;

/**
 * The operations a thread is inside on one device, innermost last: what its allocations are for (as
 * TT-NN's graph capture names them: "ttnn.matmul", "ttnn.conv2d" ...). A reporting processor reads
 * `current` while the allocator reports a change (synchronously, inside the allocation), so every
 * allocation made inside `run(name, fn)` (or between `begin(name)` and `end()`) carries the innermost
 * name. Per thread, as tt-metal's: a shared device's view in each worker keeps its own.
 */
export class OperationScope {
  private readonly names: string[] = [];

  /** The innermost operation, or "" outside every operation. */
  get current(): string {
    const names = this.names;
    return names.length === 0 ? "" : names[names.length - 1];
  }

  /** How many operations are open. */
  get depth(): number {
    return this.names.length;
  }

  /** Enters operation `name` (a non-empty string) until the matching `end`. */
  begin(name: string): void {
    if (typeof name !== "string" || name.length === 0) {
      throw new OperationScopeError(`an operation needs a non-empty name, got ${JSON.stringify(name)}`);
    }
    if (this.names.length >= MAX_OPERATION_DEPTH) {
      throw new OperationScopeError(
        `operations nest at most ${MAX_OPERATION_DEPTH} deep (is an end() missing?); "${name}" not entered`,
      );
    }
    this.names.push(name);
  }

  /** Leaves the innermost operation; `name`, when given, must be it. */
  end(name?: string): void {
    const current = this.names[this.names.length - 1];
    if (current === undefined) throw new OperationScopeError("end() without a begin(): no operation is open");
    if (name !== undefined && name !== current) {
      throw new OperationScopeError(`end("${name}") while "${current}" is the innermost operation`);
    }
    this.names.pop();
  }

  /**
   * Runs `fn` inside operation `name` and leaves it however `fn` ends. For a synchronous body: the scope
   * ends when `fn` returns, so allocations an async body makes after its first await are outside it (use
   * begin/end around the awaited work instead).
   */
  run<T>(name: string, fn: () => T): T {
    this.begin(name);
    try {
      return fn();
    } finally {
      this.end(name);
    }
  }
}
