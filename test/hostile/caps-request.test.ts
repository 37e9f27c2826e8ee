/**
 * Request-side caps and usage sanity end to end, in both upstreamFilter modes:
 * - too many messages, tools or content parts, and max_tokens (max_completion_tokens) beyond limits.maxOutputTokens
 *   or the model's own maxOutputTokens: a 400 in the client's format (OpenAI, Anthropic, count_tokens), counted by
 *   reason, nothing forwarded and nothing reserved;
 * - an upstream reporting absurd usage (1e308, negative, a string), buffered, streamed and translated: every cost is
 *   clamped to limits.maxTokenCount (never a 1e308 hits_addend), usage_clamped: true, one warning, one count in
 *   llm_extproc_usage_clamped_total.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logging.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startHttpMock, sseEvent, type HttpMock } from '../mocks/http-mock.js';
import { assertAnthropicError, assertNumericCosts, assertOpenAIError, lastRecord, postChat, rawRequest, sampleSum, type RawResponse } from './hostile-helpers.js';

const NS = 'io.envoy.ai_gateway';
const CEILING = 1_000_000;
const MODEL = 'gpt-test-upstream';
const ANTHROPIC_HEADERS = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };

function config(upstreamFilter: boolean): string {
  return `
backends:
  - { name: main, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-caps-main } } }
  - { name: anthropic, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: sk-ant-caps } } }
models:
  - { name: gpt-test, backends: [{ backend: main, modelNameOverride: ${MODEL} }] }
  - { name: gpt-short, maxOutputTokens: 100, backends: [{ backend: main }] }
  - { name: claude, backends: [{ backend: anthropic, modelNameOverride: claude-x }] }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken, reserve: true }
  - { metadataKey: weighted, type: CEL, cel: "input_tokens + output_tokens * 4" }
envoy: { upstreamFilter: ${upstreamFilter} }
limits: { maxMessages: 20, maxTools: 4, maxContentParts: 30, maxOutputTokens: 4096, maxTokenCount: ${CEILING} }
`;
}

const user = (content: unknown) => ({ role: 'user', content });
const completion = (usage: Record<string, unknown>) =>
  ({ id: 'x', object: 'chat.completion', created: 1, model: MODEL, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage });
const chunk = (delta: object, finish: string | null = null) => sseEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] });
const streamWithUsage = (usage: Record<string, unknown>) => [chunk({ role: 'assistant', content: 'Hi' }), chunk({}, 'stop'), sseEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [], usage }), 'data: [DONE]\n\n'];
const anthropicMessage = (usage: Record<string, unknown>) => ({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', usage });

for (const upstreamFilter of [true, false]) {
  describe(`request caps and usage sanity (upstreamFilter: ${upstreamFilter})`, { timeout: 120_000 }, () => {
    let gw: Gateway;
    let mock: HttpMock;
    const lines: string[] = [];

    before(async () => {
      mock = await startHttpMock({ kind: 'json', body: completion({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }) });
      const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void lines.push(line) } });
      gw = await startGateway({ configYaml: config(upstreamFilter), upstreams: { main: mock.url, anthropic: mock.url }, logger });
    });
    after(async () => {
      await gw.close();
      await mock.close();
    });

    const metric = async (name: string, fragment: string) => sampleSum(await gw.metrics.metrics(), name, [fragment]);
    const chat = (body: Record<string, unknown>) => postChat(gw, JSON.stringify({ model: 'gpt-test', ...body }));
    const messages = (body: Record<string, unknown>, path = '/anthropic/v1/messages') =>
      rawRequest(gw.url, { path, body: JSON.stringify({ model: 'claude', max_tokens: 64, ...body }), headers: ANTHROPIC_HEADERS });

    /** A request refused in the request phase: counted once by reason, never forwarded, nothing reserved. */
    async function refused(reason: string, send: () => Promise<RawResponse>): Promise<RawResponse> {
      const before = await metric('llm_extproc_errors_total', `reason="${reason}"`);
      const forwarded = mock.requests.length;
      const response = await send();
      const record = await lastRecord(gw);
      const metadata = assertNumericCosts(record);
      for (const [key, value] of Object.entries(metadata)) if (typeof value === 'number') assert.equal(value, 0, `${key} is 0: nothing reserved or charged`);
      assert.equal(mock.requests.length, forwarded, 'nothing reached the upstream');
      assert.equal(await metric('llm_extproc_errors_total', `reason="${reason}"`), before + 1);
      return response;
    }

    it('too many messages: 400 too_many_messages (OpenAI)', { timeout: 20_000 }, async () => {
      const response = await refused('too_many_messages', () => chat({ messages: Array.from({ length: 21 }, () => user('x')) }));
      const error = assertOpenAIError(response, 400, /21 messages; this gateway accepts at most 20/);
      assert.deepEqual([error['code'], error['type'], error['param']], ['too_many_messages', 'invalid_request_error', 'messages']);
    });

    it('too many tools: 400 too_many_tools (Anthropic shape on the Anthropic path)', { timeout: 20_000 }, async () => {
      const tools = Array.from({ length: 5 }, (_, index) => ({ name: `t${index}`, input_schema: { type: 'object' } }));
      const error = assertAnthropicError(await refused('too_many_tools', () => messages({ messages: [user('x')], tools })), 400);
      assert.equal(error['type'], 'invalid_request_error');
      assert.match(String(error['message']), /declares 5 tools/);
    });

    it('too many content parts: 400 too_many_content_parts, also for count_tokens', { timeout: 20_000 }, async () => {
      const parts = Array.from({ length: 31 }, () => ({ type: 'text', text: 'p' }));
      assertOpenAIError(await refused('too_many_content_parts', () => chat({ messages: [user(parts)] })), 400, /31 content parts/);
      assertAnthropicError(await refused('too_many_content_parts', () => messages({ messages: [user(parts)] }, '/anthropic/v1/messages/count_tokens')), 400);
    });

    it('max_tokens 5e9: 400 max_tokens_too_large before it is reserved or forwarded (OpenAI and Anthropic)', { timeout: 20_000 }, async () => {
      const error = assertOpenAIError(await refused('max_tokens_too_large', () => chat({ messages: [user('x')], max_tokens: 5e9 })), 400, /accepts at most 4096 output tokens/);
      assert.equal(error['param'], 'max_tokens');
      assertOpenAIError(await refused('max_tokens_too_large', () => chat({ messages: [user('x')], max_completion_tokens: 4097 })), 400);
      assertAnthropicError(await refused('max_tokens_too_large', () => messages({ messages: [user('x')], max_tokens: 5e9 })), 400);
    });

    it("a model's own maxOutputTokens applies; requests within the limits pass and reserve what they asked", { timeout: 20_000 }, async () => {
      assertOpenAIError(await refused('max_tokens_too_large', () => postChat(gw, JSON.stringify({ model: 'gpt-short', messages: [user('x')], max_tokens: 101 }))), 400, /model gpt-short accepts at most 100/);
      const forwarded = mock.requests.length;
      const response = await chat({ messages: Array.from({ length: 20 }, () => user('x')), max_tokens: 4096 });
      assert.equal(response.status, 200, response.text.slice(0, 200));
      assert.equal(mock.requests.length, forwarded + 1);
    });

    interface UsageCase {
      name: string;
      send: () => Promise<RawResponse>;
      reply: Parameters<HttpMock['setScript']>[0];
      /** undefined: estimated locally from the request (the reported input was invalid). */
      expect: { input: number | undefined; output: number };
    }
    const USAGE: UsageCase[] = [
      { name: 'buffered, prompt_tokens 1e308', send: () => chat({ messages: [user('x')] }), reply: { kind: 'json', body: completion({ prompt_tokens: 1e308, completion_tokens: 3, total_tokens: 1e308 }) }, expect: { input: CEILING, output: 3 } },
      { name: 'streamed, completion_tokens -5 and prompt_tokens "12"', send: () => chat({ stream: true, messages: [user('x')] }), reply: { kind: 'sse', chunks: streamWithUsage({ prompt_tokens: '12', completion_tokens: -5, total_tokens: 7 }) }, expect: { input: undefined, output: 1 } },
      { name: 'translated from Anthropic, input_tokens 1e308', send: () => postChat(gw, JSON.stringify({ model: 'claude', messages: [user('x')] })), reply: { kind: 'json', body: anthropicMessage({ input_tokens: 1e308, output_tokens: 2 }) }, expect: { input: CEILING, output: 2 } },
      { name: 'Anthropic client, native, output_tokens 2.5e15', send: () => messages({ messages: [user('x')] }), reply: { kind: 'json', body: anthropicMessage({ input_tokens: 4, output_tokens: 2.5e15 }) }, expect: { input: 4, output: CEILING } },
    ];

    for (const item of USAGE) {
      it(`usage sanity, ${item.name}: clamped to the ceiling, usage_clamped, warned and counted once`, { timeout: 20_000 }, async () => {
        mock.setScript(item.reply);
        const clampedBefore = await metric('llm_extproc_usage_clamped_total', 'provider=');
        const warningsBefore = lines.filter((line) => line.includes('usage_clamped')).length;
        const response = await item.send();
        assert.equal(response.status, 200, response.text.slice(0, 300));
        const record = await lastRecord(gw);
        const metadata = record.metadata[NS] ?? {};
        for (const [key, value] of Object.entries(metadata)) {
          if (typeof value === 'number') assert.ok(Number.isSafeInteger(value) && value >= 0 && value <= CEILING, `${key} = ${value}`);
        }
        const input = metadata['llm_input_token'] as number;
        if (item.expect.input === undefined) assert.ok(input > 0 && input < 100, `input estimated locally: ${input}`);
        else assert.equal(input, item.expect.input);
        // An invalid output count leaves none reported: it is counted locally from the delivered text instead.
        assert.equal(metadata['llm_output_token'], item.expect.output);
        // The CEL cost is capped at the ceiling too.
        assert.equal(metadata['weighted'], Math.min(CEILING, input + item.expect.output * 4));
        assert.equal(metadata['usage_clamped'], true);
        assert.equal(await metric('llm_extproc_usage_clamped_total', 'provider='), clampedBefore + 1);
        assert.equal(lines.filter((line) => line.includes('usage_clamped')).length, warningsBefore + 1, 'one warning per request');
      });
    }

    it('a CEL cost above the ceiling from counts in range: capped at maxTokenCount, usage_clamped, warned once', { timeout: 20_000 }, async () => {
      // 300,000 + 300,000 * 4 = 1,500,000 > CEILING, although each count is within it.
      mock.setScript({ kind: 'json', body: completion({ prompt_tokens: 300_000, completion_tokens: 300_000, total_tokens: 600_000 }) });
      const usageClampedBefore = await metric('llm_extproc_usage_clamped_total', 'provider=');
      const costClampedBefore = await metric('llm_extproc_cost_clamped_total', 'metadata_key="weighted"');
      const linesBefore = lines.length;
      const response = await chat({ messages: [user('x')] });
      assert.equal(response.status, 200, response.text.slice(0, 300));
      const metadata = (await lastRecord(gw)).metadata[NS] ?? {};
      assert.equal(metadata['weighted'], CEILING);
      assert.deepEqual([metadata['llm_input_token'], metadata['llm_output_token']], [300_000, 300_000]);
      assert.equal(metadata['usage_clamped'], true);
      assert.equal(await metric('llm_extproc_usage_clamped_total', 'provider='), usageClampedBefore, 'the usage itself was in range');
      assert.ok((await metric('llm_extproc_cost_clamped_total', 'metadata_key="weighted"')) > costClampedBefore, 'the capped cost is counted');
      const warnings = lines.slice(linesBefore).filter((line) => line.includes('usage_clamped'));
      assert.equal(warnings.length, 1, 'one warning per request');
      assert.match(warnings[0] ?? '', /cost above limits\.maxTokenCount was capped/);
    });

    it('usage in range: usage_clamped false, no warning, no count', { timeout: 20_000 }, async () => {
      mock.setScript({ kind: 'json', body: completion({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }) });
      const clampedBefore = await metric('llm_extproc_usage_clamped_total', 'provider=');
      const response = await chat({ messages: [user('x')] });
      assert.equal(response.status, 200);
      const metadata = (await lastRecord(gw)).metadata[NS] ?? {};
      assert.equal(metadata['usage_clamped'], false);
      assert.deepEqual([metadata['llm_input_token'], metadata['llm_output_token']], [7, 3]);
      assert.equal(await metric('llm_extproc_usage_clamped_total', 'provider='), clampedBefore);
    });
  });
}
