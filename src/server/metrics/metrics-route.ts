import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { ApiErrorCode, type ApiErrorResponse } from "../api-types.js";
import { sendJson } from "../json-response.js";
import type { PrometheusMetrics } from "./prometheus-metrics.js";

/**
 * `GET /metrics` (and HEAD): the Prometheus text exposition. It takes no query parameters; any other
 * method is 405, as on the JSON routes. The Host check has already passed (http-api.ts).
 */
export function serveMetrics(
  metrics: PrometheusMetrics,
  request: IncomingMessage,
  response: ServerResponse,
  log: Logger,
): void {
  const method = request.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") {
    refuse(response, 405, ApiErrorCode.METHOD_NOT_ALLOWED, `${method} /metrics: only GET is supported`);
    return;
  }
  const url = new URL(request.url ?? "/", "http://localhost");
  const unknownKey = [...url.searchParams.keys()][0];
  if (unknownKey !== undefined) {
    refuse(
      response,
      400,
      ApiErrorCode.BAD_REQUEST,
      `unknown query parameter "${unknownKey.slice(0, 40)}" (/metrics takes none)`,
    );
    return;
  }
  metrics.render().then(
    (text) => {
      response.writeHead(200, {
        "content-type": metrics.contentType,
        "content-length": Buffer.byteLength(text),
        "cache-control": "no-store",
      });
      response.end(method === "HEAD" ? undefined : text);
    },
    (error: unknown) => {
      log.error({ err: error }, "/metrics failed");
      refuse(response, 500, ApiErrorCode.INTERNAL, "internal server error");
    },
  );
}

function refuse(response: ServerResponse, status: number, code: ApiErrorCode, message: string): void {
  const body: ApiErrorResponse = { error: { code, message } };
  sendJson(response, status, body);
}
