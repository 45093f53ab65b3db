/**
 * Recovery kinds: what the server did to keep a session's view exact when the transport, not the data,
 * went wrong (a connection behind its siblings, a stalled server or client, events a client dropped and
 * will cover with a snapshot). Counted apart from anomalies (AnomalyKind), which mean the client reported
 * something no allocator could have done: a recovery never makes the view wrong, it costs a snapshot at
 * most. The values are stable: the HTTP API reports them as they are (SummaryResponse.recoveries).
 */
export const RecoveryKind = {
  /** A RESYNC_REQUEST sent to a session (first requests and retries while it stays stalled). */
  RESYNC_REQUESTED: "RESYNC_REQUESTED",
  /**
   * A missing sequence number declared lost after the gap timeout: every live connection of the session
   * had passed it, or those still behind delivered nothing for a whole gap timeout. A resync was requested.
   */
  GAP_TIMEOUT: "GAP_TIMEOUT",
  /**
   * A missing sequence number that arrived after waiting longer than the gap timeout, because a
   * connection that was behind its siblings kept delivering (nothing was lost, no resync).
   */
  GAP_FILLED_LATE: "GAP_FILLED_LATE",
  /** An event further ahead of the missing number than the reorder window: dropped, resync requested at once. */
  FAR_AHEAD: "FAR_AHEAD",
  /** The server-wide reorder budget was full: the event was dropped and a resync requested at once. */
  REORDER_OVERFLOW: "REORDER_OVERFLOW",
  /**
   * The connection sending a snapshot closed before its SNAPSHOT_END (the client died, was stopped, or
   * its connection was dropped): the part received was discarded and a new snapshot requested. The
   * client sent nothing wrong, so it is not a SNAPSHOT_INVALID anomaly.
   */
  SNAPSHOT_INTERRUPTED: "SNAPSHOT_INTERRUPTED",
} as const;
export type RecoveryKind = (typeof RecoveryKind)[keyof typeof RecoveryKind];
