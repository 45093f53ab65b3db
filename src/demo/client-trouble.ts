import { type ClientError, ConnectionFailedError, type ConnectionFailureReason } from "../client/errors.js";
import type { ClientState } from "../client/types.js";

/** One client error as a demo process reports it (its "client-error" milestone). */
export interface ClientTroubleReport {
  code: ClientError["code"];
  /** For a failed connection: why (permission, missing socket, refused ...). */
  reason?: ConnectionFailureReason;
  message: string;
}

/**
 * A workload's client errors, for a person: each distinct cause (error code, and for a failed
 * connection its reason) once, not once per reconnect attempt, which would be every 2 s while a server
 * is missing. Once the client is connected again, a later failure is news and is told again.
 */
export class ClientTrouble {
  private readonly told = new Set<string>();

  constructor(private readonly tell: (report: ClientTroubleReport) => void) {}

  /** For AllocationClientOptions.onError. */
  readonly onError = (error: ClientError): void => {
    const reason = error instanceof ConnectionFailedError ? error.reason : undefined;
    const cause = reason === undefined ? error.code : `${error.code} ${reason}`;
    if (this.told.has(cause)) return;
    this.told.add(cause);
    this.tell({ code: error.code, ...(reason !== undefined ? { reason } : {}), message: error.message });
  };

  /** For AllocationClientOptions.onStateChange. */
  readonly onStateChange = (state: ClientState): void => {
    if (state === "ready") this.told.clear();
  };
}
