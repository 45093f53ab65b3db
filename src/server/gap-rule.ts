/**
 * The session's live connections as the gap rule sees them (Session implements it): a missing number
 * may still be on its way on any of them.
 */
export interface SessionLinks {
  /** Live connections of the session. */
  readonly linkCount: number;
  /** Id (SessionPeer.id) of the i-th live connection, 0 <= i < linkCount. */
  linkId(i: number): number;
  /** When the i-th live connection last delivered a frame (events or snapshot), ms on the server's clock. */
  linkDeliveredAtMs(i: number): number;
}

/** What the gap rule says about a number still missing when the gap timer fires. */
export const GapVerdict = {
  /** It is lost: ask for a snapshot. */
  LOST: 0,
  /** A connection that has not passed it is still delivering: it may be on its way, wait a gap timeout. */
  WAIT: 1,
  /**
   * Every connection that has not passed it looks quiet, but the server itself may have been stalled
   * (stopped, overloaded) with their bytes unread: look again once the event loop has read its sockets.
   */
  CONFIRM: 2,
} as const;
export type GapVerdict = (typeof GapVerdict)[keyof typeof GapVerdict];

/** One connection's progress on one device: the highest seq it delivered. */
export class DeliveryLane {
  highSeq = 0;
  constructor(readonly source: number) {}
}

/**
 * The gap rule of one (session, device) (docs/PROTOCOL.md 3.3). A connection delivers a device's
 * numbers in increasing order (the client stamps them in its allocator's critical section and writes its
 * frames FIFO), so once the highest seq it delivered is above a missing number, that number will never
 * come on it. After the gap timeout a missing number is:
 * - lost when every live connection has passed it (or the session has none);
 * - waited for, another gap timeout, while a connection that has not passed it is still delivering
 *   (delivered any frame within the last gap timeout);
 * - when the only connections behind it are quiet, confirmed once more after a short delay, which the
 *   event loop spends reading sockets: lost if they stayed quiet, waited for if they delivered. So a
 *   server that was stopped or overloaded never mistakes its own unread bytes for a peer's silence; a
 *   confirmation that itself fires late is repeated.
 *
 * One lane per connection that delivered to the device (a handful, created once per connection), so the
 * sequencer's per-event update is one compare and one store on a lane it keeps at hand.
 */
export class GapRule {
  private readonly lanes: DeliveryLane[] = [];
  private confirming = false;
  private confirmFromMs = 0;
  private confirmDueMs = 0;
  /** Delay of a confirmation, ms. */
  readonly confirmDelayMs: number;

  constructor(
    private readonly links: SessionLinks,
    readonly gapTimeoutMs: number,
  ) {
    this.confirmDelayMs = Math.max(1, Math.min(100, Math.round(gapTimeoutMs / 10)));
  }

  /** The lane of connection `source`, created on its first delivery. */
  laneFor(source: number): DeliveryLane {
    for (const lane of this.lanes) if (lane.source === source) return lane;
    const lane = new DeliveryLane(source);
    this.lanes.push(lane);
    return lane;
  }

  /** Highest seq connection `source` delivered, 0 when none. */
  highSeqOf(source: number): number {
    for (const lane of this.lanes) if (lane.source === source) return lane.highSeq;
    return 0;
  }

  /** The connection closed: nothing more comes on it. */
  connectionClosed(source: number): void {
    const i = this.lanes.findIndex((lane) => lane.source === source);
    if (i >= 0) this.lanes.splice(i, 1);
  }

  /** Forgets a pending confirmation (the hole it was about filled, or a snapshot came). */
  reset(): void {
    this.confirming = false;
  }

  /** Whether the next timer should be a confirmation's (`confirmDelayMs`) rather than a gap timeout. */
  get confirmationDue(): boolean {
    return this.confirming;
  }

  /** The gap timer fired (a timeout, or the confirmation asked for) and `hole` is still missing. */
  judge(hole: number, nowMs: number): GapVerdict {
    if (!this.confirming) {
      const verdict = this.scan(hole, nowMs - this.gapTimeoutMs, false);
      if (verdict === GapVerdict.CONFIRM) this.startConfirming(nowMs);
      return verdict;
    }
    if (nowMs > this.confirmDueMs + this.confirmDelayMs) {
      // The confirmation itself fired late: the loop stalled again, so look once more.
      this.startConfirming(nowMs);
      return GapVerdict.CONFIRM;
    }
    this.confirming = false;
    // Still quiet after a turn of the event loop: lost.
    return this.scan(hole, this.confirmFromMs, true) === GapVerdict.WAIT ? GapVerdict.WAIT : GapVerdict.LOST;
  }

  private startConfirming(nowMs: number): void {
    this.confirming = true;
    this.confirmFromMs = nowMs;
    this.confirmDueMs = nowMs + this.confirmDelayMs;
  }

  /**
   * LOST when every live connection has passed `hole`; WAIT when one that has not delivered a frame
   * after `activeAfterMs` (or at it, when `inclusive`); CONFIRM when those behind are all quiet.
   */
  private scan(hole: number, activeAfterMs: number, inclusive: boolean): GapVerdict {
    const links = this.links;
    let behind = false;
    for (let i = 0; i < links.linkCount; i++) {
      if (this.highSeqOf(links.linkId(i)) >= hole) continue;
      behind = true;
      const at = links.linkDeliveredAtMs(i);
      if (at > activeAfterMs || (inclusive && at === activeAfterMs)) return GapVerdict.WAIT;
    }
    return behind ? GapVerdict.CONFIRM : GapVerdict.LOST;
  }
}
