/**
 * Incremental decoder for the AWS event-stream binary framing (Bedrock ConverseStream,
 * InvokeModelWithResponseStream). Frames may be split anywhere across chunks; only the bytes of the
 * frame being assembled are kept, so memory is bounded by the largest frame, and `maxFrameBytes` bounds that.
 * Corrupt input never throws: it yields a typed error and the decoder stops. A well-formed prelude announcing a
 * frame longer than `maxFrameBytes` is a policy limit, not corruption: `push` throws a LimitExceededError
 * (`upstream_event_too_large`) before any of the frame is held, and the decoder stops.
 *
 * Frame: total length (u32 BE) | headers length (u32 BE) | prelude CRC32 | headers | payload | message CRC32.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/RESTSelectObjectAppendix.html
 * @see https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html (event stream encoding)
 */
import type { HeaderMarshaller } from '@smithy/eventstream-codec';
import { isAscii } from 'node:buffer';
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';
import { describeBytes, LimitExceededError } from './limit-error.js';

export type EventStreamHeaderValue = string | number | boolean | Uint8Array | Date;

export interface EventStreamMessage {
  /** Header name -> decoded value (strings for `:event-type`, `:message-type`, ...). */
  readonly headers: Readonly<Record<string, EventStreamHeaderValue>>;
  readonly body: Uint8Array;
}

export type EventStreamErrorCode = 'corrupt_prelude' | 'invalid_length' | 'corrupt_frame' | 'truncated';

export interface EventStreamDecodeError {
  readonly code: EventStreamErrorCode;
  readonly message: string;
}

export interface EventStreamDecodeResult {
  /** Complete messages decoded from the bytes seen so far, in order. */
  readonly messages: EventStreamMessage[];
  /** Set once, when the stream turned out to be corrupt; the decoder ignores everything after it. */
  readonly error?: EventStreamDecodeError;
}

const PRELUDE_BYTES = 12;
/** Prelude + both CRCs. */
const MIN_FRAME_BYTES = 16;
/** AWS caps an event-stream message at 16 MiB (payload + headers). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024 + MIN_FRAME_BYTES;

/**
 * The header parser, built on the first frame: @smithy/eventstream-codec loads a dozen @smithy/core modules (~20-40 ms
 * at start-up), which only configs with an AWS backend ever use. Both packages are CommonJS, so this stays synchronous.
 * The frame's checksums are checked here with Node's native CRC32 rather than by the codec's `decode`, whose CRC32
 * is computed in JavaScript; the header format is the codec's HeaderMarshaller.
 */
let marshaller: HeaderMarshaller | undefined;
function headerMarshaller(): HeaderMarshaller {
  if (!marshaller) {
    const require = createRequire(import.meta.url);
    const { HeaderMarshaller: Marshaller } = require('@smithy/eventstream-codec') as typeof import('@smithy/eventstream-codec');
    const { fromUtf8 } = require('@smithy/util-utf8') as typeof import('@smithy/util-utf8');
    marshaller = new Marshaller(headerText, fromUtf8);
  }
  return marshaller;
}
/**
 * A header name or string value (six a frame), decoded as @smithy/util-utf8's toUtf8 does in Node (a Buffer's UTF-8,
 * a byte-order mark kept); short ASCII ones are read without wrapping them in a Buffer first.
 */
function headerText(bytes: Uint8Array): string {
  if (bytes.length <= 64 && isAscii(bytes)) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

type MessageHeaderValue = ReturnType<HeaderMarshaller['parse']>[string];

function headerValue(header: MessageHeaderValue): EventStreamHeaderValue {
  switch (header.type) {
    case 'long':
      return header.value.valueOf();
    case 'boolean':
    case 'byte':
    case 'short':
    case 'integer':
    case 'string':
    case 'uuid':
    case 'binary':
    case 'timestamp':
      return header.value;
  }
}

export class EventStreamDecoder {
  /** Unconsumed chunks; the first may be partly consumed (see `offset`). */
  private chunks: Uint8Array[] = [];
  private offset = 0;
  private buffered = 0;
  /** Length of the frame being assembled, once its prelude was validated. */
  private frameLength = 0;
  private failed = false;
  private readonly maxFrameBytes: number;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes held for the frame in progress. */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): EventStreamDecodeResult {
    if (this.failed) return { messages: [] };
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.byteLength;
    }
    const messages: EventStreamMessage[] = [];
    for (;;) {
      if (this.frameLength === 0) {
        if (this.buffered < PRELUDE_BYTES) break;
        const prelude = this.peek(PRELUDE_BYTES);
        const error = this.checkPrelude(prelude);
        if (error) return this.fail(messages, error);
        this.frameLength = new DataView(prelude.buffer, prelude.byteOffset, PRELUDE_BYTES).getUint32(0, false);
      }
      if (this.buffered < this.frameLength) break;
      const frame = this.take(this.frameLength);
      this.frameLength = 0;
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      const end = frame.byteLength - 4;
      if (crc32(frame.subarray(0, end)) !== view.getUint32(end, false)) {
        return this.fail(messages, { code: 'corrupt_frame', message: 'corrupt event-stream frame: message checksum mismatch' });
      }
      const headersEnd = PRELUDE_BYTES + view.getUint32(4, false);
      try {
        const parsed = headerMarshaller().parse(new DataView(frame.buffer, frame.byteOffset + PRELUDE_BYTES, headersEnd - PRELUDE_BYTES));
        const headers: Record<string, EventStreamHeaderValue> = {};
        for (const [name, header] of Object.entries(parsed)) headers[name] = headerValue(header);
        messages.push({ headers, body: frame.subarray(headersEnd, end) });
      } catch (cause) {
        const detail = cause instanceof Error ? cause.message : 'undecodable frame';
        return this.fail(messages, { code: 'corrupt_frame', message: `corrupt event-stream frame: ${detail}` });
      }
    }
    return { messages };
  }

  /** End of input: leftover bytes mean the last frame was cut off. */
  end(): EventStreamDecodeResult {
    if (this.failed || this.buffered === 0) return { messages: [] };
    const held = this.buffered;
    return this.fail([], { code: 'truncated', message: `event stream ended inside a frame (${held} bytes left over)` });
  }

  private checkPrelude(prelude: Uint8Array): EventStreamDecodeError | undefined {
    const view = new DataView(prelude.buffer, prelude.byteOffset, PRELUDE_BYTES);
    const total = view.getUint32(0, false);
    const headers = view.getUint32(4, false);
    if (crc32(prelude.subarray(0, 8)) !== view.getUint32(8, false)) {
      return { code: 'corrupt_prelude', message: 'corrupt event-stream frame: prelude checksum mismatch' };
    }
    if (total < MIN_FRAME_BYTES || headers > total - MIN_FRAME_BYTES) {
      return { code: 'invalid_length', message: `corrupt event-stream frame: invalid length ${total} (headers ${headers})` };
    }
    if (total > this.maxFrameBytes) {
      this.fail([], { code: 'invalid_length', message: 'frame too large' });
      throw new LimitExceededError(
        'upstream_event_too_large',
        this.maxFrameBytes,
        `an upstream event-stream frame of ${total} bytes is larger than ${describeBytes(this.maxFrameBytes)}`,
      );
    }
    return undefined;
  }

  private fail(messages: EventStreamMessage[], error: EventStreamDecodeError): EventStreamDecodeResult {
    this.failed = true;
    this.chunks = [];
    this.buffered = 0;
    this.offset = 0;
    return { messages, error };
  }

  /** The first `length` buffered bytes, without consuming them. */
  private peek(length: number): Uint8Array {
    const first = this.chunks[0] as Uint8Array;
    if (first.byteLength - this.offset >= length) return first.subarray(this.offset, this.offset + length);
    const out = new Uint8Array(length);
    let filled = 0;
    let start = this.offset;
    for (const chunk of this.chunks) {
      const part = chunk.subarray(start, start + (length - filled));
      out.set(part, filled);
      filled += part.byteLength;
      start = 0;
      if (filled === length) break;
    }
    return out;
  }

  /** Removes and returns the first `length` buffered bytes; consumed chunks are released. */
  private take(length: number): Uint8Array {
    const first = this.chunks[0] as Uint8Array;
    let out: Uint8Array;
    if (first.byteLength - this.offset >= length) {
      out = first.subarray(this.offset, this.offset + length);
      this.offset += length;
    } else {
      out = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const chunk = this.chunks[0] as Uint8Array;
        const part = chunk.subarray(this.offset, this.offset + (length - filled));
        out.set(part, filled);
        filled += part.byteLength;
        this.offset += part.byteLength;
        if (this.offset === chunk.byteLength) {
          this.chunks.shift();
          this.offset = 0;
        }
      }
    }
    if (this.chunks.length > 0 && this.offset === (this.chunks[0] as Uint8Array).byteLength) {
      this.chunks.shift();
      this.offset = 0;
    }
    this.buffered -= length;
    return out;
  }
}

/** A header as a string, or undefined. */
export function headerString(message: EventStreamMessage, name: string): string | undefined {
  const value = message.headers[name];
  return typeof value === 'string' ? value : undefined;
}
