/** Anthropic Messages client: responses, streams, usage and errors coming back from every backend. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anthropicClientError } from '../../src/translators/anthropic-ingress/anthropic-error.js';
import { AnthropicUsageTracker, mergeCumulativeUsage } from '../../src/translators/anthropic-ingress/anthropic-usage.js';
import { mapFinishReason } from '../../src/translators/anthropic-ingress/map-finish-reason.js';
import { findShippedTranslator } from '../helpers/components.js';
import type { StreamTranslator } from '../../src/translators/types.js';
import { encodeEventStream } from '../helpers/aws-eventstream.js';
import { parseAnthropicSse as parseSse } from '../helpers/anthropic-sse.js';
import { ingressContext } from './anthropic-ingress-context.js';

const utf8 = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function openAIStream(body: Record<string, unknown> = { model: 'm', max_tokens: 5, stream: true, messages: [] }): StreamTranslator {
  const translator = findShippedTranslator('anthropic', 'messages', 'OpenAI');
  assert.ok(translator);
  return translator.stream(ingressContext(body), new Map());
}

function run(stream: StreamTranslator, chunks: string[]): { text: string; errors: number } {
  let text = '';
  let errors = 0;
  for (const step of [...chunks.map((chunk) => stream.push(utf8(chunk))), stream.end()]) {
    text += decode(step.body);
    if (step.error) errors += 1;
  }
  return { text, errors };
}

const chunk = (value: Record<string, unknown>) => `data: ${JSON.stringify(value)}\n\n`;

describe('OpenAI stream -> Anthropic events', () => {
  it('closes with message_delta and message_stop when finish_reason and usage share a chunk', () => {
    const { text } = run(openAIStream(), [
      chunk({ id: 'c1', model: 'gpt', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] }),
      chunk({ id: 'c1', model: 'gpt', choices: [{ index: 0, delta: {}, finish_reason: 'length' }], usage: { prompt_tokens: 3, completion_tokens: 1 } }),
      'data: [DONE]\n\n',
    ]);
    const events = parseSse(text);
    assert.deepEqual(events.map((event) => event.event), ['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    assert.deepEqual(events[4]?.data.delta, { stop_reason: 'max_tokens', stop_sequence: null });
    assert.equal((events[4]?.data.usage as Record<string, number>).output_tokens, 1);
  });

  it('gives a tool call without an id a generated toolu_ id and ignores other choices', () => {
    const { text } = run(openAIStream(), [
      chunk({ id: 'c', choices: [{ index: 1, delta: { content: 'second choice' } }, { index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'f', arguments: '{}' } }] } }] }),
      chunk({ id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      chunk({ id: 'c', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } }),
    ]);
    const events = parseSse(text);
    const start = events.find((event) => event.event === 'content_block_start');
    assert.deepEqual(start?.data.content_block, { type: 'tool_use', id: 'toolu_id-1', name: 'f', input: {} });
    assert.ok(!text.includes('second choice'));
    // A stream that called a tool stops with tool_use even when the server said "stop".
    assert.equal((events.find((event) => event.event === 'message_delta')?.data.delta as Record<string, unknown>).stop_reason, 'tool_use');
  });

  it('reports an error instead of inventing an ending for an empty body', () => {
    const { text, errors } = run(openAIStream(), []);
    assert.equal(errors, 1);
    assert.deepEqual(parseSse(text).map((event) => event.event), ['error']);
  });

  it('sends nothing after an error', () => {
    const { text } = run(openAIStream(), ['data: {not json}\n\n', chunk({ id: 'c', choices: [{ index: 0, delta: { content: 'late' } }] })]);
    assert.deepEqual(parseSse(text).map((event) => event.event), ['error']);
  });
});

describe('native usage', () => {
  it('merges cumulative counts field by field: larger wins, zero never erases', () => {
    assert.deepEqual(mergeCumulativeUsage({ input: 100, output: 1, cacheRead: 50 }, { input: 0, output: 40 }), { input: 100, output: 40, cacheRead: 50 });
    assert.deepEqual(mergeCumulativeUsage({}, { input: 7 }), { input: 7 });
  });

  it('counts input reported only in message_delta and never double counts output', () => {
    const tracker = new AnthropicUsageTracker();
    tracker.observe({ type: 'message_start', message: { model: 'x', usage: { input_tokens: 0, output_tokens: 0 } } });
    tracker.observe({ type: 'message_delta', usage: { output_tokens: 5 } });
    tracker.observe({ type: 'message_delta', usage: { input_tokens: 12, output_tokens: 9 } });
    assert.deepEqual({ input: tracker.usage?.inputTokens, output: tracker.usage?.outputTokens, model: tracker.model }, { input: 12, output: 9, model: 'x' });
  });
});

describe('native streams', () => {
  it('passes SSE chunks through as the same objects and appends an error when message_stop never came', () => {
    const translator = findShippedTranslator('anthropic', 'messages', 'Anthropic');
    assert.ok(translator);
    const stream = translator.stream(ingressContext({ model: 'm', stream: true }, { schema: 'Anthropic' }), new Map());
    const piece = utf8('event: message_start\ndata: {"type":"message_start","message":{"model":"c","usage":{"input_tokens":4,"output_tokens":1}}}\n\n');
    const step = stream.push(piece);
    assert.equal(step.body, piece);
    assert.equal(step.usage?.inputTokens, 4);
    const last = stream.end();
    assert.equal(last.error?.status, 502);
    assert.deepEqual(parseSse(decode(last.body)).map((event) => event.event), ['error']);
  });

  it('forwards whole events only: a partial event is held, and a stream cut inside one never glues it to the error', () => {
    const translator = findShippedTranslator('anthropic', 'messages', 'Anthropic');
    assert.ok(translator);
    const stream = translator.stream(ingressContext({ model: 'm', stream: true }, { schema: 'Anthropic' }), new Map());
    const start = 'event: message_start\ndata: {"type":"message_start","message":{"model":"c","usage":{"input_tokens":4,"output_tokens":1}}}\n\n';
    const delta = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n';
    assert.equal(stream.push(utf8(start + delta.slice(0, 30))).body.length, start.length, 'the complete event goes, the partial one waits');
    assert.equal(decode(stream.push(utf8(delta.slice(30, 60))).body), '');
    const cut = stream.end();
    assert.deepEqual(parseSse(decode(cut.body)).map((event) => event.event), ['error'], 'only the error event: the cut event is never forwarded');
  });

  it('refuses an event over ctx.maxStreamEventBytes before forwarding any of it', () => {
    const translator = findShippedTranslator('anthropic', 'messages', 'Anthropic');
    assert.ok(translator);
    const stream = translator.stream(ingressContext({ model: 'm', stream: true }, { schema: 'Anthropic', maxStreamEventBytes: 1000 }), new Map());
    const big = `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${'x'.repeat(2000)}"}}\n\n`;
    assert.equal(stream.push(utf8(big.slice(0, 900))).body.length, 0);
    assert.throws(() => stream.push(utf8(big.slice(900))), /grew past 1000 bytes/);
  });

  it('turns a corrupt Bedrock event stream into an error event', () => {
    const translator = findShippedTranslator('anthropic', 'messages', 'AWSAnthropic');
    assert.ok(translator);
    const stream = translator.stream(ingressContext({ model: 'm', stream: true }, { schema: 'AWSAnthropic' }), new Map());
    const frames = encodeEventStream([{ headers: { ':event-type': 'chunk', ':message-type': 'event' }, body: { bytes: Buffer.from('{"type":"ping"}').toString('base64') } }]);
    const corrupt = frames.slice();
    corrupt[corrupt.length - 1] ^= 0xff;
    const step = stream.push(corrupt);
    assert.equal(step.error?.status, 502);
    assert.deepEqual(parseSse(decode(step.body)).map((event) => event.event), ['error']);
    assert.equal(decode(stream.end().body), '');
  });
});

describe('errors for Anthropic clients', () => {
  it('names the Bedrock error type and keeps the status', () => {
    const result = anthropicClientError(400, utf8('{"message":"Malformed input request"}'), new Map([['x-amzn-errortype', 'ValidationException:http://internal']]));
    assert.equal(result.status, 400);
    assert.deepEqual(JSON.parse(decode(result.body)), { type: 'error', error: { type: 'invalid_request_error', message: 'ValidationException: Malformed input request' } });
  });

  it('wraps an empty 529 as overloaded_error', () => {
    const result = anthropicClientError(529, new Uint8Array(0), new Map());
    assert.deepEqual(JSON.parse(decode(result.body)), { type: 'error', error: { type: 'overloaded_error', message: 'upstream returned HTTP 529 with an empty body' } });
  });
});

describe('finish reasons', () => {
  it('maps every OpenAI reason and warns on unknown ones', () => {
    assert.equal(mapFinishReason('stop', false).stopReason, 'end_turn');
    assert.equal(mapFinishReason('length', false).stopReason, 'max_tokens');
    assert.equal(mapFinishReason('tool_calls', false).stopReason, 'tool_use');
    assert.equal(mapFinishReason('content_filter', false).stopReason, 'refusal');
    const unknown = mapFinishReason('eos', false);
    assert.equal(unknown.stopReason, 'end_turn');
    assert.equal(unknown.warning?.kind, 'unknown_finish_reason');
  });
});
