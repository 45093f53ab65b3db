import { ApiRoute, type HistoryResponse } from "../../server/api-types.js";
import { BadServerResponseError, ServerUnreachableError } from "../errors.js";

/** What `allocwatch history` asks for (the route's query parameters; times in ms since the epoch). */
export interface HistoryQuery {
  fromMs: number;
  deviceId?: number;
  pid?: number;
  /** A memory type name (DRAM, L1, …). */
  type?: string;
}

/**
 * Reads `GET /api/v1/history` from the server at `baseUrl`. Throws ServerUnreachableError when nothing
 * answers within `timeoutMs`, BadServerResponseError with the server's own message when it refuses
 * (a 404 from a server without history, a 400 for a bad parameter).
 */
export async function fetchHistory(
  baseUrl: string,
  query: HistoryQuery,
  timeoutMs = 10_000,
): Promise<HistoryResponse> {
  const params = new URLSearchParams({ from: String(query.fromMs) });
  if (query.deviceId !== undefined) params.set("device", String(query.deviceId));
  if (query.pid !== undefined) params.set("pid", String(query.pid));
  if (query.type !== undefined) params.set("type", query.type);
  const url = `${baseUrl}${ApiRoute.HISTORY}?${params}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw new ServerUnreachableError(baseUrl, { cause });
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new BadServerResponseError(url, `HTTP ${response.status}, and the body is not JSON`);
  }
  if (!response.ok) {
    const message = (body as { error?: { message?: unknown } }).error?.message;
    throw new BadServerResponseError(url, typeof message === "string" ? message : `HTTP ${response.status}`);
  }
  const v = body as Partial<HistoryResponse>;
  if (!Array.isArray(v.series) || typeof v.stepMs !== "number" || !Array.isArray(v.lifetimes)) {
    throw new BadServerResponseError(url, "not an allocwatch history answer");
  }
  return body as HistoryResponse;
}
