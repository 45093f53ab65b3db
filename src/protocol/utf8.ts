/**
 * UTF-8 through the web-standard TextEncoder/TextDecoder, reached via globalThis with a minimal local
 * type: the pure layer compiles without DOM or Node typings, and an ambient `declare class` would clash
 * with @types/node's global in the full build.
 */

interface Utf8Decoder {
  decode(bytes: Uint8Array): string;
}
interface Utf8Encoder {
  encode(text: string): Uint8Array;
}
interface TextCodecGlobals {
  TextDecoder: new (label: string, options: { fatal: boolean; ignoreBOM: boolean }) => Utf8Decoder;
  TextEncoder: new () => Utf8Encoder;
}

const globals = globalThis as unknown as TextCodecGlobals;
// fatal: malformed input throws instead of becoming U+FFFD; ignoreBOM: a leading BOM is data, kept as is.
const decoder = new globals.TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new globals.TextEncoder();

/** The decoded string, or undefined when `bytes` is not well-formed UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** UTF-8 bytes of `text` (lone surrogates become U+FFFD, as the Encoding standard says). */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}
