import type { AnomalyLog, AnomalySubject } from "../anomaly-log.js";

/** Most contexts one session may define unless the server is told otherwise (docs/PROTOCOL.md §3.8). */
export const DEFAULT_MAX_CONTEXTS_PER_SESSION = 4096;

/**
 * The allocation contexts one session defined (CONTEXT frames, protocol version 3): id → text, at most
 * `limit` of them. An id is defined once: a repeat with the same text is what a reconnecting client sends
 * and changes nothing; another text is a CONTEXT_CONFLICT (the first stays, so allocations already
 * recorded under the id keep their meaning). Definitions past the limit are dropped (CONTEXT_LIMIT), and
 * an allocation citing an id never defined is recorded without a context (UNKNOWN_CONTEXT): bad
 * definitions cost the session its labels, never its allocations.
 */
export class ContextTable {
  private readonly texts = new Map<number, string>();

  constructor(
    private readonly subject: AnomalySubject,
    private readonly anomalies: AnomalyLog,
    readonly limit: number = DEFAULT_MAX_CONTEXTS_PER_SESSION,
  ) {}

  get size(): number {
    return this.texts.size;
  }

  /** Records a definition; false when it was refused (limit, conflict). */
  define(contextId: number, text: string): boolean {
    const known = this.texts.get(contextId);
    if (known !== undefined) {
      if (known === text) return true;
      this.anomalies.record(
        "CONTEXT_CONFLICT",
        this.subject,
        null,
        `context ${contextId} is ${JSON.stringify(known)}; redefinition as ${JSON.stringify(text)} ignored`,
      );
      return false;
    }
    if (this.texts.size >= this.limit) {
      this.anomalies.record(
        "CONTEXT_LIMIT",
        this.subject,
        null,
        `context ${contextId} (${JSON.stringify(text)}) dropped: a session may define ${this.limit} contexts`,
      );
      return false;
    }
    this.texts.set(contextId, text);
    return true;
  }

  /**
   * The id to store for an allocation citing `contextId`: itself when defined, 0 (none) otherwise, with
   * an UNKNOWN_CONTEXT anomaly. 0 stays 0.
   */
  resolve(contextId: number, deviceId: number, allocationId: number): number {
    if (contextId === 0 || this.texts.has(contextId)) return contextId;
    this.anomalies.record(
      "UNKNOWN_CONTEXT",
      this.subject,
      deviceId,
      `allocation ${allocationId} cites context ${contextId}, which the session never defined; recorded without one`,
    );
    return 0;
  }

  /** The text of a stored id; "" for 0 (no context). */
  text(contextId: number): string {
    return contextId === 0 ? "" : (this.texts.get(contextId) ?? "");
  }
}
