import {
  type AllocationsResponse,
  ApiRoute,
  type SeriesResponse,
  type SummaryResponse,
} from "../../server/api-types.js";
import { BadServerResponseError, ServerUnreachableError } from "../errors.js";
import { CHART_SECONDS, SeriesWindow } from "./series-window.js";
import { SseDecoder } from "./sse.js";

/** Where the feed stands: connecting (first try or after the stream ended), live, or failing. */
export type FeedStatus = "connecting" | "live" | "no-server" | "server-error";

/** What top draws from: replaced (a new object) on every change. */
export interface FeedSnapshot {
  status: FeedStatus;
  /** The last summary received (kept while reconnecting). */
  summary: SummaryResponse | undefined;
  /** Per-second history of the devices (the same object across snapshots; it is merged in place). */
  series: SeriesWindow;
  /** One line saying what failed, when status is no-server or server-error. */
  problem?: string;
}

export type AllocationSortKey = "size" | "age";

/** The data top shows, live: the server's stream, or a fixed one in tests. */
export interface TopSource {
  snapshot(): FeedSnapshot;
  /** Calls `listener` after each change; returns the function that stops it. */
  subscribe(listener: () => void): () => void;
  /** One process's live allocations on one device, largest or oldest first. */
  allocations(
    deviceId: number,
    sessionId: string,
    sort: AllocationSortKey,
    limit: number,
  ): Promise<AllocationsResponse>;
}

export interface LiveFeedOptions {
  /** Wait between tries while the server is away, ms. Default 1000. */
  retryMs?: number;
  /** Give up on one HTTP request after, ms. Default 2000. */
  requestTimeoutMs?: number;
}

/**
 * The live data of `allocwatch top`: the server's stream (`GET /api/v1/stream`: a full summary first,
 * then summaries and series increments at most 4 a second), each device's last 60 s from
 * `GET /api/v1/series` when it first appears, and retries every second while no server answers.
 */
export class LiveFeed implements TopSource {
  private current: FeedSnapshot = { status: "connecting", summary: undefined, series: new SeriesWindow() };
  private readonly listeners = new Set<() => void>();
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private readonly retryMs: number;
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly baseUrl: string,
    options: LiveFeedOptions = {},
  ) {
    this.retryMs = options.retryMs ?? 1000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2000;
  }

  snapshot(): FeedSnapshot {
    return this.current;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Ends the stream and the retries; resolves once the feed is idle. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  async allocations(
    deviceId: number,
    sessionId: string,
    sort: AllocationSortKey,
    limit: number,
  ): Promise<AllocationsResponse> {
    const query = new URLSearchParams({ sort, limit: String(limit), session: sessionId });
    return this.getJson<AllocationsResponse>(`${ApiRoute.deviceAllocations(deviceId)}?${query}`);
  }

  private update(change: Partial<FeedSnapshot>): void {
    this.current = { ...this.current, ...change };
    for (const listener of this.listeners) listener();
  }

  private async loop(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        await this.follow(signal);
        if (!signal.aborted) this.update({ status: "connecting", problem: undefined });
      } catch (err) {
        if (signal.aborted) break;
        const unreachable = err instanceof ServerUnreachableError;
        this.update({
          status: unreachable ? "no-server" : "server-error",
          problem: err instanceof Error ? err.message : String(err),
        });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.retryMs);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** One connection to the stream, until it ends; throws what went wrong. */
  private async follow(signal: AbortSignal): Promise<void> {
    const url = this.baseUrl + ApiRoute.STREAM;
    let response: Response;
    try {
      response = await fetch(url, { signal, headers: { accept: "text/event-stream" } });
    } catch (cause) {
      throw new ServerUnreachableError(this.baseUrl, { cause });
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new BadServerResponseError(url, `HTTP ${response.status}`);
    }
    const decoder = new SseDecoder();
    const seriesFetched = new Set<number>();
    const text = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        for (const message of decoder.push(text.decode(chunk, { stream: true }))) {
          let data: unknown;
          try {
            data = JSON.parse(message.data);
          } catch {
            throw new BadServerResponseError(url, `a ${message.event} message that is not JSON`);
          }
          if (message.event === "summary") {
            const summary = data as SummaryResponse;
            if (!Array.isArray(summary?.devices) || !Array.isArray(summary?.processes)) {
              throw new BadServerResponseError(url, "a summary message that is not a summary");
            }
            this.current.series.retain(summary.devices.map((d) => d.id));
            this.update({ status: "live", summary, problem: undefined });
            await this.fetchHistory(summary, seriesFetched);
          } else if (message.event === "series") {
            this.current.series.merge(data as SeriesResponse);
            this.update({});
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof BadServerResponseError) throw err;
      // The connection broke mid-stream (server stopped): reconnect.
      return;
    }
  }

  /** The last minute of every device not seen on this connection yet. */
  private async fetchHistory(summary: SummaryResponse, fetched: Set<number>): Promise<void> {
    const since = Date.now() - (CHART_SECONDS + 2) * 1000;
    for (const device of summary.devices) {
      if (fetched.has(device.id)) continue;
      fetched.add(device.id);
      try {
        const series = await this.getJson<SeriesResponse>(
          `${ApiRoute.SERIES}?device=${device.id}&since=${since}`,
        );
        this.current.series.merge(series);
      } catch {
        // A device without history (tt-shm only, or gone meanwhile) charts from now on.
      }
    }
    this.update({});
  }

  private async getJson<T>(path: string): Promise<T> {
    const url = this.baseUrl + path;
    let response: Response;
    try {
      // Stopping the feed ends a request in flight too.
      const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.requestTimeoutMs)]);
      response = await fetch(url, { signal });
    } catch (cause) {
      throw new ServerUnreachableError(this.baseUrl, { cause });
    }
    if (!response.ok) {
      let detail = `HTTP ${response.status}`;
      try {
        const body = (await response.json()) as { error?: { message?: string } };
        if (body.error?.message) detail += `: ${body.error.message}`;
      } catch {
        // no JSON error body
      }
      throw new BadServerResponseError(url, detail);
    }
    try {
      return (await response.json()) as T;
    } catch {
      throw new BadServerResponseError(url, "the body is not JSON");
    }
  }
}
