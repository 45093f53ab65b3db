import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import {
  type AllocationSort,
  ApiErrorCode,
  type ApiErrorResponse,
  ApiRoute,
  DEFAULT_HTTP_HOST,
  DEFAULT_HTTP_PORT,
  type HealthResponse,
  type HistoryResponse,
  type LeaksResponse,
  type MemoryMapType,
  type SeriesResponse,
} from "./api-types.js";
import { isDashboardPath, loadDashboardAssets, serveDashboardAsset } from "./dashboard-assets.js";
import { InvalidOptionError, ListenError } from "./errors.js";
import { type HistoryRequest, HistoryRequestError, parseHistoryRequest } from "./history/history-request.js";
import { HostAllowList, isLoopbackAddress, publicBindRefusal } from "./http-host-policy.js";
import { sendJson } from "./json-response.js";
import {
  DEFAULT_MEMORY_MAP_BUCKETS,
  MAX_MEMORY_MAP_BUCKETS,
  MEMORY_MAP_TYPES,
} from "./memory-map/memory-map.js";
import { serveMetrics } from "./metrics/metrics-route.js";
import type { PrometheusMetrics } from "./metrics/prometheus-metrics.js";
import type { ServerQueries } from "./queries.js";
import type { LiveStream } from "./stream/live-stream.js";

export const MAX_ALLOCATIONS_LIMIT = 10_000;
export const DEFAULT_ALLOCATIONS_LIMIT = 100;
const SORTS: readonly AllocationSort[] = ["size", "address", "age"];
const SESSION_ID_PATTERN = /^[0-9a-f]{32}$/;
const DEVICE_ROUTE = /^\/api\/v1\/devices\/([^/]+)\/allocations$/;
const MEMORY_MAP_ROUTE = /^\/api\/v1\/devices\/([^/]+)\/memory-map$/;

export interface HttpAddress {
  host: string;
  /** 0 = let the OS choose. */
  port: number;
}

/** Where the HTTP API listens unless told otherwise. */
export const DEFAULT_HTTP_ADDRESS: Readonly<HttpAddress> = {
  host: DEFAULT_HTTP_HOST,
  port: DEFAULT_HTTP_PORT,
};

/** Parses `--http host:port` (`[::1]:7477` for IPv6). */
export function parseHttpAddress(text: string): HttpAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535) {
    throw new InvalidOptionError(
      `--http must be HOST:PORT with PORT in 0..65535 (e.g. 127.0.0.1:7477), got "${text}"`,
    );
  }
  return { host: match[1] ?? match[2]!, port };
}

/** The running HTTP API. */
export interface HttpApi {
  /** The bound address (the real port when 0 was asked). */
  readonly address: HttpAddress;
  readonly url: string;
  close(): Promise<void>;
}

/** What to do when the port is taken (`serve` and `start` both take --http and $ALLOCWATCH_HTTP). */
const PORT_IN_USE_HINT =
  "; another program (perhaps another allocwatch server) uses that port: choose another with " +
  "--http HOST:PORT (or $ALLOCWATCH_HTTP), or --http 127.0.0.1:0 for any free port";

/** Who may reach the HTTP API (http-host-policy.ts). */
export interface HttpAccess {
  /** Allow binding an address other machines can reach (`--http-public`). */
  public: boolean;
  /** Host names answered besides the loopback names and the bound address (`--http-allow-host`). */
  allowHosts: readonly string[];
}

/**
 * Serves the query API (routes and shapes: api-types.ts) and, given `metrics`, the Prometheus
 * exposition at /metrics. Read-only, GET only; requests naming a Host
 * that is not this machine are refused. A non-loopback address is refused (InvalidOptionError) unless
 * `access.public`, and then logged as a warning.
 */
export async function startHttpApi(
  queries: ServerQueries,
  address: HttpAddress,
  log: Logger,
  access: HttpAccess,
  stream?: LiveStream,
  metrics?: PrometheusMetrics,
): Promise<HttpApi> {
  let hosts: HostAllowList | undefined;
  const dashboard = loadDashboardAssets();
  const server = createServer((request, response) => {
    if (hosts?.allows(request.headers.host) !== true) refuseHost(request, response);
    else if (stream !== undefined && isStreamRequest(request)) openStream(stream, request, response);
    else if (metrics !== undefined && pathOf(request) === ApiRoute.METRICS)
      serveMetrics(metrics, request, response, log);
    else if (!serveDashboard(dashboard, request, response)) handle(queries, request, response, log);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      const hint = error.code === "EADDRINUSE" ? PORT_IN_USE_HINT : "";
      reject(
        new ListenError(`cannot serve HTTP on ${address.host}:${address.port}: ${error.message}${hint}`),
      );
    });
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  if (!isLoopbackAddress(bound.address)) {
    // A host name is only known to be public once resolved and bound.
    if (!access.public) {
      await closeServer(server);
      throw new InvalidOptionError(publicBindRefusal(address.host, address.port));
    }
    log.warn(
      { http: `${host}:${bound.port}` },
      "the HTTP API is bound to a non-loopback address (--http-public): other machines can read it",
    );
  }
  hosts = new HostAllowList(address.host, bound.address, access.allowHosts);
  return {
    address: { host: bound.address, port: bound.port },
    url: `http://${host}:${bound.port}`,
    close: () => {
      // Streams end with a clean end of chunked body before their connections are closed.
      stream?.close();
      return closeServer(server);
    },
  };
}

function isStreamRequest(request: IncomingMessage): boolean {
  const method = request.method ?? "GET";
  return (method === "GET" || method === "HEAD") && pathOf(request) === "/api/v1/stream";
}

function pathOf(request: IncomingMessage): string {
  return new URL(request.url ?? "/", "http://localhost").pathname;
}

/** `/api/v1/stream`: 503 beyond the stream limit, else Server-Sent Events until either side closes. */
function openStream(stream: LiveStream, request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? "/", "http://localhost");
  const unknownKey = [...url.searchParams.keys()][0];
  if (unknownKey !== undefined) {
    const body: ApiErrorResponse = {
      error: {
        code: ApiErrorCode.BAD_REQUEST,
        message: `unknown query parameter "${unknownKey}" (the stream takes none)`,
      },
    };
    sendJson(response, 400, body);
    return;
  }
  if (stream.full) {
    const body: ApiErrorResponse = {
      error: {
        code: ApiErrorCode.TOO_MANY_STREAMS,
        message: `${stream.limits.maxClients} streams are open, the server's limit: close one or poll ${"/api/v1/summary"}`,
      },
    };
    sendJson(response, 503, body);
    return;
  }
  if (request.method === "HEAD") {
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
    });
    response.end();
    return;
  }
  stream.accept(response);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A request the API refuses, with the status and code it answers (never leaves this file). */
class ApiRequestError extends Error {
  override readonly name = "ApiRequestError";
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** 403 for a Host that is not this machine: the request may come from a page that rebound a name. */
function refuseHost(request: IncomingMessage, response: ServerResponse): void {
  const host = request.headers.host;
  const refused =
    host === undefined
      ? "a request without a Host header is refused"
      : `Host ${JSON.stringify(host.slice(0, 100))} does not name this server (a web page may have rebound a DNS name to it)`;
  const body: ApiErrorResponse = {
    error: {
      code: ApiErrorCode.HOST_NOT_ALLOWED,
      message: `${refused}: use localhost or 127.0.0.1, or start the server with --http-allow-host NAME`,
    },
  };
  sendJson(response, 403, body);
}

/** The web dashboard's page and assets (GET/HEAD); false for every other request. */
function serveDashboard(
  assets: ReturnType<typeof loadDashboardAssets>,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  const method = request.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") return false;
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  if (!isDashboardPath(path)) return false;
  if (serveDashboardAsset(assets, path, request, response)) return true;
  const message =
    assets.size === 0 ? `no route ${path} (the dashboard was not built: npm run build)` : `no route ${path}`;
  const body: ApiErrorResponse = { error: { code: ApiErrorCode.NOT_FOUND, message } };
  sendJson(response, 404, body);
  return true;
}

function handle(
  queries: ServerQueries,
  request: IncomingMessage,
  response: ServerResponse,
  log: Logger,
): void {
  try {
    const url = new URL(request.url ?? "/", "http://localhost");
    const body = route(queries, request.method ?? "GET", url);
    sendJson(response, 200, body);
  } catch (error) {
    if (error instanceof ApiRequestError) {
      const body: ApiErrorResponse = { error: { code: error.code, message: error.message } };
      sendJson(response, error.status, body);
      return;
    }
    log.error({ err: error, url: request.url }, "HTTP API handler failed");
    const body: ApiErrorResponse = {
      error: { code: ApiErrorCode.INTERNAL, message: "internal server error" },
    };
    sendJson(response, 500, body);
  }
}

function route(queries: ServerQueries, method: string, url: URL): unknown {
  const path = url.pathname;
  const known =
    path === "/healthz" ||
    path === "/api/v1/summary" ||
    path === "/api/v1/anomalies" ||
    path === "/api/v1/series" ||
    path === "/api/v1/stream" ||
    path === "/api/v1/leaks" ||
    path === "/api/v1/history" ||
    DEVICE_ROUTE.test(path) ||
    MEMORY_MAP_ROUTE.test(path);
  if (!known) throw new ApiRequestError(404, ApiErrorCode.NOT_FOUND, `no route ${path}`);
  if (method !== "GET" && method !== "HEAD") {
    throw new ApiRequestError(
      405,
      ApiErrorCode.METHOD_NOT_ALLOWED,
      `${method} ${path}: only GET is supported`,
    );
  }
  if (path === "/healthz") return { status: "ok", uptimeMs: queries.uptimeMs() } satisfies HealthResponse;
  if (path === "/api/v1/summary") return queries.summary();
  if (path === "/api/v1/anomalies") return queries.anomalies();
  if (path === "/api/v1/series") return series(queries, url);
  if (path === "/api/v1/leaks") return leaks(queries, url);
  if (path === "/api/v1/history") return history(queries, url);
  if (path === "/api/v1/stream") {
    throw new ApiRequestError(404, ApiErrorCode.NOT_FOUND, "this server has no live stream");
  }
  const map = MEMORY_MAP_ROUTE.exec(path);
  if (map !== null) return memoryMap(queries, parseDeviceId(map[1]), url.searchParams);
  const match = DEVICE_ROUTE.exec(path)!;
  const deviceId = parseDeviceId(match[1]);
  const limit = parseLimit(url.searchParams.get("limit"));
  const sort = parseSort(url.searchParams.get("sort"));
  const session = parseSession(url.searchParams.get("session"));
  for (const key of url.searchParams.keys()) {
    if (key !== "limit" && key !== "sort" && key !== "session") {
      throw badRequest(`unknown query parameter "${key}" (allowed: limit, sort, session)`);
    }
  }
  const result = queries.allocations(deviceId, sort, limit, session);
  if (result === undefined) throw new ApiRequestError(404, ApiErrorCode.NOT_FOUND, `no device ${deviceId}`);
  return result;
}

/** Most reports one `/api/v1/leaks` answer lists, and how many by default. */
export const MAX_LEAKS_LIMIT = 1000;
export const DEFAULT_LEAKS_LIMIT = 100;

function leaks(queries: ServerQueries, url: URL): LeaksResponse {
  for (const key of url.searchParams.keys()) {
    if (key !== "pid" && key !== "limit") {
      throw badRequest(`unknown query parameter "${key}" (allowed: pid, limit)`);
    }
  }
  const limitText = url.searchParams.get("limit");
  const limit =
    limitText === null ? DEFAULT_LEAKS_LIMIT : /^\d{1,4}$/.test(limitText) ? Number(limitText) : 0;
  if (!(limit >= 1 && limit <= MAX_LEAKS_LIMIT)) {
    throw badRequest(`limit must be an integer in 1..${MAX_LEAKS_LIMIT}, got "${limitText}"`);
  }
  const pidText = url.searchParams.get("pid");
  let pid: number | undefined;
  if (pidText !== null) {
    pid = /^\d{1,10}$/.test(pidText) ? Number(pidText) : 0;
    if (!(pid >= 1 && pid <= 0xffffffff))
      throw badRequest(`pid must be a positive integer, got "${pidText}"`);
  }
  return queries.leaks(pid, limit);
}

function series(queries: ServerQueries, url: URL): SeriesResponse {
  for (const key of url.searchParams.keys()) {
    if (key !== "device" && key !== "since") {
      throw badRequest(`unknown query parameter "${key}" (allowed: device, since)`);
    }
  }
  const device = url.searchParams.get("device");
  if (device === null) throw badRequest("device is required (a device id in 0..65534)");
  const deviceId = parseDeviceId(device);
  const since = parseSince(url.searchParams.get("since"));
  const result = queries.series(deviceId, since);
  if (result === undefined) throw new ApiRequestError(404, ApiErrorCode.NOT_FOUND, `no device ${deviceId}`);
  return result;
}

/** `/api/v1/history`: 400 for a malformed query, 404 when the server keeps no history. */
function history(queries: ServerQueries, url: URL): HistoryResponse {
  let request: HistoryRequest;
  try {
    request = parseHistoryRequest(url.searchParams, queries.epochMs());
  } catch (error) {
    if (error instanceof HistoryRequestError) throw badRequest(error.message);
    throw error;
  }
  const result = queries.history(request);
  if (result === undefined) {
    throw new ApiRequestError(
      404,
      ApiErrorCode.NOT_FOUND,
      "this server keeps no history (started with --no-history, or embedded without the history option)",
    );
  }
  return result;
}

function memoryMap(queries: ServerQueries, deviceId: number, params: URLSearchParams): unknown {
  const type = parseMapType(params.get("type"));
  const buckets = parseBuckets(params.get("buckets"));
  for (const key of params.keys()) {
    if (key !== "type" && key !== "buckets") {
      throw badRequest(`unknown query parameter "${key}" (allowed: type, buckets)`);
    }
  }
  const result = queries.memoryMap(deviceId, type, buckets);
  if (result === undefined) throw new ApiRequestError(404, ApiErrorCode.NOT_FOUND, `no device ${deviceId}`);
  return result;
}

/** `since`: ms since the epoch, a whole number; absent = the whole window. */
function parseSince(text: string | null): number {
  if (text === null) return 0;
  const since = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(since)) {
    throw badRequest(
      `since must be a whole number of ms since the epoch (e.g. ${Date.now() - 60_000}), got "${text}"`,
    );
  }
  return since;
}

function parseMapType(text: string | null): MemoryMapType {
  if (text === null || !(MEMORY_MAP_TYPES as readonly string[]).includes(text)) {
    const got = text === null ? "none" : `"${text.slice(0, 40)}"`;
    throw badRequest(`type must be one of ${MEMORY_MAP_TYPES.join(", ")}, got ${got}`);
  }
  return text as MemoryMapType;
}

function parseBuckets(text: string | null): number {
  if (text === null) return DEFAULT_MEMORY_MAP_BUCKETS;
  const buckets = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!(buckets >= 1 && buckets <= MAX_MEMORY_MAP_BUCKETS)) {
    throw badRequest(
      `buckets must be an integer in 1..${MAX_MEMORY_MAP_BUCKETS}, got "${text.slice(0, 40)}"`,
    );
  }
  return buckets;
}

function parseDeviceId(text: string): number {
  const id = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(id >= 0 && id < 0xffff)) throw badRequest(`device id must be an integer in 0..65534, got "${text}"`);
  return id;
}

function parseLimit(text: string | null): number {
  if (text === null) return DEFAULT_ALLOCATIONS_LIMIT;
  const limit = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_ALLOCATIONS_LIMIT)) {
    throw badRequest(`limit must be an integer in 1..${MAX_ALLOCATIONS_LIMIT}, got "${text}"`);
  }
  return limit;
}

function parseSort(text: string | null): AllocationSort {
  if (text === null) return "size";
  if (!(SORTS as readonly string[]).includes(text)) {
    throw badRequest(`sort must be one of ${SORTS.join(", ")}, got "${text}"`);
  }
  return text as AllocationSort;
}

function parseSession(text: string | null): string | undefined {
  if (text === null) return undefined;
  if (!SESSION_ID_PATTERN.test(text))
    throw badRequest(`session must be 32 lowercase hex characters, got "${text}"`);
  return text;
}

function badRequest(message: string): ApiRequestError {
  return new ApiRequestError(400, ApiErrorCode.BAD_REQUEST, message);
}
