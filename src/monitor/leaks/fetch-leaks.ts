import { ApiRoute, type LeaksResponse } from "../../server/api-types.js";
import { BadServerResponseError } from "../errors.js";
import { fetchServerJson } from "../fetch-json.js";

/** What `allocwatch leaks` asks for. */
export interface LeaksQuery {
  pid?: number;
  /** 1..1000 (the server's bound). */
  limit: number;
}

/**
 * Reads `GET /api/v1/leaks?pid=&limit=` from the server at `baseUrl`. Throws ServerUnreachableError when
 * nothing answers within `timeoutMs`, BadServerResponseError when the answer is not a list of reports.
 */
export async function fetchLeaks(
  baseUrl: string,
  query: LeaksQuery,
  timeoutMs = 2000,
): Promise<LeaksResponse> {
  const params = new URLSearchParams({ limit: String(query.limit) });
  if (query.pid !== undefined) params.set("pid", String(query.pid));
  const url = `${baseUrl}${ApiRoute.LEAKS}?${params}`;
  const body = await fetchServerJson(baseUrl, url, timeoutMs);
  const reports = (body as { reports?: unknown } | null)?.reports;
  if (!Array.isArray(reports)) throw new BadServerResponseError(url, "not an allocwatch leaks answer");
  return body as LeaksResponse;
}
