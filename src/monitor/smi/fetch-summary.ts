import { ApiRoute, type SummaryResponse as Summary } from "../../server/api-types.js";
import { BadServerResponseError, ServerUnreachableError } from "../errors.js";

/**
 * Reads `GET /api/v1/summary` from the server at `baseUrl`. Throws ServerUnreachableError when nothing
 * answers within `timeoutMs`, BadServerResponseError when the answer is not a summary.
 */
export async function fetchSummary(baseUrl: string, timeoutMs = 2000): Promise<Summary> {
  const url = baseUrl + ApiRoute.SUMMARY;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw new ServerUnreachableError(baseUrl, { cause });
  }
  if (!response.ok) throw new BadServerResponseError(url, `HTTP ${response.status}`);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new BadServerResponseError(url, "the body is not JSON");
  }
  if (!isSummary(body)) throw new BadServerResponseError(url, "not an allocwatch summary");
  return body;
}

// A shallow check: enough to refuse another service on the port; the server owns the details.
function isSummary(value: unknown): value is Summary {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  const anomalies = v["anomalies"] as Record<string, unknown> | undefined;
  return (
    Array.isArray(v["devices"]) &&
    Array.isArray(v["processes"]) &&
    typeof anomalies === "object" &&
    anomalies !== null &&
    typeof anomalies["total"] === "number"
  );
}
