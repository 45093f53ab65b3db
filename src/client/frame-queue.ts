/**
 * FIFO of encoded frames waiting for the socket. Keeps the event count of each frame so that a
 * connection loss can count exactly what it drops, and the queued event bytes that the bound applies to.
 * Snapshot frames carry 0 events and do not count against the bound: the live set must get through.
 */
export class FrameQueue {
  private frames: Uint8Array[] = [];
  private events: number[] = [];
  private head = 0;
  private eventBytesQueued = 0;

  get length(): number {
    return this.frames.length - this.head;
  }

  /** Bytes of queued EVENTS frames (the part the bound applies to). */
  get eventBytes(): number {
    return this.eventBytesQueued;
  }

  push(frame: Uint8Array, eventCount: number): void {
    this.frames.push(frame);
    this.events.push(eventCount);
    if (eventCount > 0) this.eventBytesQueued += frame.length;
  }

  /** The oldest frame, or undefined. */
  peek(): Uint8Array | undefined {
    return this.head < this.frames.length ? this.frames[this.head] : undefined;
  }

  peekEventCount(): number {
    return this.head < this.events.length ? this.events[this.head] : 0;
  }

  /** Removes the oldest frame. */
  shift(): void {
    if (this.head >= this.frames.length) return;
    if (this.events[this.head] > 0) this.eventBytesQueued -= this.frames[this.head].length;
    this.frames[this.head] = EMPTY;
    this.head++;
    // Compact once the consumed prefix dominates, so shift stays O(1) amortized.
    if (this.head >= 1024 && this.head * 2 >= this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  /** Empties the queue; returns the number of events the dropped frames carried. */
  clear(): { frames: number; events: number } {
    let events = 0;
    for (let i = this.head; i < this.events.length; i++) events += this.events[i];
    const frames = this.length;
    this.frames = [];
    this.events = [];
    this.head = 0;
    this.eventBytesQueued = 0;
    return { frames, events };
  }
}

const EMPTY = new Uint8Array(0);
