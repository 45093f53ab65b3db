import { CallbackFailedError, type ClientError } from "./errors.js";
import type { ClientState } from "./types.js";

/**
 * The workload's callbacks. The client calls them from its own timers and socket events, where a throw
 * would break it: an onStateChange that throws is reported to onError, and an onError that throws is
 * swallowed. Every error is counted, whether or not onError is set.
 */
export class ClientListeners {
  private reported = 0;

  constructor(
    private readonly onError: ((error: ClientError) => void) | undefined,
    private readonly onStateChange: ((state: ClientState) => void) | undefined,
  ) {}

  /** Errors reported so far (ClientCounters.errors). */
  get errors(): number {
    return this.reported;
  }

  report(error: ClientError): void {
    this.reported++;
    const callback = this.onError;
    if (callback === undefined) return;
    try {
      callback(error);
    } catch {
      // An onError that throws has nowhere left to report to; the count above is all we can keep.
    }
  }

  stateChanged(state: ClientState): void {
    const callback = this.onStateChange;
    if (callback === undefined) return;
    try {
      callback(state);
    } catch (error) {
      this.report(new CallbackFailedError("onStateChange", error));
    }
  }
}
