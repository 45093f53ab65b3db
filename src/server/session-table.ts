import type { DeviceDescriptor } from "../protocol/frames.js";
import type { DeviceCatalog } from "./device-catalog.js";
import { ConnectionProtocolError, ServerErrorCode } from "./errors.js";
import { Session, type SessionDeps, type SessionIdentity, type SessionPeer } from "./session.js";

/** Most device ids one session may announce (over all its HELLOs) unless told otherwise. */
export const DEFAULT_MAX_DEVICES_PER_SESSION = 64;

/** Why a session's memory was released. */
export type ReleaseReason = "goodbye" | "process-exited" | "grace-expired" | "server-shutdown";

/** What the table tells the rest of the server (reaper, logs). */
export interface SessionTableHooks {
  opened?(session: Session, reattached: boolean): void;
  /** The session's last connection closed (the reaper decides what happens next). */
  idle?(session: Session): void;
  /** A connection came back to an idle session. */
  reattached?(session: Session): void;
  /** `allocationsReleased`: live allocations the session held when it was released. */
  released?(session: Session, reason: ReleaseReason, allocationsReleased: number): void;
}

/**
 * Every live session by id. `attach` is the one way in for any source (native HELLO, legacy adapter):
 * it creates the session or re-attaches a reconnecting process to its existing one, and records the
 * device descriptors it brings (at most `maxDevicesPerSession` ids per session); `release` forgets the
 * descriptions and device totals that only the session kept alive.
 */
export class SessionTable {
  private readonly byId = new Map<string, Session>();
  private readonly hooks: SessionTableHooks[] = [];

  constructor(
    private readonly deps: SessionDeps,
    private readonly catalog: DeviceCatalog,
    private readonly maxDevicesPerSession: number = DEFAULT_MAX_DEVICES_PER_SESSION,
  ) {}

  /** Adds listeners (several parts of the server listen: reaper, log). */
  listen(hooks: SessionTableHooks): void {
    this.hooks.push(hooks);
  }

  get size(): number {
    return this.byId.size;
  }

  get(sessionId: string): Session | undefined {
    return this.byId.get(sessionId);
  }

  values(): IterableIterator<Session> {
    return this.byId.values();
  }

  /**
   * Attaches `peer` to the session `identity.sessionId`, creating it if needed. A live session id
   * presented by another process (pid or start time differ) is refused with SERVER_SESSION_CONFLICT; one
   * that would announce more than `maxDevicesPerSession` device ids with SERVER_TOO_MANY_DEVICES.
   */
  attach(identity: SessionIdentity, devices: readonly DeviceDescriptor[], peer: SessionPeer): Session {
    let session = this.byId.get(identity.sessionId);
    const reattached = session !== undefined;
    if (session !== undefined) {
      const known = session.identity;
      if (
        known.pid !== identity.pid ||
        (known.processStartTicks !== 0 &&
          identity.processStartTicks !== 0 &&
          known.processStartTicks !== identity.processStartTicks)
      ) {
        throw new ConnectionProtocolError(
          ServerErrorCode.SESSION_CONFLICT,
          `session ${identity.sessionId} belongs to pid ${known.pid}; a process must choose its own session id`,
        );
      }
    }
    this.checkDeviceLimit(session, devices);
    if (session === undefined) {
      session = new Session(identity, this.deps);
      this.byId.set(identity.sessionId, session);
    }
    session.announce(devices);
    for (const descriptor of devices) {
      this.catalog.describe(descriptor, session.account);
      this.deps.registry.device(descriptor.deviceId);
    }
    const wasIdle = session.connectionCount === 0;
    session.attach(peer);
    for (const h of this.hooks) h.opened?.(session, reattached);
    if (reattached && wasIdle) for (const h of this.hooks) h.reattached?.(session);
    return session;
  }

  /** Throws SERVER_TOO_MANY_DEVICES when `devices` would bring the session above the limit. */
  private checkDeviceLimit(session: Session | undefined, devices: readonly DeviceDescriptor[]): void {
    const ids = new Set(session?.announcedDevices);
    for (const device of devices) ids.add(device.deviceId);
    if (ids.size <= this.maxDevicesPerSession) return;
    throw new ConnectionProtocolError(
      ServerErrorCode.TOO_MANY_DEVICES,
      `a session may announce at most ${this.maxDevicesPerSession} device ids (this HELLO brings it to ${ids.size}); ` +
        "the server's limit is set with --max-devices-per-session",
    );
  }

  /** A peer's link closed. */
  detach(session: Session, peer: SessionPeer): void {
    const left = session.detach(peer);
    if (left === 0 && !session.isReleased) for (const h of this.hooks) h.idle?.(session);
  }

  /** Releases the session's memory, closes its connections and forgets it. */
  release(
    session: Session,
    reason: ReleaseReason,
    closeCode: string = ServerErrorCode.SESSION_RELEASED,
  ): void {
    if (session.isReleased) return;
    const allocations = session.account.liveAllocations;
    const deviceIds = new Set([...session.announcedDevices, ...session.account.ledgers.keys()]);
    session.release();
    if (this.byId.get(session.sessionId) === session) this.byId.delete(session.sessionId);
    this.catalog.forget(session.account, deviceIds);
    for (const id of deviceIds) {
      if (this.catalog.get(id) === undefined) this.deps.registry.forgetDeviceIfUnused(id);
    }
    for (const peer of session.connections().slice()) peer.close(closeCode, `session released: ${reason}`);
    for (const h of this.hooks) h.released?.(session, reason, allocations);
  }
}
