import type { ServerResponse } from "node:http";
import type { SeriesResponse, StreamEventType, SummaryResponse } from "../api-types.js";
import type { TimerScheduler } from "../timers.js";

/** The bounds of the `/api/v1/stream` route (docs/API.md, docs/SECURITY.md). */
export interface StreamLimits {
  /** Open streams at once; one more is answered 503. */
  maxClients: number;
  /**
   * A client that still has more than this many bytes not taken by its socket when the next message is
   * due is dropped (a slow reader), bytes.
   */
  maxUnsentBytes: number;
  /** The shared tick: at most one message per client per tick, ms. */
  tickMs: number;
  /** A `: ping` comment after this long without a write, so that proxies keep the stream open, ms. */
  heartbeatMs: number;
}

export const DEFAULT_STREAM_LIMITS: Readonly<StreamLimits> = {
  maxClients: 64,
  maxUnsentBytes: 1024 * 1024,
  tickMs: 250,
  heartbeatMs: 15_000,
};

/** What the stream sends, read once per tick for every client. */
export interface StreamSources {
  summary(): SummaryResponse;
  /** Whether any figure changed since the last `takeSeries`. */
  seriesChanged(): boolean;
  /** The buckets changed since the last call (clears the change marks). */
  takeSeries(): SeriesResponse;
  /** Forgets the changes so far (no client was there to receive them). */
  restartSeries(): void;
}

/**
 * Server-Sent Events to every open `/api/v1/stream` client. One shared timer for all clients: each tick
 * builds at most one message (the summary when it changed, or the changed series buckets; when both
 * are due they alternate) and writes the same bytes to every client, so a client gets at most
 * 1000 / tickMs messages a second (plus the first summary) whatever the event rate.
 */
export class LiveStream {
  private readonly clients = new Set<ServerResponse>();
  private timer: unknown;
  /** The last summary sent, without its uptime (which changes every tick): what "changed" compares. */
  private lastSummaryKey = "";
  private lastSent: StreamEventType = "series";
  private lastWriteMs = 0;
  private closed = false;
  /** Clients dropped for reading too slowly, since start. */
  droppedSlowReaders = 0;

  constructor(
    private readonly sources: StreamSources,
    private readonly timers: TimerScheduler,
    readonly limits: StreamLimits = DEFAULT_STREAM_LIMITS,
  ) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Whether one more client would be taken. */
  get full(): boolean {
    return this.clients.size >= this.limits.maxClients;
  }

  /** Starts the event stream on `response` (check `full` first): headers, then the full summary. */
  accept(response: ServerResponse): void {
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    const first = this.clients.size === 0;
    this.clients.add(response);
    response.once("close", () => this.clients.delete(response));
    const summary = this.sources.summary();
    const json = JSON.stringify(summary);
    // The only client has this summary now; with others, a tick may repeat it to all (harmless).
    if (first) {
      this.lastSummaryKey = summaryKey(summary);
      // Increments start now; a client reads the window so far from GET /api/v1/series.
      this.sources.restartSeries();
    }
    this.write(response, message("summary", json));
    if (this.timer === undefined && !this.closed) this.schedule();
  }

  /** Ends every stream and stops the timer. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private schedule(): void {
    this.timer = this.timers.set(() => this.tick(), this.limits.tickMs);
  }

  private tick(): void {
    this.timer = undefined;
    if (this.clients.size === 0 || this.closed) return;
    const chunk = this.nextMessage();
    const now = this.timers.nowMs();
    if (chunk !== undefined) this.broadcast(chunk, now);
    else if (now - this.lastWriteMs >= this.limits.heartbeatMs) this.broadcast(": ping\n\n", now);
    this.schedule();
  }

  private nextMessage(): string | undefined {
    const summary = this.sources.summary();
    const key = summaryKey(summary);
    const summaryDue = key !== this.lastSummaryKey;
    const seriesDue = this.sources.seriesChanged();
    if (summaryDue && (this.lastSent === "series" || !seriesDue)) {
      this.lastSummaryKey = key;
      this.lastSent = "summary";
      return message("summary", JSON.stringify(summary));
    }
    if (seriesDue) {
      this.lastSent = "series";
      return message("series", JSON.stringify(this.sources.takeSeries()));
    }
    return undefined;
  }

  private broadcast(chunk: string, nowMs: number): void {
    this.lastWriteMs = nowMs;
    // Encoded once: every client gets the same bytes.
    const bytes = Buffer.from(chunk);
    for (const client of this.clients) this.write(client, bytes);
  }

  /**
   * Writes unless the client still has more than maxUnsentBytes of earlier messages not taken by its
   * socket: a slow reader would make the server hold every message for it, so it is dropped (the others
   * are not). A client thus costs at most maxUnsentBytes plus one message.
   */
  private write(client: ServerResponse, chunk: string | Buffer): void {
    if (client.writableLength > this.limits.maxUnsentBytes) {
      this.droppedSlowReaders++;
      this.clients.delete(client);
      client.destroy();
      return;
    }
    client.write(chunk);
  }
}

/** The summary as compared between ticks: without the uptime, which changes every tick. */
function summaryKey(summary: SummaryResponse): string {
  const uptimeMs = summary.server.uptimeMs;
  summary.server.uptimeMs = 0;
  const key = JSON.stringify(summary);
  summary.server.uptimeMs = uptimeMs;
  return key;
}

function message(type: StreamEventType, json: string): string {
  return `event: ${type}\ndata: ${json}\n\n`;
}
