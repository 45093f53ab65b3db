/**
 * The package's main entry ("allocwatch"): run an allocation server in this process, and the types of
 * its HTTP/JSON API. A program that reports its allocations imports "allocwatch/client" instead.
 */
export * from "./server/api-types.js";
export * from "./server/errors.js";
export type { HttpAddress } from "./server/http-api.js";
export type { LegacyOptions } from "./server/legacy/options.js";
export type { ProcessLiveness } from "./server/process-liveness.js";
export type { ServerQueries } from "./server/queries.js";
export {
  type LogLevel,
  type RunningServer,
  SERVER_VERSION,
  type ServerOptions,
  startServer,
} from "./server/server.js";
export type { TimerScheduler } from "./server/timers.js";
export { VERSION } from "./version.js";
