/**
 * The Responses API's accounting and refusals end to end (official `openai` client -> Envoy stand-in ->
 * llm-extproc -> mocks):
 * - passthrough (OpenAI): usage from whichever terminal event ends the stream (response.completed, .incomplete,
 *   .failed), cached and reasoning tokens included, as cost metadata (CEL too) and GenAI metrics;
 * - a stream cut before its terminal event is charged what had arrived (counted locally, usage_estimated), on the
 *   passthrough and through the chat pivot (seen in the GenAI metrics, recorded when the exchange ends);
 * - a stateful field on a backend without state is a 400 in OpenAI's error JSON naming the field (`param`), and
 *   nothing reaches the backend; OpenAI, which keeps state, gets such requests as sent.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { createTokenCounter } from '../../src/costs/index.js';
import { lastRecord, NS } from '../helpers/e2e-common.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { collectResponses, emptyResponses } from '../helpers/responses-stream.js';
import { waitUntil } from '../helpers/wait-until.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';
import { sseEvent, startHttpMock, type HttpMock } from '../mocks/http-mock.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';
import type { ResponsesTerminal } from '../mocks/openai-responses-reply.js';
import { sample } from '../helpers/metric-sample.js';

const TIMEOUT = { timeout: 60_000 };

const CONFIG = `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-openai-usage } } }
  - { name: claude, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: test-anthropic-key } } }
  - { name: claude-cut, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: test-anthropic-key } } }
models:
  - { name: r-openai, backends: [{ backend: openai, modelNameOverride: gpt-5-mini }] }
  - { name: r-claude, backends: [{ backend: claude, modelNameOverride: claude-sonnet-4-5-20250929 }] }
  - { name: r-claude-cut, backends: [{ backend: claude-cut, modelNameOverride: claude-sonnet-4-5-20250929 }] }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_cached_input_token, type: CachedInputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_reasoning_token, type: ReasoningToken }
  - { metadataKey: llm_total_token, type: TotalToken }
  - { metadataKey: llm_weighted, type: CEL, cel: "(input_tokens - cached_input_tokens) + cached_input_tokens / 4 + output_tokens * 3" }
  - { metadataKey: llm_budget, type: TotalToken, reserve: true }
reserve: { outputFraction: 1, defaultOutputTokens: 256 }
`;

/** An Anthropic stream that stops after its first text delta, the connection dropped mid-answer. */
function cutAnthropicStream(): string {
  const message = { id: 'msg_cut', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 30, output_tokens: 1 } };
  return [
    sseEvent({ type: 'message_start', message }, 'message_start'),
    sseEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
    sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Once upon a time there was a gateway' } }, 'content_block_delta'),
  ].join('');
}

/** The mock's script: the cut Anthropic stream, then the connection dropped once `delivered` settles. */
function cutAfter(delivered: Promise<void>): Parameters<HttpMock['setScript']>[0] {
  return {
    kind: 'custom',
    async handle(response) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(cutAnthropicStream());
      await delivered;
      response.socket?.destroy();
    },
  };
}

/** A promise and its resolve (Promise.withResolvers is Node 22+). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}


describe('Responses API: usage, cut streams and stateful refusals', () => {
  let gateway: Gateway;
  let openai: OpenAIMock;
  let anthropic: AnthropicMock;
  let cut: HttpMock;
  let client: OpenAI;

  before(async () => {
    [openai, anthropic, cut] = await Promise.all([
      startOpenAIMock(),
      startAnthropicMock(),
      startHttpMock({ kind: 'reset' }),
    ]);
    gateway = await startGateway({ configYaml: CONFIG, upstreams: { openai: openai.url, claude: anthropic.url, 'claude-cut': cut.url } });
    client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'client-key', maxRetries: 0 });
  });
  after(async () => {
    await gateway.close();
    await Promise.all([openai.close(), anthropic.close(), cut.close()]);
  });

  const TERMINALS: Array<[ResponsesTerminal, string, string]> = [
    ['completed', 'response.completed', 'completed'],
    ['incomplete', 'response.incomplete', 'incomplete'],
    ['failed', 'response.failed', 'failed'],
  ];
  for (const [terminal, eventType, status] of TERMINALS) {
    it(`passthrough: usage from ${eventType} (cached and reasoning tokens, CEL cost)`, TIMEOUT, async () => {
      openai.options = { responsesTerminal: terminal };
      try {
        const collected = await collectResponses(await client.responses.create({ model: 'r-openai', input: 'Say hello', stream: true }));
        assert.equal(collected.terminalType, eventType);
        assert.equal(collected.terminal?.status, status);
        const sent = openai.requests.at(-1);
        assert.equal(sent?.path, '/v1/responses');
        assert.equal(sent?.json?.['model'], 'gpt-5-mini');
        assert.equal(sent?.headers['authorization'], 'Bearer sk-openai-usage');
        // the mock: 40 input (16 cached), 5 deltas + 5 reasoning = 10 output
        const metadata = (await lastRecord(gateway)).metadata[NS];
        assert.equal(metadata?.['llm_input_token'], 40);
        assert.equal(metadata?.['llm_cached_input_token'], 16);
        assert.equal(metadata?.['llm_output_token'], 10);
        assert.equal(metadata?.['llm_reasoning_token'], 5);
        assert.equal(metadata?.['llm_total_token'], 50);
        assert.equal(metadata?.['llm_weighted'], 24 + 4 + 30);
        assert.equal(metadata?.['usage_estimated'], false);
        assert.equal(metadata?.['response_model'], 'gpt-5-mini-2025-08-07');
      } finally {
        openai.options = {};
      }
    });
  }

  it('reserves for a Responses request from its input and max_output_tokens, then settles against the usage', TIMEOUT, async () => {
    const reserveOf = async (maxOutputTokens: number) => {
      const response = await client.responses.create({ model: 'r-openai', instructions: 'Be brief.', input: 'Say hello', max_output_tokens: maxOutputTokens });
      const metadata = (await lastRecord(gateway)).metadata[NS];
      const reserved = Number(metadata?.['llm_budget_reserve']);
      // settled: the total charged is max(actual, reserved), so the end value is what the reserve did not cover
      assert.equal(metadata?.['llm_budget'], Math.max(0, (response.usage?.total_tokens ?? 0) - reserved));
      return reserved;
    };
    const small = await reserveOf(16);
    const large = await reserveOf(4000);
    assert.ok(small > 16, 'input is reserved too');
    assert.equal(large - small, 4000 - 16, 'the expected output is max_output_tokens (outputFraction 1)');
  });

  it('passthrough: a buffered response is charged its usage', TIMEOUT, async () => {
    const response = await client.responses.create({ model: 'r-openai', input: 'Say hello' });
    assert.equal(response.output_text, 'Hello from the mock upstream.');
    const metadata = (await lastRecord(gateway)).metadata[NS];
    assert.equal(metadata?.['llm_total_token'], response.usage?.total_tokens);
    assert.equal(metadata?.['llm_cached_input_token'], 16);
  });

  /** Output tokens the metrics recorded as counted locally (usage_estimated) for a model, cut streams included. */
  const estimatedOutput = async (requestModel: string) =>
    sample(await gateway.metrics.metrics(), 'gen_ai_client_token_usage_sum', { gen_ai_request_model: requestModel, gen_ai_token_type: 'output', usage_estimated: 'true' }) ?? 0;

  it('passthrough: a stream cut before its terminal event is charged what arrived', TIMEOUT, async () => {
    // The upstream is reset only once the client has read the first text delta, so those bytes went through.
    const delivered = deferred();
    openai.options = { resetAfterChunks: 6, holdReset: delivered.promise };
    try {
      const collected = emptyResponses();
      const reading = (async () => {
        for await (const event of await client.responses.create({ model: 'r-openai', input: 'Say hello', stream: true })) {
          collected.events.push(event);
          if (event.type === 'response.output_text.delta') delivered.resolve();
        }
      })();
      // Envoy resets the client's stream when the upstream's is reset mid-body: the client sees a failure.
      await assert.rejects(reading);
      assert.ok(collected.events.some((event) => event.type === 'response.output_text.delta'));
      assert.ok(!collected.events.some((event) => event.type === 'response.completed'), 'no terminal event came');
      // No terminal event, so no reported usage: the delivered deltas are counted, as for a cut chat stream.
      await waitUntil(async () => (await estimatedOutput('r-openai')) > 0, 'the cut stream to be charged');
      const charged = await gateway.metrics.metrics();
      assert.ok((sample(charged, 'gen_ai_client_token_usage_sum', { gen_ai_request_model: 'r-openai', gen_ai_token_type: 'input', usage_estimated: 'true' }) ?? 0) > 0, 'input counted from the request');
    } finally {
      delivered.resolve();
      openai.options = {};
    }
  });

  it('chat pivot: a cut Anthropic stream is charged the delivered text, not the provisional output count of message_start', TIMEOUT, async () => {
    const delivered = deferred();
    cut.setScript(cutAfter(delivered.promise));
    try {
      const reading = (async () => {
        for await (const event of await client.responses.create({ model: 'r-claude-cut', input: 'Tell a story', stream: true })) {
          if (event.type === 'response.output_text.delta') delivered.resolve();
        }
      })();
      await assert.rejects(reading);
      // message_start's output count (1) is provisional: the cut stream is charged the delivered text, counted
      // locally (so the record is flagged estimated), and the input message_start reported.
      const charged = (type: string) => async () =>
        sample(await gateway.metrics.metrics(), 'gen_ai_client_token_usage_sum', { gen_ai_request_model: 'r-claude-cut', gen_ai_token_type: type, usage_estimated: 'true' });
      await waitUntil(async () => (await charged('input')()) !== undefined, 'the cut stream to be charged');
      assert.equal(await charged('input')(), 30, 'input as message_start reported it');
      const local = createTokenCounter('claude-sonnet-4-5-20250929');
      local.add('Once upon a time there was a gateway');
      assert.ok(local.tokens > 1);
      assert.equal(await charged('output')(), local.tokens, 'the delivered text, not the provisional 1');
    } finally {
      delivered.resolve();
    }
  });

  it('chat client: a cut Anthropic stream is charged the delivered text too', TIMEOUT, async () => {
    const delivered = deferred();
    cut.setScript(cutAfter(delivered.promise));
    const before = await gateway.metrics.metrics();
    const outputBefore = sample(before, 'gen_ai_client_token_usage_sum', { gen_ai_operation_name: 'chat', gen_ai_request_model: 'r-claude-cut', gen_ai_token_type: 'output', usage_estimated: 'true' }) ?? 0;
    const countBefore = sample(before, 'gen_ai_client_token_usage_count', { gen_ai_operation_name: 'chat', gen_ai_request_model: 'r-claude-cut', gen_ai_token_type: 'output', usage_estimated: 'true' }) ?? 0;
    try {
      const reading = (async () => {
        const stream = await client.chat.completions.create({ model: 'r-claude-cut', messages: [{ role: 'user', content: 'Tell a story' }], stream: true });
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta?.content) delivered.resolve();
        }
      })();
      await assert.rejects(reading);
      const metric = (name: string) => async () =>
        sample(await gateway.metrics.metrics(), name, { gen_ai_operation_name: 'chat', gen_ai_request_model: 'r-claude-cut', gen_ai_token_type: 'output', usage_estimated: 'true' }) ?? 0;
      await waitUntil(async () => (await metric('gen_ai_client_token_usage_count')()) > countBefore, 'the cut chat stream to be charged');
      const local = createTokenCounter('claude-sonnet-4-5-20250929');
      local.add('Once upon a time there was a gateway');
      assert.equal((await metric('gen_ai_client_token_usage_sum')()) - outputBefore, local.tokens);
    } finally {
      delivered.resolve();
    }
  });

  it('records GenAI metrics for Responses as operation chat, with cached and reasoning tokens', TIMEOUT, async () => {
    const before = await gateway.metrics.metrics();
    // (the response model label is bounded to configured names: gpt-5-mini-2025-08-07 is `other`)
    const labels = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: 'r-openai', usage_estimated: 'false' };
    const count = (text: string, type: string) => sample(text, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: type }) ?? 0;
    await collectResponses(await client.responses.create({ model: 'r-openai', input: 'Say hello', stream: true }));
    await gateway.envoy.settled();
    const afterText = await gateway.metrics.metrics();
    assert.equal(count(afterText, 'input') - count(before, 'input'), 40);
    assert.equal(count(afterText, 'output') - count(before, 'output'), 10);
    assert.equal(count(afterText, 'cached_input') - count(before, 'cached_input'), 16);
    assert.equal(count(afterText, 'reasoning') - count(before, 'reasoning'), 5);
    const streamLabels = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: 'r-openai' };
    assert.ok((sample(afterText, 'gen_ai_server_time_to_first_token_seconds_count', streamLabels) ?? 0) >= 1);
  });

  const REFUSED: Array<[string, Record<string, unknown>, string]> = [
    ['previous_response_id', { input: 'And then?', previous_response_id: 'resp_abc' }, 'previous_response_id'],
    ['conversation', { input: 'Hi', conversation: 'conv_123' }, 'conversation'],
    ['background', { input: 'Hi', background: true }, 'background'],
    ['prompt (stored template)', { input: 'Hi', prompt: { id: 'pmpt_1' } }, 'prompt'],
    ['a web_search tool', { input: 'News?', tools: [{ type: 'web_search' }] }, 'tools[0].type'],
    ['a file_search tool', { input: 'Find', tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] }, 'tools[0].type'],
    ['a hosted tool_choice', { input: 'Find', tool_choice: { type: 'web_search_preview' } }, 'tool_choice'],
    ['an item_reference', { input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0]'],
    ['an uploaded file', { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }] }, 'input[0].content[0].file_id'],
  ];
  for (const [what, fields, param] of REFUSED) {
    it(`refuses ${what} on a backend without state: 400 naming ${param}`, TIMEOUT, async () => {
      const before = anthropic.requests.length;
      const answer = await fetch(`${gateway.baseURL}/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer client-key' },
        body: JSON.stringify({ model: 'r-claude', ...fields }),
      });
      assert.equal(answer.status, 400);
      const body = (await answer.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
      assert.equal(body.error.param, param);
      assert.equal(body.error.type, 'invalid_request_error');
      assert.equal(body.error.code, 'unsupported_parameter');
      assert.match(body.error.message, new RegExp(`^${param.replace(/[[\].]/g, '\\$&')} is not supported by this backend`));
      assert.equal(anthropic.requests.length, before, 'nothing reached the backend');
      const metadata = (await lastRecord(gateway)).metadata[NS];
      assert.equal(metadata?.['llm_total_token'], 0, 'a refused request writes zero costs');
    });
  }

  it('the official client sees the refusal as a 400 APIError with its param', TIMEOUT, async () => {
    await assert.rejects(client.responses.create({ model: 'r-claude', input: 'Hi', previous_response_id: 'resp_x' }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.equal(error.param, 'previous_response_id');
      assert.equal(error.code, 'unsupported_parameter');
      return true;
    });
  });

  it('serves store: true on a stateless backend as not stored', TIMEOUT, async () => {
    const response = await client.responses.create({ model: 'r-claude', input: 'Hello', store: true });
    assert.equal(response.status, 'completed');
    assert.equal((response as { store?: boolean }).store, false);
  });

  it('passes stateful fields through to OpenAI, which keeps state', TIMEOUT, async () => {
    await client.responses.create({ model: 'r-openai', input: 'And then?', previous_response_id: 'resp_prev', tools: [{ type: 'web_search' }] });
    const sent = openai.requests.at(-1)?.json;
    assert.equal(sent?.['previous_response_id'], 'resp_prev');
    assert.deepEqual(sent?.['tools'], [{ type: 'web_search' }]);
  });

  it('Claude with reasoning: signed thinking rides in encrypted_content and goes back with the tool loop', TIMEOUT, async () => {
    const tool: OpenAI.Responses.FunctionTool = { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: null };
    const input: OpenAI.Responses.ResponseInputItem[] = [{ role: 'user', content: 'Use get_weather for the weather in Paris' }];
    const first = await client.responses.create({ model: 'r-claude', input, tools: [tool], reasoning: { effort: 'low', summary: 'auto' }, max_output_tokens: 4000 });
    const reasoning = first.output.find((item) => item.type === 'reasoning');
    assert.ok(reasoning && reasoning.type === 'reasoning');
    assert.ok((reasoning.summary[0]?.text ?? '').length > 0, 'the reasoning text as a summary, as asked');
    assert.match(reasoning.encrypted_content ?? '', /^llm-extproc\.thinking\.v1:/);
    const call = first.output.find((item) => item.type === 'function_call');
    assert.ok(call && call.type === 'function_call');
    // What an application does: send the output items back, then the tool's result.
    input.push(...(first.output as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: call.call_id, output: '18C and sunny' });
    const second = await client.responses.create({ model: 'r-claude', input, tools: [tool], reasoning: { effort: 'low' }, max_output_tokens: 4000 });
    assert.equal(second.status, 'completed');
    const sent = anthropic.requests.at(-1)?.body as { messages: { role: string; content: { type: string; signature?: string }[] }[] };
    const assistant = sent.messages.find((message) => message.role === 'assistant');
    assert.equal(assistant?.content[0]?.type, 'thinking', 'the assistant turn starts with its thinking block');
    assert.ok((assistant?.content[0]?.signature ?? '').length > 0, 'with its signature');
    assert.ok(assistant?.content.some((block) => block.type === 'tool_use'));
  });

  it('lists /v1/responses for every model in /v1/models', TIMEOUT, async () => {
    const answer = await fetch(`${gateway.baseURL}/models`);
    const list = (await answer.json()) as { data: { id: string; endpoints: string[] }[] };
    for (const model of list.data) assert.ok(model.endpoints.includes('/v1/responses'), `${model.id} lists /v1/responses`);
  });
});
