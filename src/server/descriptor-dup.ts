import { loadPeercredAddon, PEER_CREDENTIALS_ENV } from "./peer-credentials.js";

/**
 * Copies of a connection's file descriptor, so that an accepted socket can move to a worker thread
 * (ingest shards, docs/ARCHITECTURE.md "Ingest on more than one core"): the copy keeps the connection
 * open after the main thread closes its own handle. Node has no dup(), so the copy comes from the same
 * native addon as the peer credentials (native/peercred), loaded once by peer-credentials.ts.
 */
export interface DescriptorDuplication {
  /** false where the addon cannot load, predates dupDescriptor, or is turned off: no handover possible. */
  readonly available: boolean;
  /** Why it is not available; undefined when it is. */
  readonly unavailableReason: string | undefined;
  /**
   * A new descriptor (close-on-exec) for the open file behind `fd`. Throws the addon's coded error:
   * `ERR_PEERCRED_ARGUMENT` (not a non-negative integer), `ERR_PEERCRED_DUPFD` (the kernel refused:
   * EBADF, EMFILE...); DescriptorDuplicationUnavailableError when not available.
   */
  dup(fd: number): number;
}

/** Stable code of DescriptorDuplicationUnavailableError. */
export const DESCRIPTOR_DUPLICATION_UNAVAILABLE = "SERVER_DESCRIPTOR_DUPLICATION_UNAVAILABLE";

/** dup() was called where descriptors cannot be copied. */
export class DescriptorDuplicationUnavailableError extends Error {
  override readonly name = "DescriptorDuplicationUnavailableError";
  readonly code = DESCRIPTOR_DUPLICATION_UNAVAILABLE;
}

/** A source that cannot copy descriptors (tests; platforms without the addon). */
export function noDescriptorDuplication(reason: string): DescriptorDuplication {
  return {
    available: false,
    unavailableReason: reason,
    dup() {
      throw new DescriptorDuplicationUnavailableError(`descriptors cannot be copied here: ${reason}`);
    },
  };
}

/**
 * The addon's F_DUPFD_CLOEXEC. Turned off with the peer credentials (ALLOCWATCH_PEER_CREDENTIALS=off):
 * shards route by the kernel's pid, so without credentials there is nothing to shard by.
 */
export function kernelDescriptorDuplication(
  env: Readonly<Record<string, string | undefined>> = process.env,
): DescriptorDuplication {
  if (env[PEER_CREDENTIALS_ENV] === "off") {
    return noDescriptorDuplication(`turned off by ${PEER_CREDENTIALS_ENV}=off`);
  }
  const result = loadPeercredAddon();
  if ("problem" in result) return noDescriptorDuplication(result.problem);
  const { addon } = result;
  if (typeof addon.dupDescriptor !== "function") {
    return noDescriptorDuplication("the built addon has no dupDescriptor (rebuild it: npm run build)");
  }
  const dup = addon.dupDescriptor.bind(addon);
  return { available: true, unavailableReason: undefined, dup };
}
