/**
 * Builds AWS event-stream binary frames for tests (Bedrock ConverseStream, InvokeModelWithResponseStream),
 * with the real codec, so decoders are tested against the genuine wire format.
 */
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

export interface EventStreamFrame {
  /** Header name -> string value, e.g. {":event-type": "contentBlockDelta", ":message-type": "event"}. */
  readonly headers: Readonly<Record<string, string>>;
  /** A JSON value (serialised) or a string (sent as is). */
  readonly body: unknown;
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** Encodes one frame. */
export function encodeFrame(frame: EventStreamFrame): Uint8Array {
  const headers: Record<string, { type: 'string'; value: string }> = {};
  for (const [name, value] of Object.entries(frame.headers)) headers[name] = { type: 'string', value };
  const body = typeof frame.body === 'string' ? frame.body : JSON.stringify(frame.body);
  return codec.encode({ headers, body: fromUtf8(body) });
}

/** Encodes frames back to back, as an upstream sends them. */
export function encodeEventStream(frames: readonly EventStreamFrame[]): Uint8Array {
  const encoded = frames.map(encodeFrame);
  const out = new Uint8Array(encoded.reduce((sum, bytes) => sum + bytes.length, 0));
  let offset = 0;
  for (const bytes of encoded) {
    out.set(bytes, offset);
    offset += bytes.length;
  }
  return out;
}

/** Parses a `response.eventstream.jsonl` fixture: one frame per non-empty line. */
export function parseEventStreamJsonl(text: string): EventStreamFrame[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      const value: unknown = JSON.parse(line);
      if (typeof value !== 'object' || value === null || !('headers' in value) || !('body' in value)) {
        throw new Error(`eventstream jsonl line ${index + 1}: expected {"headers": {...}, "body": ...}`);
      }
      return value as EventStreamFrame;
    });
}
