/**
 * Chat chunks -> Responses events (from-chat-stream.ts) for shapes the provider goldens do not produce: a streamed
 * refusal, keepalive comments, text after a tool call, a content-filter stop, a stream that ends without a finish
 * reason. Every case gives the same bytes however the input is split.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatToResponsesStream } from '../../src/translators/responses/from-chat-stream.js';
import { ResponsesPassthroughStream } from '../../src/translators/responses/passthrough.js';
import { standardSplittings } from '../helpers/chunking.js';
import { testBackend, testContext } from '../helpers/request-context.js';

const TIMEOUT = { timeout: 20_000 };
const backend = testBackend({ name: 'b', schema: 'Anthropic', endpoint: 'https://example.test' });

const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'm-1', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const usage = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'm-1', choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } })}\n\n`;

interface Event {
  type: string;
  sequence_number: number;
  [key: string]: unknown;
}

function run(input: string): { text: string; events: Event[]; error: unknown } {
  let first: string | undefined;
  let error: unknown;
  for (const splitting of standardSplittings(Buffer.from(input), 3)) {
    const stream = new ChatToResponsesStream(testContext({ model: 'm', stream: true }, { backend, operation: 'responses', stream: true }));
    let out = '';
    for (const piece of splitting.chunks) {
      const step = stream.push(piece);
      out += Buffer.from(step.body).toString('utf8');
      error ??= step.error;
    }
    const last = stream.end();
    out += Buffer.from(last.body).toString('utf8');
    error ??= last.error;
    first ??= out;
    assert.equal(out, first, `${splitting.name}: the same bytes`);
  }
  const text = first ?? '';
  const events = text.split('\n').filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6)) as Event);
  assert.deepEqual(events.map((event) => event.sequence_number), events.map((_, index) => index));
  return { text, events, error };
}

describe('chat chunks -> Responses events', () => {
  it('a refusal streams as a refusal part; keepalive comments go through as comments', TIMEOUT, () => {
    const { text, events } = run(': keepalive\n\n' + chunk({ role: 'assistant', content: '' }) + chunk({ refusal: 'I cannot ' }) + chunk({ refusal: 'help.' }) + chunk({}, 'stop') + usage + 'data: [DONE]\n\n');
    assert.ok(text.startsWith(':\n\n'));
    assert.deepEqual(events.filter((event) => event.type === 'response.refusal.delta').map((event) => event.delta), ['I cannot ', 'help.']);
    const done = events.find((event) => event.type === 'response.refusal.done');
    assert.equal(done?.refusal, 'I cannot help.');
    const completed = events.at(-1) as unknown as { type: string; response: { status: string; usage: { total_tokens: number }; output: { content: unknown[] }[] } };
    assert.equal(completed.type, 'response.completed');
    assert.deepEqual(completed.response.output[0]?.content, [{ type: 'refusal', refusal: 'I cannot help.' }]);
    assert.equal(completed.response.usage.total_tokens, 10);
  });

  it('text after a tool call starts a new message item; content_filter ends in response.incomplete', TIMEOUT, () => {
    const { events } = run(
      chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }) +
        chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }) +
        chunk({ content: 'after' }) +
        chunk({}, 'content_filter') +
        usage,
    );
    const added = events.filter((event) => event.type === 'response.output_item.added').map((event) => (event.item as { type: string }).type);
    assert.deepEqual(added, ['function_call', 'message']);
    const args = events.find((event) => event.type === 'response.function_call_arguments.done');
    assert.equal(args?.arguments, '{"a":1}');
    const last = events.at(-1) as unknown as { type: string; response: { status: string; incomplete_details: unknown } };
    assert.equal(last.type, 'response.incomplete');
    assert.deepEqual(last.response.incomplete_details, { reason: 'content_filter' });
  });

  it('a stream without a finish reason ends in response.failed, the open item incomplete, and reports the error', TIMEOUT, () => {
    const { events, error } = run(chunk({ content: 'Once upon' }));
    const last = events.at(-1) as unknown as { type: string; response: { status: string; error: { code: string }; output: { status: string }[] } };
    assert.equal(last.type, 'response.failed');
    assert.equal(last.response.error.code, 'upstream_stream_truncated');
    assert.equal(last.response.output[0]?.status, 'incomplete');
    assert.deepEqual(error, { status: 502, message: 'upstream stream ended before the response was complete', code: 'upstream_stream_truncated' });
  });
});

describe('Responses passthrough stream: the error an upstream failure is reported as', () => {
  const passthroughContext = () =>
    testContext({ model: 'gpt-5-mini', input: 'hi', stream: true }, { backend: testBackend({ name: 'openai', schema: 'OpenAI', endpoint: 'https://api.openai.com' }) });
  const failed = (code: string | null) =>
    `event: response.failed\ndata: ${JSON.stringify({ type: 'response.failed', sequence_number: 1, response: { id: 'resp_1', status: 'failed', error: code === null ? null : { code, message: 'no' }, usage: null } })}\n\n`;
  const errorEvent = (code: string) => `event: error\ndata: ${JSON.stringify({ type: 'error', sequence_number: 1, code, message: 'no', param: null })}\n\n`;
  const statusOf = (sse: string) => {
    const stream = new ResponsesPassthroughStream(passthroughContext());
    const pushed = stream.push(Buffer.from(sse, 'utf8'));
    const ended = stream.end();
    return (pushed.error ?? ended.error)?.status;
  };

  it('rate_limit_exceeded is 429, prompt and image codes 400, anything else 500, from response.failed and error events', TIMEOUT, () => {
    assert.equal(statusOf(failed('rate_limit_exceeded')), 429);
    assert.equal(statusOf(failed('invalid_prompt')), 400);
    assert.equal(statusOf(failed('image_too_large')), 400);
    assert.equal(statusOf(failed('failed_to_download_image')), 400);
    assert.equal(statusOf(failed('server_error')), 500);
    assert.equal(statusOf(failed(null)), 500);
    assert.equal(statusOf(errorEvent('rate_limit_exceeded')), 429);
    assert.equal(statusOf(errorEvent('vector_store_timeout')), 500);
  });
});
