import { encodeHello } from "../protocol/encode-frame.js";
import { isProtocolError } from "../protocol/errors.js";
import { InvalidClientOptionError } from "./errors.js";
import type { ResolvedClientOptions } from "./options.js";
import { currentProcessIdentity } from "./process-identity.js";

/**
 * The HELLO frame the client sends on every connection: protocol version (3, or 2 for a server that
 * refuses 3), session, this process's
 * identity and the devices it reports. Encoded once, at construction, so that a name or device list
 * the wire cannot carry is an option error (InvalidClientOptionError), never a failure later.
 */
export function encodeClientHello(options: ResolvedClientOptions, version: number): Uint8Array {
  const identity = currentProcessIdentity(options.processName);
  try {
    return encodeHello({
      version,
      sessionId: options.sessionId,
      resumeSecret: options.resumeSecret,
      pid: identity.pid,
      processStartTicks: identity.startTicks,
      processName: identity.name,
      devices: options.devices.map((d) => ({ ...d, capacityBytes: [...d.capacityBytes] })),
    });
  } catch (error) {
    if (isProtocolError(error)) throw new InvalidClientOptionError("devices/processName", error.message);
    throw error;
  }
}
