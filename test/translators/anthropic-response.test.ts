/** Buffered response, stop reason and error translation for Anthropic backends. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anthropicResponseToOpenAI, anthropicTranslator, mapStopReason, translateAnthropicError } from '../../src/translators/anthropic/index.js';
import { anthropicContext } from './anthropic-test-context.js';

const encoder = new TextEncoder();
const ctx = anthropicContext({ messages: [] });

function errorBody(status: number, text: string): { status: number | undefined; body: unknown } {
  const result = translateAnthropicError(status, encoder.encode(text), new Map());
  return { status: result.status, body: JSON.parse(new TextDecoder().decode(result.body)) };
}

describe('mapStopReason', () => {
  const table: [string, string][] = [
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
  ];
  for (const [reason, expected] of table) {
    it(`${reason} -> ${expected}`, () => assert.deepStrictEqual(mapStopReason(reason, false), { finishReason: expected }));
  }
  it('tool_calls whenever a tool was called', () => assert.equal(mapStopReason('end_turn', true).finishReason, 'tool_calls'));
  it('unknown -> stop with a warning', () => {
    const mapped = mapStopReason('toString', false);
    assert.equal(mapped.finishReason, 'stop');
    assert.equal(mapped.warning?.kind, 'unknown_finish_reason');
  });
});

describe('anthropicResponseToOpenAI', () => {
  it('reports a 2xx error object as an error with the status of its type', () => {
    const result = anthropicResponseToOpenAI({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, ctx);
    assert.deepStrictEqual(result.error, { status: 529, message: 'Overloaded', type: 'overloaded_error' });
    assert.equal(result.usage, undefined);
  });

  it('reports a message without content, and a non-JSON body, as 502', () => {
    assert.equal(anthropicResponseToOpenAI({ id: 'x', type: 'message' }, ctx).error?.status, 502);
    assert.equal(anthropicTranslator.response(ctx, encoder.encode('<html>oops</html>'), new Map()).error?.status, 502);
    assert.equal(anthropicResponseToOpenAI(null, ctx).error?.status, 502);
  });

  it('skips block types it cannot represent, with a warning', () => {
    const result = anthropicResponseToOpenAI(
      {
        id: 'm',
        model: 'claude',
        content: [{ type: 'server_tool_use', id: 's', name: 'web_search', input: {} }, { type: 'text', text: 'done' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 1, output_tokens: 2 },
      },
      ctx,
    );
    const body = JSON.parse(new TextDecoder().decode(result.body)) as { choices: { message: Record<string, unknown> }[] };
    assert.deepStrictEqual(body.choices[0]?.message, { role: 'assistant', content: 'done' });
    assert.deepStrictEqual(result.warnings?.map((warning) => warning.kind), ['unsupported_content_block']);
    assert.equal(result.responseModel, 'claude');
  });
});

describe('translateAnthropicError', () => {
  it('keeps the Anthropic type and message and the upstream status', () => {
    assert.deepStrictEqual(errorBody(413, '{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}'), {
      status: 413,
      body: { error: { message: 'Request exceeds the maximum allowed number of bytes.', type: 'request_too_large', param: null, code: null } },
    });
  });

  it('says what an unusable body was: plain text kept, HTML as its text only, empty named', () => {
    const messageOf = (status: number, text: string) => (errorBody(status, text).body as { error: { message: string } }).error.message;
    assert.equal(messageOf(500, 'upstream connect error or disconnect/reset before headers'),
      'upstream returned HTTP 500 with a non-JSON body: upstream connect error or disconnect/reset before headers');
    assert.equal(messageOf(504, '<!DOCTYPE html><html><head><style>p{}</style></head><body>Gateway Timeout</body></html>'),
      'upstream returned HTTP 504 with an HTML page: Gateway Timeout');
    assert.equal(messageOf(500, ''), 'upstream returned HTTP 500 with an empty body');
  });

  it('types an unrecognised JSON body by status', () => {
    assert.deepStrictEqual(errorBody(401, '{"detail":"nope"}'), {
      status: 401,
      body: { error: { message: 'upstream returned HTTP 401 with a JSON body that holds no error message: {"detail":"nope"}', type: 'authentication_error', param: null, code: null } },
    });
  });
});
