import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventStreamCodec, Int64 } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { crc32 } from 'node:zlib';
import { EventStreamDecoder, type EventStreamMessage } from '../../src/core/aws-eventstream.js';
import { LimitExceededError } from '../../src/core/limit-error.js';

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const text = new TextEncoder();

function frame(eventType: string, payload: unknown, messageType = 'event'): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':message-type': { type: 'string', value: messageType },
      ':content-type': { type: 'string', value: 'application/json' },
      'x-flag': { type: 'boolean', value: true },
      'x-count': { type: 'integer', value: 42 },
    },
    body: text.encode(JSON.stringify(payload)),
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function summarize(messages: EventStreamMessage[]): unknown[] {
  return messages.map((message) => ({ headers: message.headers, body: new TextDecoder().decode(message.body) }));
}

const frames = [
  frame('messageStart', { role: 'assistant' }),
  frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'héllo — 世界 🌍' } }),
  frame('messageStop', { stopReason: 'end_turn' }),
];
const stream = concat(frames);

function decodeAll(cuts: number[]): { messages: EventStreamMessage[]; errors: string[]; maxPending: number } {
  const decoder = new EventStreamDecoder();
  const messages: EventStreamMessage[] = [];
  const errors: string[] = [];
  let maxPending = 0;
  let start = 0;
  for (const cut of [...cuts, stream.byteLength]) {
    const result = decoder.push(stream.slice(start, cut));
    messages.push(...result.messages);
    if (result.error) errors.push(result.error.code);
    maxPending = Math.max(maxPending, decoder.pendingBytes);
    start = cut;
  }
  const last = decoder.end();
  if (last.error) errors.push(last.error.code);
  return { messages, errors, maxPending };
}

describe('EventStreamDecoder', () => {
  it('decodes whole frames with typed headers', () => {
    const { messages, errors } = decodeAll([]);
    assert.deepEqual(errors, []);
    assert.equal(messages.length, 3);
    assert.deepEqual(messages[0]?.headers, {
      ':event-type': 'messageStart',
      ':message-type': 'event',
      ':content-type': 'application/json',
      'x-flag': true,
      'x-count': 42,
    });
    assert.equal(new TextDecoder().decode(messages[1]?.body), JSON.stringify({ contentBlockIndex: 0, delta: { text: 'héllo — 世界 🌍' } }));
  });

  it('gives identical output for every single split point and byte by byte', () => {
    const expected = summarize(decodeAll([]).messages);
    for (let cut = 1; cut < stream.byteLength; cut++) {
      const { messages, errors } = decodeAll([cut]);
      assert.deepEqual(errors, [], `cut at ${cut}`);
      assert.deepEqual(summarize(messages), expected, `cut at ${cut}`);
    }
    const everyByte = Array.from({ length: stream.byteLength - 1 }, (_, index) => index + 1);
    const { messages, errors, maxPending } = decodeAll(everyByte);
    assert.deepEqual(errors, []);
    assert.deepEqual(summarize(messages), expected);
    const largest = Math.max(...frames.map((part) => part.byteLength));
    assert.ok(maxPending < largest, `held ${maxPending} bytes, largest frame ${largest}`);
  });

  it('does not keep consumed bytes', () => {
    const decoder = new EventStreamDecoder();
    for (let round = 0; round < 50; round++) {
      const result = decoder.push(stream);
      assert.equal(result.messages.length, 3);
      assert.equal(decoder.pendingBytes, 0);
    }
    decoder.push(stream.subarray(0, 5));
    assert.equal(decoder.pendingBytes, 5);
  });

  it('reports a corrupt message CRC as an error value and stops', () => {
    const corrupt = stream.slice();
    const secondStart = (frames[0] as Uint8Array).byteLength;
    const index = secondStart + 30;
    corrupt[index] = (corrupt[index] as number) ^ 0xff;
    const decoder = new EventStreamDecoder();
    const result = decoder.push(corrupt);
    assert.equal(result.messages.length, 1, 'the good frame before the corruption is kept');
    assert.equal(result.error?.code, 'corrupt_frame');
    assert.deepEqual(decoder.push(stream), { messages: [] });
    assert.deepEqual(decoder.end(), { messages: [] });
  });

  it('detects a corrupt prelude before waiting for an absurd length', () => {
    const corrupt = stream.slice();
    corrupt[0] = 0x7f; // length now ~2 GiB, prelude CRC no longer matches
    const decoder = new EventStreamDecoder();
    const result = decoder.push(corrupt.subarray(0, 12));
    assert.equal(result.error?.code, 'corrupt_prelude');
  });

  it('refuses a frame longer than maxFrameBytes (a valid prelude) before holding it, with a LimitExceededError', () => {
    const decoder = new EventStreamDecoder({ maxFrameBytes: 64 });
    assert.throws(() => decoder.push(stream), (error: unknown) => {
      assert.ok(error instanceof LimitExceededError);
      assert.equal(error.reason, 'upstream_event_too_large');
      assert.equal(error.limit, 64);
      assert.match(error.message, /larger than 64 bytes$/);
      return true;
    });
    assert.equal(decoder.pendingBytes, 0, 'nothing of the frame is held');
    assert.deepEqual(decoder.push(stream), { messages: [] }, 'the decoder stops');
    assert.deepEqual(decoder.end(), { messages: [] });
  });

  it('refuses an oversized frame announced by its prelude alone, whatever follows', () => {
    const prelude = new Uint8Array(12);
    const view = new DataView(prelude.buffer);
    view.setUint32(0, 50 * 1024 * 1024);
    view.setUint32(4, 0);
    view.setUint32(8, crc32(prelude.subarray(0, 8)));
    const decoder = new EventStreamDecoder({ maxFrameBytes: 8 * 1024 * 1024 });
    assert.throws(() => decoder.push(prelude), LimitExceededError);
  });

  it('still reports a length no frame can have as corrupt (invalid_length)', () => {
    const prelude = new Uint8Array(12);
    const view = new DataView(prelude.buffer);
    view.setUint32(0, 8);
    view.setUint32(4, 0);
    view.setUint32(8, crc32(prelude.subarray(0, 8)));
    assert.equal(new EventStreamDecoder().push(prelude).error?.code, 'invalid_length');
  });

  it('reports garbage (e.g. an HTML error page) as corrupt, never throws', () => {
    const decoder = new EventStreamDecoder();
    const result = decoder.push(text.encode('<html><body>502 Bad Gateway</body></html>'));
    assert.equal(result.error?.code, 'corrupt_prelude');
  });

  it('reports a stream cut inside a frame at end()', () => {
    const decoder = new EventStreamDecoder();
    const result = decoder.push(stream.subarray(0, stream.byteLength - 3));
    assert.equal(result.messages.length, 2);
    assert.equal(decoder.end().error?.code, 'truncated');
  });

  it('decodes an empty-bodied frame', () => {
    const empty = codec.encode({ headers: { ':event-type': { type: 'string', value: 'ping' } }, body: new Uint8Array(0) });
    const result = new EventStreamDecoder().push(empty);
    assert.equal(result.messages.length, 1);
    assert.equal(result.messages[0]?.body.byteLength, 0);
  });

  it('gives what the codec\'s own decode gives, for every header type and non-ASCII text', () => {
    const headers = {
      ':event-type': { type: 'string', value: 'contentBlockDelta' },
      'x-text': { type: 'string', value: 'héllo ☃ \u{1F600} \uFEFFbom' },
      'x-true': { type: 'boolean', value: true },
      'x-false': { type: 'boolean', value: false },
      'x-byte': { type: 'byte', value: -7 },
      'x-short': { type: 'short', value: -300 },
      'x-integer': { type: 'integer', value: 123456789 },
      'x-long': { type: 'long', value: Int64.fromNumber(-9007199254740) },
      'x-binary': { type: 'binary', value: new Uint8Array([0, 255, 7]) },
      'x-timestamp': { type: 'timestamp', value: new Date(1733616000123) },
      'x-uuid': { type: 'uuid', value: '6ba7b810-9dad-11d1-80b4-00c04fd430c8' },
      'x-bom': { type: 'string', value: '\uFEFFstarts with a byte-order mark' },
      'ünïcode-name': { type: 'string', value: '' },
    } as const;
    const body = text.encode('{"delta":{"text":"ça"}}');
    const encoded = codec.encode({ headers, body });
    const [message] = new EventStreamDecoder().push(encoded).messages;
    const expected = codec.decode(encoded);
    assert.deepEqual(Object.keys(message?.headers ?? {}), Object.keys(expected.headers));
    for (const [name, header] of Object.entries(expected.headers)) {
      const value = header.type === 'long' ? header.value.valueOf() : header.value;
      assert.deepEqual(message?.headers[name], value, name);
    }
    assert.deepEqual(message?.body, expected.body);
  });

  it('reports a header section the codec cannot read as a corrupt frame', () => {
    // A valid frame whose only header has type tag 42 (no such type); both checksums are correct.
    const headerBytes = new Uint8Array([1, 0x61, 42]);
    const length = 16 + headerBytes.length;
    const out = new Uint8Array(length);
    const view = new DataView(out.buffer);
    view.setUint32(0, length, false);
    view.setUint32(4, headerBytes.length, false);
    view.setUint32(8, crc32(out.subarray(0, 8)), false);
    out.set(headerBytes, 12);
    view.setUint32(length - 4, crc32(out.subarray(0, length - 4)), false);
    const result = new EventStreamDecoder().push(out);
    assert.equal(result.messages.length, 0);
    assert.equal(result.error?.code, 'corrupt_frame');
  });
});
