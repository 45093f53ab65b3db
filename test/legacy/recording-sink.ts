// Records everything a LegacyFrameDecoder reports, copying each message (the decoder reuses its object).

import type { LegacyDecoderSink } from "../../src/protocol/legacy/decoder.js";
import type { LegacyProtocolError } from "../../src/protocol/legacy/errors.js";
import type { LegacyFrameBytes } from "../../src/protocol/legacy/layout.js";
import type { LegacyMessage } from "../../src/protocol/legacy/message.js";

export interface Recording extends LegacyDecoderSink {
  layouts: { frameBytes: LegacyFrameBytes; reason: string }[];
  messages: LegacyMessage[];
  badFrames: LegacyProtocolError[];
  fatal: LegacyProtocolError[];
}

export function recording(): Recording {
  const r: Recording = {
    layouts: [],
    messages: [],
    badFrames: [],
    fatal: [],
    onLayout(frameBytes, reason) {
      r.layouts.push({ frameBytes, reason });
    },
    onMessage(message) {
      r.messages.push({ ...message });
    },
    onBadFrame(error) {
      r.badFrames.push(error);
    },
    onFatal(error) {
      r.fatal.push(error);
    },
  };
  return r;
}
