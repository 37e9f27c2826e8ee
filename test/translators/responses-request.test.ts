/**
 * Responses request -> chat pivot edge cases the goldens do not spell out: item grouping, roles, tool_choice and
 * text.format variants, warnings for what is dropped, 422s for what cannot be expressed, the passthrough's body
 * and paths, the input token count (OpenAI's path; the counted chat body elsewhere), and the local input estimate of a
 * Responses body.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateInputTokens } from '../../src/costs/index.js';
import { GatewayError } from '../../src/core/errors.js';
import { responsesCountingBody } from '../../src/translators/responses/index.js';
import { buildChatBody } from '../../src/translators/responses/to-chat-request.js';
import { decodeThinkingBlocks, encodeThinkingBlocks } from '../../src/translators/responses/response-object.js';
import type { Warning } from '../../src/translators/types.js';
import { lookupTranslator } from '../../src/translators/table.js';
import { COMPONENTS, shippedTranslator } from '../helpers/components.js';
import { testBackend, testContext } from '../helpers/request-context.js';

const TIMEOUT = { timeout: 10_000 };
const claude = testBackend({ name: 'claude', schema: 'Anthropic', endpoint: 'https://api.anthropic.com' });

function chat(body: Record<string, unknown>, stream = false): { body: Record<string, unknown>; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const ctx = testContext({ model: 'm', ...body }, { backend: claude, operation: 'responses', stream });
  return { body: buildChatBody(ctx, warnings), warnings };
}

function rejects(body: Record<string, unknown>, status: number, param: string): void {
  assert.throws(
    () => shippedTranslator('openai', 'responses', 'Anthropic').request(testContext({ model: 'm', ...body }, { backend: claude, operation: 'responses' })),
    (error: unknown) => GatewayError.isInstance(error) && error.status === status && error.param === param,
  );
}

describe('Responses request -> chat pivot', () => {
  it('instructions and a string input: a system and a user message', TIMEOUT, () => {
    assert.deepEqual(chat({ instructions: 'Be brief.', input: 'Hi' }).body.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);
  });

  it('developer messages, assistant text, parallel calls joining one assistant message, their outputs as tool messages', TIMEOUT, () => {
    const { body } = chat({
      input: [
        { role: 'developer', content: 'Use tools.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Paris and Rome?' }, { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
        { type: 'function_call', call_id: 'c1', name: 'w', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'c2', name: 'w', arguments: '{"city":"Rome"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
        { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'rain' }] },
      ],
    });
    assert.deepEqual(body.messages, [
      { role: 'developer', content: 'Use tools.' },
      { role: 'user', content: [{ type: 'text', text: 'Paris and Rome?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } }] },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'w', arguments: '{"city":"Paris"}' } },
          { id: 'c2', type: 'function', function: { name: 'w', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'c2', content: 'rain' },
    ]);
  });

  it('tools, tool_choice forms, text.format, reasoning, max_output_tokens, stream', TIMEOUT, () => {
    const tools = [{ type: 'function', name: 'w', description: 'weather', parameters: { type: 'object', properties: {} }, strict: true }];
    const { body } = chat(
      {
        input: 'x',
        tools,
        tool_choice: { type: 'function', name: 'w' },
        text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true } },
        reasoning: { effort: 'high', summary: 'auto' },
        max_output_tokens: 300,
        temperature: 0.2,
        parallel_tool_calls: false,
        stream: true,
      },
      true,
    );
    assert.deepEqual(body.tools, [{ type: 'function', function: { name: 'w', parameters: { type: 'object', properties: {} }, description: 'weather', strict: true } }]);
    assert.deepEqual(body.tool_choice, { type: 'function', function: { name: 'w' } });
    assert.deepEqual(body.response_format, { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } });
    assert.equal(body.reasoning_effort, 'high');
    assert.equal(body.max_completion_tokens, 300);
    assert.equal(body.temperature, 0.2);
    assert.equal(body.parallel_tool_calls, false);
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.deepEqual(chat({ input: 'x', text: { format: { type: 'json_object' } } }).body.response_format, { type: 'json_object' });
    assert.equal(chat({ input: 'x', text: { format: { type: 'text' } } }).body.response_format, undefined);
    assert.equal(chat({ input: 'x', tool_choice: 'required' }).body.tool_choice, undefined, 'no tools, no tool_choice');
    const allowed = chat({ input: 'x', tools, tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'w' }] } });
    assert.equal(allowed.body.tool_choice, 'required');
    assert.ok(allowed.warnings.some((warning) => warning.detail.includes('allowed_tools')));
  });

  it('store: true is served unstored, and dropped fields are warned about', TIMEOUT, () => {
    const { warnings } = chat({ input: 'x', store: true, metadata: { a: 'b' }, include: ['reasoning.encrypted_content', 'message.output_text.logprobs'], truncation: 'auto' });
    const details = warnings.map((warning) => warning.detail).join('\n');
    for (const field of ['store', 'metadata', 'include \\["message.output_text.logprobs"\\]', 'truncation']) assert.match(details, new RegExp(field));
    assert.deepEqual(chat({ input: 'x', include: ['reasoning.encrypted_content'] }).warnings, [], 'encrypted reasoning is always returned');
  });

  it('reasoning items: ours go back as thinking_blocks on the next assistant turn; others are dropped with a warning', TIMEOUT, () => {
    const blocks = [{ type: 'thinking', thinking: 'hmm', signature: 'sig' }];
    assert.deepEqual(decodeThinkingBlocks(encodeThinkingBlocks(blocks)), blocks);
    assert.equal(decodeThinkingBlocks('gAAAA-openai'), undefined);
    const { body, warnings } = chat({
      input: [
        { role: 'user', content: 'q' },
        { type: 'reasoning', summary: [], encrypted_content: 'gAAAA-openai' },
        { type: 'reasoning', summary: [], encrypted_content: encodeThinkingBlocks(blocks) },
        { type: 'function_call', call_id: 'c1', name: 'w', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: 'ok' },
      ],
    });
    assert.deepEqual((body.messages as Record<string, unknown>[])[1], {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'c1', type: 'function', function: { name: 'w', arguments: '{}' } }],
      thinking_blocks: blocks,
      reasoning_content: 'hmm',
    });
    assert.equal(warnings.length, 1);
  });

  it('what cannot be expressed is a 422 naming the field; what needs state is a 400', TIMEOUT, () => {
    rejects({ input: [{ type: 'web_search_call', id: 'ws_1' }] }, 422, 'input[0].type');
    rejects({ input: [{ role: 'tool', content: 'x' }] }, 422, 'input[0].role');
    rejects({ input: 'x', text: { format: { type: 'grammar' } } }, 422, 'text.format.type');
    rejects({ input: [{ type: 'function_call_output', output: 'x' }] }, 422, 'input[0].call_id');
    rejects({ input: 'x', previous_response_id: 'resp_1' }, 400, 'previous_response_id');
    rejects({ input: 'x', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] }, 400, 'tools[0].type');
  });
});

describe('Responses passthrough (OpenAI, Azure)', () => {
  it('replaces only the model; OpenAI at {prefix}/responses, Azure at /openai/v1/responses', TIMEOUT, () => {
    const body = { model: 'fast', input: 'x', previous_response_id: 'resp_1', stream: true };
    const openai = testBackend({ name: 'o', schema: 'OpenAI', endpoint: 'https://api.openai.com', prefix: '/openai-proxy/v1/' });
    const upstream = shippedTranslator('openai', 'responses', 'OpenAI').request(testContext(body, { backend: openai, operation: 'responses', upstreamModel: 'gpt-5', forceIncludeUsage: true }));
    assert.equal(upstream.path, '/openai-proxy/v1/responses');
    assert.deepEqual(JSON.parse(new TextDecoder().decode(upstream.body)), { ...body, model: 'gpt-5' }, 'no stream_options is added: usage always comes with the terminal event');
    const azure = testBackend({ name: 'a', schema: 'AzureOpenAI', endpoint: 'https://r.openai.azure.com', apiVersion: '2024-10-21' });
    assert.equal(shippedTranslator('openai', 'responses', 'AzureOpenAI').request(testContext(body, { backend: azure, operation: 'responses', upstreamModel: 'prod' })).path, '/openai/v1/responses');
  });
});

describe('local input estimate of a Responses body', () => {
  it('counts instructions with a string input, and item inputs', TIMEOUT, () => {
    const plain = estimateInputTokens('gpt-4o', { input: 'What is the capital of France?' });
    const withInstructions = estimateInputTokens('gpt-4o', { input: 'What is the capital of France?', instructions: 'Answer in one short sentence, politely.' });
    assert.ok(withInstructions > plain, `${withInstructions} > ${plain}`);
    assert.ok(estimateInputTokens('gpt-4o', { input: [{ role: 'user', content: 'What is the capital of France?' }] }) > 0);
  });
});

describe('Responses input token count', () => {
  const openai = testBackend({ name: 'o', schema: 'OpenAI', endpoint: 'https://api.openai.com', prefix: '/openai-proxy/v1/' });
  const count = shippedTranslator('openai', 'input_tokens', 'OpenAI');
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

  it('OpenAI: the body with only the model replaced, to {prefix}/responses/input_tokens; the answer unchanged, no usage', TIMEOUT, () => {
    const body = { model: 'fast', input: 'x', instructions: 'Be brief.', previous_response_id: 'resp_1' };
    const upstream = count.request(testContext(body, { backend: openai, operation: 'input_tokens', upstreamModel: 'gpt-5' }));
    assert.equal(upstream.path, '/openai-proxy/v1/responses/input_tokens');
    assert.deepEqual(JSON.parse(new TextDecoder().decode(upstream.body)), { ...body, model: 'gpt-5' });
    const ctx = testContext(body, { backend: openai, operation: 'input_tokens' });
    assert.deepEqual(count.response(ctx, encode({ object: 'response.input_tokens', input_tokens: 12 }), new Map()), { body: undefined, usage: undefined });
    for (const answer of [{ object: 'response.input_tokens' }, { input_tokens: -1 }, { input_tokens: '12' }]) {
      assert.equal(count.response(ctx, encode(answer), new Map()).error?.status, 502, JSON.stringify(answer));
    }
  });

  it('no other schema has a counting translator (they are answered from the estimate)', TIMEOUT, () => {
    for (const schema of ['AzureOpenAI', 'Anthropic', 'AWSBedrock', 'AWSAnthropic', 'GCPVertexAI', 'GCPAnthropic', 'GoogleAI'] as const) {
      assert.equal(lookupTranslator(COMPONENTS.translators, 'openai', 'input_tokens', schema), undefined, schema);
    }
  });

  it('elsewhere the counted body is the /v1/responses chat body; stateful fields are the same 400', TIMEOUT, () => {
    const body = { model: 'm', instructions: 'Be brief.', input: 'Hi', tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }], stream: true };
    const counted = responsesCountingBody(body, 'claude-sonnet-4-5');
    assert.equal(counted.stream, undefined);
    assert.deepEqual(counted, { ...chat(body).body, model: 'claude-sonnet-4-5' }, 'the same conversion, never a stream');
    assert.ok(estimateInputTokens('claude-sonnet-4-5', counted) > estimateInputTokens('claude-sonnet-4-5', responsesCountingBody({ model: 'm', input: 'Hi' }, 'claude-sonnet-4-5')));
    for (const [field, extra] of [['previous_response_id', { previous_response_id: 'resp_1' }], ['conversation', { conversation: 'conv_1' }]] as const) {
      assert.throws(
        () => responsesCountingBody({ model: 'm', input: 'x', ...extra }, 'c'),
        (error: unknown) => GatewayError.isInstance(error) && error.status === 400 && error.param === field,
      );
    }
  });
});
