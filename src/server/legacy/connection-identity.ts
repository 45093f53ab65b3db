import { readFileSync } from "node:fs";
import type { PeerCredentials } from "../peer-credentials.js";

/** Linux's PID_MAX_LIMIT (64-bit): no process id is larger. */
export const LEGACY_MAX_PID = 4_194_304;

/** Thread ids whose process (Tgid) one connection remembers; when full, the memory starts over. */
export const THREAD_GROUP_CACHE_ENTRIES = 64;

/** The process (thread group) a thread id belongs to, or undefined when it cannot be read. */
export type ThreadGroupOf = (threadId: number) => number | undefined;

/** /proc/<tid>/status "Tgid:" (a thread's /proc entry exists even though /proc does not list it). */
export const procThreadGroup: ThreadGroupOf = (threadId) => {
  try {
    const match = /^Tgid:\s*(\d+)$/m.exec(readFileSync(`/proc/${threadId}/status`, "latin1"));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
};

/** Whether `pid` can be a Linux process id at all (not whether it runs). */
export function plausiblePid(pid: number): boolean {
  return pid > 0 && pid <= LEGACY_MAX_PID;
}

/** The process a frame speaks for: its session's pid, or MISMATCH. */
export const PID_MISMATCH = -1;

/**
 * Who a legacy connection speaks for. The kernel names the process at the other end (SO_PEERCRED, read
 * at accept): every memory frame of the connection belongs to that process, whatever it has done since
 * (a process that exited before its frames were read still gets them applied). A frame whose
 * process_id is neither that pid nor a thread of it is refused, so that no connection can act on
 * another process's buffers by naming its pid.
 *
 * Without peer credentials (the addon cannot load) the frame's own process_id is taken as it is,
 * checked for plausibility only: a known gap (docs/SECURITY.md). Where the server has peer credentials
 * but the kernel names no process for this connection (pid 0: a peer outside the server's pid
 * namespace, whose pids mean nothing here), no frame can be attributed: every one is a mismatch.
 */
export class LegacyConnectionIdentity {
  private readonly threadGroups = new Map<number, number | undefined>();

  constructor(
    /** The kernel's word at accept; undefined when the server cannot know (or could not read it). */
    readonly peer: PeerCredentials | undefined,
    /** Whether the server has peer credentials at all (PeerCredentialSource.available). */
    private readonly credentialsAvailable: boolean,
    private readonly threadGroupOf: ThreadGroupOf = procThreadGroup,
  ) {}

  /** The pid the kernel named for this connection, or undefined. */
  get peerPid(): number | undefined {
    return this.peer !== undefined && this.peer.pid > 0 ? this.peer.pid : undefined;
  }

  /**
   * The pid whose session a frame with this (plausible) process_id changes, or PID_MISMATCH. Reads
   * /proc once per thread id (cached per connection, bounded by THREAD_GROUP_CACHE_ENTRIES).
   */
  sessionPid(processId: number): number {
    const peer = this.peer;
    if (!this.credentialsAvailable) return processId;
    if (peer === undefined || peer.pid <= 0) return PID_MISMATCH;
    if (processId === peer.pid) return peer.pid;
    let group: number | undefined;
    if (this.threadGroups.has(processId)) {
      group = this.threadGroups.get(processId);
    } else {
      group = this.threadGroupOf(processId);
      if (this.threadGroups.size >= THREAD_GROUP_CACHE_ENTRIES) this.threadGroups.clear();
      this.threadGroups.set(processId, group);
    }
    return group === peer.pid ? peer.pid : PID_MISMATCH;
  }
}
