// Records everything a LegacyFrameDecoder reports, copying each message (the decoder reuses its object).

import type { LegacyDecoderSink } from "../../src/protocol/legacy/decoder.js";
import type { LegacyProtocolError } from "../../src/protocol/legacy/errors.js";
import type { LegacyFrameBytes } from "../../src/protocol/legacy/layout.js";
import type { LegacyMessage } from "../../src/protocol/legacy/message.js";

export interface Recording extends LegacyDecoderSink {
  layouts: { frameBytes: LegacyFrameBytes; reason: string }[];
  messages: LegacyMessage[];
  badFrames: LegacyProtocolError[];
  quarantines: LegacyProtocolError[];
  resyncs: { discardedBytes: number; streamOffset: number }[];
  truncated: LegacyProtocolError[];
}

export function recording(): Recording {
  const r: Recording = {
    layouts: [],
    messages: [],
    badFrames: [],
    quarantines: [],
    resyncs: [],
    truncated: [],
    onLayout(frameBytes, reason) {
      r.layouts.push({ frameBytes, reason });
    },
    onMessage(message) {
      r.messages.push({ ...message });
    },
    onBadFrame(error) {
      r.badFrames.push(error);
    },
    onQuarantine(error) {
      r.quarantines.push(error);
    },
    onResync(discardedBytes, streamOffset) {
      r.resyncs.push({ discardedBytes, streamOffset });
    },
    onTruncated(error) {
      r.truncated.push(error);
    },
  };
  return r;
}
