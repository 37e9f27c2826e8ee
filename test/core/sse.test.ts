import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitExceededError } from '../../src/core/limit-error.js';
import { SseDecoder, encodeSseComment, encodeSseEvent, type SseItem } from '../../src/core/sse.js';
import { concatBytes, splitEvery, splitRandom, standardSplittings } from '../helpers/chunking.js';

const encoder = new TextEncoder();

function decodeAll(chunks: readonly Uint8Array[], keepRaw = false): SseItem[] {
  const decoder = new SseDecoder({ keepRaw });
  const items: SseItem[] = [];
  for (const chunk of chunks) items.push(...decoder.push(chunk));
  items.push(...decoder.end());
  return items;
}

/** Items without raw, for semantic comparison. */
function semantic(items: readonly SseItem[]): unknown[] {
  return items.map((item) => (item.type === 'event' ? { type: item.type, event: item.event, data: item.data, id: item.id } : { type: item.type, text: item.text }));
}

function allSplittings(bytes: Uint8Array): { name: string; chunks: Uint8Array[] }[] {
  const splittings = standardSplittings(bytes, 20);
  splittings.push({ name: 'every-2', chunks: splitEvery(bytes, 2) }, { name: 'every-3', chunks: splitEvery(bytes, 3) });
  return splittings;
}

const ev = (data: string, event?: string, id?: string) => ({ type: 'event', event, data, id });

describe('SseDecoder', () => {
  const stream = [
    '\uFEFF: hello keepalive\n',
    '\n',
    'data: {"a":1}\n\n',
    'data:{"no":"space"}\r\n\r\n',
    'event: message_start\r',
    'data: line one\r',
    'data:  two spaces\r\r',
    'id: 42\ndata\ndata: x\n\n',
    'retry: 100\nunknown: z\n\n',
    ': inside\ndata: after comment\n\n',
    'data: 你好, 🌍 and émoji 🎉\n\n',
    'data: [DONE]',
  ].join('');
  const expected = [
    { type: 'comment', text: 'hello keepalive' },
    ev('{"a":1}'),
    ev('{"no":"space"}'),
    ev('line one\n two spaces', 'message_start'),
    ev('\nx', undefined, '42'),
    { type: 'comment', text: 'inside' },
    ev('after comment'),
    ev('你好, 🌍 and émoji 🎉'),
    ev('[DONE]'),
  ];

  it('parses every field form, line ending, comment, BOM and a final event without a blank line', () => {
    assert.deepStrictEqual(semantic(decodeAll([encoder.encode(stream)])), expected);
  });

  it('gives the same items however the stream is split (whole, every byte, seeded random cuts)', () => {
    const bytes = encoder.encode(stream);
    for (const splitting of allSplittings(bytes)) {
      assert.deepStrictEqual(semantic(decodeAll(splitting.chunks)), expected, splitting.name);
    }
  });

  it('reassembles emoji and CJK characters split inside their UTF-8 sequences', () => {
    const text = '🌍🎉你好世界ñ';
    const bytes = encoder.encode(`data: ${text}\n\n`);
    for (let cut = 1; cut < bytes.length; cut += 1) {
      const items = decodeAll([bytes.slice(0, cut), bytes.slice(cut)]);
      assert.deepStrictEqual(semantic(items), [ev(text)], `cut at ${cut}`);
    }
  });

  it('treats a CR at a chunk end followed by LF in the next chunk as one line ending', () => {
    const items = decodeAll([encoder.encode('data: a\r'), encoder.encode('\ndata: b\r'), encoder.encode('\n\r'), encoder.encode('\n')]);
    assert.deepStrictEqual(semantic(items), [ev('a\nb')]);
  });

  it('dispatches on a lone CR blank line when the stream ends after it', () => {
    assert.deepStrictEqual(semantic(decodeAll([encoder.encode('data: a\r\r')])), [ev('a')]);
  });

  it('only strips a BOM at the very start, also when the BOM itself is split', () => {
    const bytes = encoder.encode('\uFEFFdata: x\n\ndata: \uFEFFy\n\n');
    for (const chunks of [[bytes], splitEvery(bytes, 1), [bytes.slice(0, 2), bytes.slice(2)]]) {
      assert.deepStrictEqual(semantic(decodeAll(chunks)), [ev('x'), ev('\uFEFFy')]);
    }
  });

  it('handles tiny streams and empty chunks', () => {
    assert.deepStrictEqual(decodeAll([]), []);
    assert.deepStrictEqual(decodeAll([new Uint8Array(0)]), []);
    assert.deepStrictEqual(semantic(decodeAll([encoder.encode('d'), new Uint8Array(0), encoder.encode('ata:1')])), [ev('1')]);
    assert.deepStrictEqual(semantic(decodeAll([encoder.encode(':')])), [{ type: 'comment', text: '' }]);
  });

  it('emits events as soon as their blank line arrives, not at end()', () => {
    const decoder = new SseDecoder();
    assert.deepStrictEqual(decoder.push(encoder.encode('data: 1\n')), []);
    assert.deepStrictEqual(semantic(decoder.push(encoder.encode('\ndata: 2'))), [ev('1')]);
    assert.deepStrictEqual(semantic(decoder.end()), [ev('2')]);
    assert.deepStrictEqual(decoder.push(encoder.encode('data: late\n\n')), []);
  });

  it('keeps raw bytes per item that concatenate back to the input, however split', () => {
    const input = `${stream}\n\n`;
    const bytes = encoder.encode(input);
    for (const splitting of allSplittings(bytes)) {
      const items = decodeAll(splitting.chunks, true);
      const raw = concatBytes(items.map((item) => item.raw ?? new Uint8Array(0)));
      assert.equal(new TextDecoder("utf-8", { ignoreBOM: true }).decode(raw), input, splitting.name);
      const second = items[1];
      assert.equal(second?.type === 'event' ? new TextDecoder().decode(second.raw) : '', '\ndata: {"a":1}\n\n');
    }
  });

  it('does not carry consumed bytes into later items (memory bounded by the largest event)', () => {
    const decoder = new SseDecoder({ keepRaw: true });
    const big = 'x'.repeat(10_000);
    decoder.push(encoder.encode(`data: ${big}\n\n`));
    const items = decoder.push(encoder.encode('data: small\n\n'));
    assert.equal(items[0]?.raw?.length, 'data: small\n\n'.length);
  });
});

describe('encodeSseEvent', () => {
  it('writes canonical data lines and the event name', () => {
    assert.equal(encodeSseEvent({ data: '{"a":1}' }), 'data: {"a":1}\n\n');
    assert.equal(encodeSseEvent({ event: 'ping', data: '{}' }), 'event: ping\ndata: {}\n\n');
    assert.equal(encodeSseEvent({ data: 'a\nb\r\nc\rd' }), 'data: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('writes one-line data (the path without a split) exactly as the line-splitting path does', () => {
    const reference = (event: { event?: string; id?: string; data: string }) =>
      `${event.event === undefined ? '' : `event: ${event.event}\n`}${event.id === undefined ? '' : `id: ${event.id}\n`}${event.data
        .split(/\r\n|\r|\n/)
        .map((line) => `data: ${line}\n`)
        .join('')}\n`;
    const samples = ['', ' ', '{"a":"b"}', '[DONE]', 'x\r', '\ny', 'a\r\nb', '\u2028 is not a line end', 'é✓'];
    for (const data of samples) {
      for (const event of [{ data }, { event: 'message', data }, { id: '7', data }, { event: 'e', id: 'i', data }]) {
        assert.equal(encodeSseEvent(event), reference(event), JSON.stringify(event));
      }
    }
  });

  it('rejects CR or LF in event names', () => {
    assert.throws(() => encodeSseEvent({ event: 'a\nb', data: '{}' }), TypeError);
    assert.throws(() => encodeSseEvent({ event: 'a\rdata: injected', data: '{}' }), TypeError);
  });

  it('round-trips through the decoder', () => {
    const events = [{ data: 'multi\nline' }, { event: 'x', data: '' }, { data: ' leading space' }];
    const bytes = encoder.encode(events.map(encodeSseEvent).join('') + encodeSseComment('keep\nalive'));
    for (const seed of [1, 2, 3]) {
      assert.deepStrictEqual(semantic(decodeAll(splitRandom(bytes, seed, 4))), [
        ev('multi\nline'),
        ev('', 'x'),
        ev(' leading space'),
        { type: 'comment', text: 'keep alive' },
      ]);
    }
  });
});

describe('SseDecoder end()', () => {
  it('marks what the stream left unfinished (unterminated), not an event whose final CR only became certain at the end', () => {
    const decoder = new SseDecoder({ keepRaw: true });
    assert.deepEqual(decoder.push(encoder.encode('data: one\r\r')), []);
    const items = decoder.end();
    assert.equal(items.length, 1);
    assert.equal(items[0]?.unterminated, undefined);
    const cut = new SseDecoder({ keepRaw: true });
    cut.push(encoder.encode('data: one\n\ndata: tw'));
    const rest = cut.end();
    assert.deepEqual(rest.map((item) => [item.type, item.unterminated]), [['event', true]]);
    const noBlank = new SseDecoder();
    noBlank.push(encoder.encode('data: x\n: comment'));
    assert.deepEqual(noBlank.end().map((item) => [item.type, item.unterminated]), [['comment', true], ['event', true]]);
  });
});

describe('SseDecoder maxEventBytes', () => {
  /** Pushes every chunk; returns the items, or the error the first failing push threw. */
  function run(chunks: readonly Uint8Array[], maxEventBytes: number): { items: SseItem[]; error: unknown } {
    const decoder = new SseDecoder({ maxEventBytes });
    const items: SseItem[] = [];
    try {
      for (const chunk of chunks) items.push(...decoder.push(chunk));
      items.push(...decoder.end());
      return { items, error: undefined };
    } catch (error) {
      // After the limit, the decoder ignores everything.
      assert.deepEqual(decoder.push(encoder.encode('data: more\n\n')), []);
      assert.deepEqual(decoder.end(), []);
      return { items, error };
    }
  }

  const event = (bytes: number) => `data: ${'x'.repeat(bytes - 'data: '.length - 1)}\n`;

  it('passes an event of exactly the limit, whatever the chunking (terminators are not counted)', () => {
    const text = `${event(100)}\n${event(100)}\n`;
    for (const { name, chunks } of allSplittings(encoder.encode(text))) {
      const { items, error } = run(chunks, 99);
      assert.equal(error, undefined, name);
      assert.equal(items.length, 2, name);
    }
  });

  it('throws a LimitExceededError one byte over the limit, whatever the chunking', () => {
    const bytes = encoder.encode(`data: ok\n\n${event(100)}\n`);
    for (const { name, chunks } of allSplittings(bytes)) {
      const { error } = run(chunks, 98);
      assert.ok(error instanceof LimitExceededError, name);
      assert.equal(error.reason, 'upstream_event_too_large');
      assert.equal(error.limit, 98);
    }
  });

  it('counts every line of one event (many small data lines add up) and fields and comments inside it', () => {
    const lines = 'data: a\n'.repeat(50);
    assert.ok(run([encoder.encode(`${lines}\n`)], 300).error instanceof LimitExceededError);
    assert.equal(run([encoder.encode(`${lines}\n`)], 350).error, undefined);
    const inside = `event: x\n${': keepalive padding\n'.repeat(20)}data: y\n\n`;
    assert.ok(run([encoder.encode(inside)], 200).error instanceof LimitExceededError);
  });

  it('bounds a comment line and an unterminated line, and throws before the line ends', () => {
    const decoder = new SseDecoder({ maxEventBytes: 1000 });
    assert.throws(() => {
      for (let index = 0; index < 100; index += 1) decoder.push(encoder.encode(': '.padEnd(100, 'c')));
    }, LimitExceededError);
    assert.ok(run([encoder.encode('data: '.padEnd(5000, 'z'))], 1000).error instanceof LimitExceededError);
  });

  it('starts counting afresh for each event: a long stream of small events never reaches it', () => {
    const many = `${': ping\n\n'.repeat(200)}${'data: {"a":1}\n\n'.repeat(2000)}`;
    const { items, error } = run(splitRandom(encoder.encode(many), 7, 64), 20);
    assert.equal(error, undefined);
    assert.equal(items.filter((item) => item.type === 'event').length, 2000);
  });

  it('keeps raw bytes intact below the limit (keepRaw)', () => {
    const bytes = encoder.encode('data: one\n\n: c\n\ndata: two\n\n');
    const decoder = new SseDecoder({ keepRaw: true, maxEventBytes: 16 });
    const items = [...decoder.push(bytes), ...decoder.end()];
    assert.deepStrictEqual(Buffer.from(concatBytes(items.map((item) => item.raw ?? new Uint8Array(0)))), Buffer.from(bytes));
  });
});
