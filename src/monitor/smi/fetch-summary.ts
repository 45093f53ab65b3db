import { ApiRoute, type SummaryResponse as Summary } from "../../server/api-types.js";
import { BadServerResponseError } from "../errors.js";
import { fetchServerJson } from "../fetch-json.js";

/**
 * Reads `GET /api/v1/summary` from the server at `baseUrl`. Throws ServerUnreachableError when nothing
 * answers within `timeoutMs`, BadServerResponseError when the answer is not a summary.
 */
export async function fetchSummary(baseUrl: string, timeoutMs = 2000): Promise<Summary> {
  const url = baseUrl + ApiRoute.SUMMARY;
  const body = await fetchServerJson(baseUrl, url, timeoutMs);
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
