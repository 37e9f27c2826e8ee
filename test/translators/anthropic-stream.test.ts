/** AnthropicStreamMapper and the SSE stream translator: edge cases the golden streams do not pin down. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnthropicStreamMapper, anthropicTranslator } from '../../src/translators/anthropic/index.js';
import { compactTextDelta } from '../../src/translators/anthropic/sse-stream.js';
import type { StreamStep } from '../../src/translators/types.js';
import { anthropicContext } from './anthropic-test-context.js';

const decoder = new TextDecoder();

/** The JSON payloads of the `data:` lines (except [DONE]). */
function chunks(steps: StreamStep[]): Record<string, unknown>[] {
  const text = steps.map((step) => decoder.decode(step.body)).join('');
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: ') && block !== 'data: [DONE]')
    .map((block) => JSON.parse(block.slice(6)) as Record<string, unknown>);
}

function deltas(steps: StreamStep[]): Record<string, unknown>[] {
  return chunks(steps).flatMap((chunk) => ((chunk.choices ?? []) as { delta: Record<string, unknown> }[]).map((choice) => choice.delta));
}

function finishReasons(steps: StreamStep[]): unknown[] {
  return chunks(steps)
    .flatMap((chunk) => ((chunk.choices ?? []) as { finish_reason: unknown }[]).map((choice) => choice.finish_reason))
    .filter((reason) => reason !== null);
}

const start = (usage: Record<string, unknown> = { input_tokens: 10, output_tokens: 1 }) => ({
  type: 'message_start',
  message: { id: 'msg_1', model: 'claude-x', content: [], usage },
});

function run(events: [string, unknown][], body: Record<string, unknown> = { stream: true, messages: [] }): { steps: StreamStep[]; mapper: AnthropicStreamMapper } {
  const mapper = new AnthropicStreamMapper(anthropicContext(body, { stream: true }));
  const steps = events.map(([type, data]) => mapper.onEvent(type, data));
  steps.push(mapper.finish());
  return { steps, mapper };
}

describe('AnthropicStreamMapper', () => {
  it('marks a text delta chunk as content-only (for the client-stream scrubber), and no other chunk', () => {
    const { steps } = run([
      ['message_start', start()],
      ['content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }],
      ['content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }],
      ['content_block_stop', { index: 0 }],
      ['content_block_start', { index: 1, content_block: { type: 'text', text: '' } }],
      ['content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'Hello' } }],
      ['content_block_stop', { index: 1 }],
      ['message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } }],
      ['message_stop', {}],
    ]);
    const events = steps.flatMap((step) => step.events ?? []).filter((item) => item.type === 'event');
    const marked = events.filter((item) => item.type === 'event' && item.content !== undefined);
    assert.deepStrictEqual(
      marked.map((item) => (item.type === 'event' ? item.content : undefined)),
      [{ index: 0, text: 'Hello' }],
    );
    // The mark sits beside the chunk's own JSON, which says the same.
    const json = marked[0]?.type === 'event' ? (marked[0].json as { choices: { delta: unknown; finish_reason: unknown }[] }) : undefined;
    assert.deepStrictEqual(json?.choices[0]?.delta, { content: 'Hello' });
    assert.equal(json?.choices[0]?.finish_reason, null);
  });

  it('sends a tool start input once when no argument delta came, and "{}" for an empty one', () => {
    const { steps } = run([
      ['message_start', start()],
      ['content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'a', name: 'f', input: { city: 'Paris' } } }],
      ['content_block_stop', { index: 0 }],
      ['content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'b', name: 'g', input: {} } }],
      ['content_block_stop', { index: 1 }],
      ['message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } }],
      ['message_stop', {}],
    ]);
    const calls = deltas(steps).flatMap((delta) => (delta.tool_calls as Record<string, unknown>[] | undefined) ?? []);
    assert.deepStrictEqual(calls, [
      { index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '' } },
      { index: 0, function: { arguments: '{"city":"Paris"}' } },
      { index: 1, id: 'b', type: 'function', function: { name: 'g', arguments: '' } },
      { index: 1, function: { arguments: '{}' } },
    ]);
    // a tool was called: tool_calls even though the stop reason says end_turn
    assert.deepStrictEqual(finishReasons(steps), ['tool_calls']);
  });

  it('finishes with "stop" on message_stop without a stop_reason, and only once', () => {
    const { steps } = run([
      ['message_start', start()],
      ['message_stop', {}],
      ['message_delta', { delta: { stop_reason: 'max_tokens' } }],
    ]);
    assert.deepStrictEqual(finishReasons(steps), ['stop']);
  });

  it('maps an unknown stop reason to "stop" with an unknown_finish_reason warning', () => {
    const { steps } = run([
      ['message_start', start()],
      ['message_delta', { delta: { stop_reason: 'galaxy_brain' }, usage: { output_tokens: 3 } }],
      ['message_stop', {}],
    ]);
    assert.deepStrictEqual(finishReasons(steps), ['stop']);
    assert.deepStrictEqual(steps.flatMap((step) => step.warnings ?? []).map((warning) => warning.kind), ['unknown_finish_reason']);
  });

  it('merges usage per field: message_delta repeating input and cache counts does not double them', () => {
    const { steps } = run([
      ['message_start', start({ input_tokens: 10, cache_read_input_tokens: 100, cache_creation_input_tokens: 50, output_tokens: 1 })],
      ['message_delta', { delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 10, cache_read_input_tokens: 100, cache_creation_input_tokens: 50, output_tokens: 42 } }],
      ['message_stop', {}],
    ]);
    assert.deepStrictEqual(steps.at(-1)?.usage, {
      inputTokens: 160,
      outputTokens: 42,
      totalTokens: 202,
      cachedInputTokens: 100,
      cacheCreationInputTokens: 50,
      reasoningTokens: 0,
    });
  });

  it('counts usage reported only in message_delta (compatible backends)', () => {
    const { steps } = run([
      ['message_start', { type: 'message_start', message: { id: 'm', model: 'x', content: [] } }],
      ['message_delta', { delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 7, output_tokens: 3 } }],
      ['message_stop', {}],
    ]);
    assert.equal(steps.at(-1)?.usage?.inputTokens, 7);
    assert.equal(steps.at(-1)?.usage?.totalTokens, 10);
  });

  it('reports usage in StreamStep but hides the usage chunk from a client that did not ask', () => {
    const ctx = anthropicContext({ stream: true, messages: [] }, { stream: true, forceIncludeUsage: true });
    const mapper = new AnthropicStreamMapper(ctx);
    mapper.onEvent('message_start', start());
    mapper.onEvent('message_stop', {});
    const last = mapper.finish();
    assert.equal(decoder.decode(last.body), 'data: [DONE]\n\n');
    assert.equal(last.usage?.inputTokens, 10);
  });

  it('keeps a ping before message_start valid (generated id) and counts delivered text', () => {
    const { steps } = run([
      ['ping', {}],
      ['message_start', start()],
      ['content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }],
      ['content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'hmm ' } }],
      ['content_block_start', { index: 1, content_block: { type: 'text', text: '' } }],
      ['content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'hi' } }],
      ['content_block_start', { index: 2, content_block: { type: 'tool_use', id: 't', name: 'f', input: {} } }],
      ['content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '{"a":1}' } }],
    ]);
    assert.equal(chunks(steps)[0]?.id, 'chatcmpl-id-1');
    assert.equal(steps.map((step) => step.deliveredText ?? '').join(''), 'hmm hi{"a":1}');
    // no thinking_blocks without a signature, no finish reason without a stop
    assert.equal(deltas(steps).some((delta) => 'thinking_blocks' in delta), false);
    assert.deepStrictEqual(finishReasons(steps), []);
    // cut short: an error event, and no [DONE] that would make it look complete
    assert.equal(steps.at(-1)?.error?.code, 'upstream_stream_truncated');
    assert.ok(!decoder.decode(steps.at(-1)?.body).includes('[DONE]'));
  });

  it('ends the stream at an error event: error chunk, StreamStep.error, nothing after, no [DONE]', () => {
    const mapper = new AnthropicStreamMapper(anthropicContext({ stream: true, messages: [] }, { stream: true }));
    mapper.onEvent('message_start', start());
    const failed = mapper.onEvent('error', { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
    assert.deepStrictEqual(failed.error, { status: 429, message: 'slow down', type: 'rate_limit_error' });
    assert.equal(decoder.decode(failed.body), 'data: {"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}\n\n');
    assert.equal(mapper.onEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'x' } }).body.length, 0);
    assert.equal(mapper.finish().body.length, 0);
  });

  it('finish() is idempotent', () => {
    const { mapper } = run([['message_start', start()], ['message_stop', {}]]);
    assert.equal(mapper.finish().body.length, 0);
  });
});

describe('Anthropic SSE stream translator', () => {
  const ctx = anthropicContext({ stream: true, messages: [] }, { stream: true });
  it('accepts data: without a space, CRLF line endings and the event name when the payload has no type', () => {
    const stream = anthropicTranslator.stream(ctx, new Map());
    const input =
      'event: message_start\r\ndata:{"type":"message_start","message":{"id":"m1","model":"x","usage":{"input_tokens":3}}}\r\n\r\n' +
      'event: content_block_delta\r\ndata: {"index":0,"delta":{"type":"text_delta","text":"yo"}}\r\n\r\n';
    const step = stream.push(new TextEncoder().encode(input));
    assert.deepStrictEqual(deltas([step]), [{ role: 'assistant', content: '' }, { content: 'yo' }]);
    assert.equal(step.usage?.inputTokens, 3);
  });

  it('turns an undecodable event into an error chunk (502) and stops', () => {
    const stream = anthropicTranslator.stream(ctx, new Map());
    const step = stream.push(new TextEncoder().encode('event: message_start\ndata: {"type":"message_start",\n\n'));
    assert.equal(step.error?.status, 502);
    assert.match(decoder.decode(step.body), /^data: \{"error":/);
    assert.equal(stream.end().body.length, 0);
  });

  it('returns an empty body (not the input) while an event is incomplete', () => {
    const stream = anthropicTranslator.stream(ctx, new Map());
    const step = stream.push(new TextEncoder().encode('event: ping\ndata: {"type":'));
    assert.equal(step.body.length, 0);
    assert.equal(step.usage, undefined);
  });
});

describe('compactTextDelta (text deltas read without JSON.parse)', () => {
  const delta = (index: string, text: string) => `{"type":"content_block_delta","index":${index},"delta":{"type":"text_delta","text":"${text}"}}`;

  it('gives what JSON.parse gives for compact text deltas', () => {
    for (const data of [delta('0', 'Hello'), delta('1', ''), delta('7', ' world, ça va? \u2028 😀'), delta('123456789', 'x'), delta('0', '}}"}}'.replaceAll('"', ''))]) {
      assert.deepStrictEqual(compactTextDelta(data), JSON.parse(data), data);
    }
  });

  it('leaves everything else to the parser', () => {
    const misses = [
      delta('0', 'say \\"hi\\"'), // escapes
      delta('0', 'a\\nb'),
      delta('0', 'tab\there'), // a raw control character: not valid JSON either
      delta('00', 'x'), // leading zero
      delta('-1', 'x'),
      delta('1.5', 'x'),
      delta('1234567890', 'x'), // ten digits
      delta('', 'x'),
      '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}',
      '{"type":"content_block_delta", "index":0,"delta":{"type":"text_delta","text":"x"}}', // spacing
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","extra":1}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}, "more":1}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"}}', // cut
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}\n',
    ];
    for (const data of misses) assert.equal(compactTextDelta(data), undefined, data);
  });

  it('translates a stream the same with text deltas read either way', () => {
    // The same events, compact and with a space after every colon (which takes the parser).
    const events = [
      ['message_start', '{"type":"message_start","message":{"id":"msg_1","model":"claude-x","usage":{"input_tokens":5,"output_tokens":1}}}'],
      ['content_block_start', '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'],
      ['content_block_delta', delta('0', 'Hel')],
      ['content_block_delta', delta('0', 'lo ☃')],
      ['content_block_stop', '{"type":"content_block_stop","index":0}'],
      ['message_delta', '{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}'],
      ['message_stop', '{"type":"message_stop"}'],
    ];
    const sse = (spaced: boolean) => events.map(([name, data]) => `event: ${name}\ndata: ${spaced ? (data as string).replaceAll('":', '": ') : data}\n\n`).join('');
    const run = (body: string) => {
      const stream = anthropicTranslator.stream(anthropicContext({ stream: true, messages: [] }, { stream: true }), new Map());
      const first = stream.push(new TextEncoder().encode(body));
      const last = stream.end();
      return { text: new TextDecoder().decode(Buffer.concat([first.body, last.body])), delivered: `${first.deliveredText ?? ''}${last.deliveredText ?? ''}`, usage: last.usage ?? first.usage };
    };
    const compact = run(sse(false));
    assert.deepStrictEqual(compact, run(sse(true)));
    assert.equal(compact.delivered, 'Hello ☃');
  });
});
