import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventTextScrubber, type StreamApi } from '../../src/core/event-text-scrubber.js';
import { REDACTED, SecretScrubber } from '../../src/core/secret-scrubber.js';
import { SseDecoder, type DecodedSseItem } from '../../src/core/sse.js';
import { concatBytes, standardSplittings } from '../helpers/chunking.js';

const SECRET = 'sk-live-backend-0123456789';
const TOKEN = 'ya29.other/secret+token';
const scrubber = new SecretScrubber([SECRET, TOKEN]);

const sse = (data: unknown, event?: string): string => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
const piecesOf = (text: string, size: number): string[] => text.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g')) ?? [];

/** The text of every channel, joined as a client joins it. */
function channels(api: StreamApi, body: string): Map<string, string> {
  const joined = new Map<string, string>();
  const add = (key: string, text: unknown) => {
    if (typeof text === 'string') joined.set(key, (joined.get(key) ?? '') + text);
  };
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const event = JSON.parse(line.slice(6));
    if (api === 'anthropic') {
      if (event.type === 'content_block_delta') add(`${event.index}`, event.delta.text ?? event.delta.partial_json);
      continue;
    }
    if (api === 'responses') {
      if (typeof event.type === 'string' && event.type.endsWith('.delta')) add(`${event.item_id}/${event.type}`, event.delta);
      continue;
    }
    for (const choice of event.choices ?? []) {
      add(`${choice.index}/text`, choice.text);
      add(`${choice.index}/content`, choice.delta?.content);
      add(`${choice.index}/reasoning_content`, choice.delta?.reasoning_content);
      for (const call of choice.delta?.tool_calls ?? []) add(`${choice.index}/tool/${call.index}`, call.function?.arguments);
    }
  }
  return joined;
}

function run(api: StreamApi, chunks: readonly Uint8Array[]): string {
  const events = new EventTextScrubber(scrubber, api);
  const bytes = scrubber.stream();
  const out: Uint8Array[] = [];
  for (const chunk of chunks) out.push(bytes.push(events.push(chunk)));
  out.push(bytes.push(events.end()), bytes.end());
  return Buffer.from(concatBytes(out)).toString('utf8');
}

/**
 * As a pass-through translator hands its chunks on (StreamStep.events): whole items with their parsed JSON, read by
 * pushDecoded; with `mixed`, every other chunk goes through push instead.
 */
/** An OpenAI chunk whose only text is one choice's content, no finish reason, usage or error: what a template reads. */
function contentOnly(json: unknown): { index: number; text: string } | undefined {
  const value = json as { choices?: Array<{ index?: number; delta?: Record<string, unknown>; finish_reason?: unknown; text?: unknown }>; usage?: unknown; error?: unknown };
  const choice = value?.choices?.length === 1 ? value.choices[0] : undefined;
  if (!choice?.delta || value.usage !== undefined || value.error !== undefined || choice.finish_reason || choice.text !== undefined) return undefined;
  const keys = Object.keys(choice.delta);
  if (keys.length !== 1 || keys[0] !== 'content' || typeof choice.delta['content'] !== 'string') return undefined;
  return { index: choice.index ?? 0, text: choice.delta['content'] };
}

function runDecoded(api: StreamApi, chunks: readonly Uint8Array[], mixed: boolean, withoutRaw = false, hinted = false, translated = false): string {
  const decoder = new SseDecoder({ keepRaw: true });
  const events = new EventTextScrubber(scrubber, api);
  const bytes = scrubber.stream();
  const out: Uint8Array[] = [];
  for (const [index, chunk] of chunks.entries()) {
    const items = decoder.push(chunk);
    const whole = concatBytes(items.map((item) => item.raw ?? new Uint8Array(0)));
    const decoded: DecodedSseItem[] = items.map((item) => {
      if (item.type === 'comment') return item;
      let json: unknown;
      try {
        json = JSON.parse(item.data);
      } catch {
        json = undefined;
      }
      // A translator's own events come without raw bytes (they are what encodeSseEvent writes).
      const content = (hinted || translated) && api === 'openai' ? contentOnly(json) : undefined;
      // A translator marks its content-only chunks and keeps their JSON; a pass-through reads them without parsing.
      if (content) return translated ? { ...item, raw: undefined, json, content } : { ...item, json: undefined, content };
      return { ...item, raw: withoutRaw ? undefined : item.raw, json };
    });
    out.push(bytes.push(mixed && index % 2 === 1 ? events.push(whole) : events.pushDecoded(whole, decoded)));
  }
  out.push(bytes.push(events.push(concatBytes(decoder.end().map((item) => item.raw ?? new Uint8Array(0))))));
  out.push(bytes.push(events.end()), bytes.end());
  return Buffer.from(concatBytes(out)).toString('utf8');
}

/** Every splitting of the bytes gives the same output, and each channel's joined text is the joined input text, scrubbed. */
function assertSplitInvariant(api: StreamApi, stream: string): string {
  const expected = new Map([...channels(api, stream)].map(([key, text]) => [key, scrubber.scrubText(text)]));
  let first: string | undefined;
  for (const splitting of standardSplittings(Buffer.from(stream), 6)) {
    const out = run(api, splitting.chunks);
    first ??= out;
    assert.equal(out, first, `${splitting.name}: same output whatever the chunk boundaries`);
    // The events a translator already decoded give the very same output (alone, and mixed with raw chunks).
    assert.equal(runDecoded(api, splitting.chunks, false), first, `${splitting.name}: pushDecoded`);
    assert.equal(runDecoded(api, splitting.chunks, true), first, `${splitting.name}: pushDecoded mixed with push`);
    assert.equal(runDecoded(api, splitting.chunks, false, true), first, `${splitting.name}: pushDecoded, events without raw bytes`);
    assert.equal(runDecoded(api, splitting.chunks, false, false, true), first, `${splitting.name}: pushDecoded, content-only chunks not parsed`);
    assert.equal(runDecoded(api, splitting.chunks, false, false, false, true), first, `${splitting.name}: pushDecoded, content-only chunks marked by a translator`);
  }
  const output = first as string;
  for (const secret of [SECRET, TOKEN]) assert.ok(!output.includes(secret));
  assert.deepEqual(channels(api, output), expected);
  for (const text of channels(api, output).values()) for (const secret of [SECRET, TOKEN]) assert.ok(!text.includes(secret), `joined text leaks ${secret}`);
  return output;
}

const TEXT = `key: ${SECRET}, again ${SECRET}${SECRET} and ${TOKEN}; a near miss sk-live-backend-01234 stays.`;

describe('EventTextScrubber: a secret split across events never reaches the client', () => {
  const chunk = (choices: unknown[], extra: object = {}) => sse({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices, ...extra });

  for (const size of [1, 2, 3, 5, 7, 11, 40]) {
    it(`OpenAI chat: content, reasoning, two choices and a tool call's arguments, in pieces of ${size}`, () => {
      const args = JSON.stringify({ header: SECRET, url: `https://x/${TOKEN}` });
      let stream = chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
      for (const piece of piecesOf(TEXT, size)) stream += chunk([{ index: 0, delta: { content: piece }, finish_reason: null }, { index: 1, delta: { reasoning_content: piece }, finish_reason: null }]);
      for (const piece of piecesOf(args, size)) stream += chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] }, finish_reason: null }]);
      stream += chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]) + chunk([{ index: 1, delta: {}, finish_reason: 'stop' }]) + chunk([], { usage: { prompt_tokens: 1 } }) + 'data: [DONE]\n\n';
      const output = assertSplitInvariant('openai', stream);
      assert.ok(output.includes(REDACTED));
    });

    it(`OpenAI chat: one choice's content only (chunks a pass-through reads without parsing), in pieces of ${size}`, () => {
      let stream = chunk([{ index: 0, delta: { content: '' }, finish_reason: null }]);
      for (const piece of piecesOf(TEXT, size)) stream += chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]);
      stream += chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]) + 'data: [DONE]\n\n';
      const output = assertSplitInvariant('openai', stream);
      assert.ok(output.includes(REDACTED));
    });

    it(`OpenAI completions (choices[].text), ending without [DONE], in pieces of ${size}`, () => {
      let stream = '';
      for (const piece of piecesOf(TEXT, size)) stream += sse({ id: 'c', object: 'text_completion', choices: [{ index: 0, text: piece, finish_reason: null }] });
      assertSplitInvariant('openai', stream);
    });

    it(`Anthropic: text and tool input deltas, in pieces of ${size}`, () => {
      const input = JSON.stringify({ key: SECRET });
      let stream = sse({ type: 'message_start', message: { id: 'm', content: [], usage: { input_tokens: 1 } } }, 'message_start');
      stream += sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start');
      for (const piece of piecesOf(TEXT, size)) stream += sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } }, 'content_block_delta');
      stream += sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop');
      stream += sse({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 't', name: 'f', input: {} } }, 'content_block_start');
      for (const piece of piecesOf(input, size)) stream += sse({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: piece } }, 'content_block_delta');
      stream += sse({ type: 'content_block_stop', index: 1 }, 'content_block_stop');
      stream += sse({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }, 'message_delta') + sse({ type: 'message_stop' }, 'message_stop');
      const output = assertSplitInvariant('anthropic', stream);
      // A held tail goes out before the block ends: every delta of a block precedes its content_block_stop.
      const stopAt = output.indexOf('"type":"content_block_stop","index":0');
      assert.ok(output.lastIndexOf('"index":0,"delta"') < stopAt);
    });

    it(`Responses: output text, reasoning summary and function call argument deltas, in pieces of ${size}`, { timeout: 30_000 }, () => {
      const args = JSON.stringify({ header: SECRET });
      let sequence = 0;
      const event = (type: string, payload: object) => sse({ type, sequence_number: sequence++, ...payload }, type);
      let stream = event('response.created', { response: { id: 'r', status: 'in_progress', output: [] } });
      stream += event('response.output_item.added', { output_index: 0, item: { id: 'rs', type: 'reasoning', summary: [] } });
      for (const piece of piecesOf(TEXT, size)) stream += event('response.reasoning_summary_text.delta', { item_id: 'rs', output_index: 0, summary_index: 0, delta: piece });
      stream += event('response.reasoning_summary_text.done', { item_id: 'rs', output_index: 0, summary_index: 0, text: TEXT });
      stream += event('response.output_item.added', { output_index: 1, item: { id: 'msg', type: 'message', content: [] } });
      for (const piece of piecesOf(TEXT, size)) stream += event('response.output_text.delta', { item_id: 'msg', output_index: 1, content_index: 0, delta: piece, logprobs: [] });
      stream += event('response.output_text.done', { item_id: 'msg', output_index: 1, content_index: 0, text: TEXT, logprobs: [] });
      for (const piece of piecesOf(args, size)) stream += event('response.function_call_arguments.delta', { item_id: 'fc', output_index: 2, delta: piece });
      stream += event('response.function_call_arguments.done', { item_id: 'fc', output_index: 2, arguments: args, name: 'f' });
      stream += event('response.completed', { response: { id: 'r', status: 'completed', output: [] } });
      const output = assertSplitInvariant('responses', stream);
      assert.ok(output.includes(REDACTED));
      const parsed = output.split('\n').filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6)) as { type: string; sequence_number: number });
      assert.deepEqual(parsed.map((entry) => entry.sequence_number), parsed.map((_, index) => index), 'sequence numbers stay 0, 1, 2...');
      for (const [delta, done] of [['response.output_text.delta', 'response.output_text.done'], ['response.function_call_arguments.delta', 'response.function_call_arguments.done']]) {
        const lastDelta = parsed.map((entry) => entry.type).lastIndexOf(delta);
        assert.ok(lastDelta < parsed.findIndex((entry) => entry.type === done), `every ${delta} precedes ${done}`);
      }
    });
  }

  it('a held tail goes out before an error event, and before [DONE]', () => {
    const half = SECRET.slice(0, 10);
    const error = run('anthropic', [Buffer.from(sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `hello ${half}` } }, 'content_block_delta') + sse({ type: 'error', error: { type: 'overloaded_error', message: 'x' } }, 'error'))]);
    assert.ok(error.indexOf(half) < error.indexOf('overloaded_error'), error);
    assert.ok(error.indexOf('hello ') < error.indexOf(half));
    const done = run('openai', [Buffer.from(chunk([{ index: 0, delta: { content: `hi ${half}` }, finish_reason: null }]) + 'data: [DONE]\n\n')]);
    assert.ok(done.indexOf(half) < done.indexOf('[DONE]'), done);
  });

  it('a stream with no secret prefix goes out as the very same bytes', () => {
    const events = new EventTextScrubber(scrubber, 'openai');
    const input = Buffer.from(chunk([{ index: 0, delta: { content: 'plain text.' }, finish_reason: null }]));
    assert.equal(events.push(input), input);
    assert.equal(events.end().length, 0);
  });
});
