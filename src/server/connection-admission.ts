import type { Socket } from "node:net";
import type { Logger } from "pino";
import { encodeError } from "../protocol/encode-frame.js";
import { ServerErrorCode } from "./errors.js";
import type { PeerCredentialSource, PeerCredentials } from "./peer-credentials.js";

/**
 * Most open client connections unless told otherwise: far above a host's workload (processes × threads),
 * and below the common 1024 open-file limit, so the cap, not EMFILE, is what a flood meets.
 */
export const DEFAULT_MAX_CONNECTIONS = 512;
/**
 * Most open client connections of one uid unless told otherwise: a quarter of the total, so that one user
 * (or one runaway workload) cannot take every place; 100 sessions of one user (the summary benchmark) fit.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_UID = 128;
/** The one per-uid bucket of every connection when the kernel cannot name uids (no peer credentials). */
export const UNKNOWN_UID = -1;

export interface AdmissionLimits {
  /** Open connections at once, all uids together. */
  maxConnections: number;
  /** Open connections at once of one uid (UNKNOWN_UID for all, without peer credentials). */
  maxConnectionsPerUid: number;
  /** How long a refused peer may take to close after our ERROR frame before the socket is destroyed, ms. */
  closeTimeoutMs: number;
}

/** An admitted connection: who it is (undefined where the server cannot know). */
export interface Admitted {
  peer: PeerCredentials | undefined;
}

/**
 * When an admitted connection stops counting against the caps. "socket-close" (the default): when its
 * socket closes. "manual": when the caller says (`release()`), for a socket whose handle closes while the
 * connection lives on elsewhere (handed to an ingest shard, src/server/shards/shard-pool.ts).
 */
export type AdmissionRelease = "socket-close" | "manual";

/** An admitted connection and the way to stop counting it (idempotent; also run on close by default). */
export type AdmittedConnection = Admitted & { release(): void };

/**
 * Decides, before a byte is read, whether a new socket may become a Connection: its peer credentials
 * must be readable where the kernel can give them, and its uid and the server must be under their caps.
 * A refused socket gets one ERROR frame (codes SERVER_TOO_MANY_CONNECTIONS[_FOR_UID],
 * SERVER_PEER_UNVERIFIED) and is closed; an admitted one is counted until its socket closes (or, with
 * `releaseOn: "manual"`, until the caller releases it).
 */
export class ConnectionAdmission {
  /** Sockets refused since start. */
  refused = 0;
  private open = 0;
  private readonly openByUid = new Map<number, number>();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly credentials: PeerCredentialSource,
    private readonly log: Logger,
  ) {}

  /** The admitted socket's peer, or undefined after refusing (and closing) it. */
  admit(socket: Socket, options: { releaseOn?: AdmissionRelease } = {}): AdmittedConnection | undefined {
    const peer = this.credentials.of(socket);
    if (peer === undefined && this.credentials.available) {
      this.refuse(socket, ServerErrorCode.PEER_UNVERIFIED, "the kernel did not say who is connecting", -1);
      return undefined;
    }
    const uid = peer?.uid ?? UNKNOWN_UID;
    if (this.open >= this.limits.maxConnections) {
      this.refuse(
        socket,
        ServerErrorCode.TOO_MANY_CONNECTIONS,
        `the server has its maximum of ${this.limits.maxConnections} open connections (--max-connections)`,
        uid,
      );
      return undefined;
    }
    const ofUid = this.openByUid.get(uid) ?? 0;
    if (ofUid >= this.limits.maxConnectionsPerUid) {
      this.refuse(
        socket,
        ServerErrorCode.TOO_MANY_CONNECTIONS_FOR_UID,
        uid === UNKNOWN_UID
          ? `${ofUid} connections are open and uids are unknown here (no peer credentials), so they ` +
              "count as one uid: the maximum (--max-connections-per-uid)"
          : `uid ${uid} already has ${ofUid} open connections, the maximum (--max-connections-per-uid)`,
        uid,
      );
      return undefined;
    }
    this.open++;
    this.openByUid.set(uid, ofUid + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.open--;
      const left = (this.openByUid.get(uid) ?? 1) - 1;
      if (left === 0) this.openByUid.delete(uid);
      else this.openByUid.set(uid, left);
    };
    if ((options.releaseOn ?? "socket-close") === "socket-close") socket.once("close", release);
    return { peer, release };
  }

  /** Admitted connections counted now. */
  get openConnections(): number {
    return this.open;
  }

  private refuse(socket: Socket, code: string, message: string, uid: number): void {
    this.refused++;
    // One line per power of two of refusals: a flood of connections cannot flood the log.
    if ((this.refused & (this.refused - 1)) === 0) {
      this.log.warn({ code, uid, open: this.open, refused: this.refused }, `connection refused: ${message}`);
    }
    socket.on("error", () => {}); // a reset from a peer that already left changes nothing
    // Read and discard until the peer closes, so that it reads the ERROR frame rather than a reset.
    socket.resume();
    socket.end(encodeError({ code, message }));
    const timer = setTimeout(() => socket.destroy(), this.limits.closeTimeoutMs);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  }
}
