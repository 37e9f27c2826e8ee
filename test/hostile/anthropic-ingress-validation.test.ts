/**
 * Anthropic ingress validation end to end: through the Envoy stand-in, in both upstreamFilter modes, requests
 * the Messages API would refuse (`tools` as an object, `max_tokens: "x"`, `count_tokens` with `messages: 5`, a
 * missing `max_tokens`, `messages` that is no array, ...) get a 400 in Anthropic's error shape from the service,
 * for a native Claude backend (passthrough) and an OpenAI backend (translated) alike. No upstream is called, the
 * answer is counted as a service error, and the cost keys are numbers. A valid request still goes through.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';
import { startHttpMock, type HttpMock } from '../mocks/http-mock.js';
import { openAIChatScript } from '../mocks/openai-chat-script.js';
import { assertAnthropicError, assertNumericCosts, lastRecord, rawRequest, sampleSum } from './hostile-helpers.js';

type Json = Record<string, unknown>;
const HEADERS = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
const TOOL = { name: 'get_weather', input_schema: { type: 'object', properties: {} } };
const user = [{ role: 'user', content: 'hi' }];

const BAD_MESSAGES: ReadonlyArray<{ name: string; body: Json; param: string }> = [
  { name: 'tools as an object', body: { max_tokens: 64, messages: user, tools: TOOL }, param: 'tools' },
  { name: 'max_tokens: "x"', body: { max_tokens: 'x', messages: user }, param: 'max_tokens' },
  { name: 'no max_tokens', body: { messages: user }, param: 'max_tokens' },
  { name: 'messages as a string', body: { max_tokens: 64, messages: 'hi' }, param: 'messages' },
  { name: 'a system role in messages', body: { max_tokens: 64, messages: [{ role: 'system', content: 'hi' }] }, param: 'messages.0.role' },
  { name: 'stream: "yes"', body: { max_tokens: 64, messages: user, stream: 'yes' }, param: 'stream' },
  { name: 'system: null', body: { max_tokens: 64, messages: user, system: null }, param: 'system' },
];
const BAD_COUNT_TOKENS: ReadonlyArray<{ name: string; body: Json; param: string }> = [
  { name: 'messages: 5', body: { messages: 5 }, param: 'messages' },
  { name: 'tools as an object', body: { messages: user, tools: TOOL }, param: 'tools' },
];

function configYaml(upstreamFilter: boolean): string {
  return `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: test-openai-key } } }
  - { name: claude, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: test-anthropic-key } } }
models:
  - { name: via-openai, backends: [{ backend: openai, modelNameOverride: gpt-4.1 }] }
  - { name: claude-native, backends: [{ backend: claude, modelNameOverride: claude-sonnet-4-5-20250929 }] }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken }
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

for (const upstreamFilter of [true, false]) {
  describe(`Anthropic ingress validation (upstreamFilter: ${upstreamFilter})`, { timeout: 120_000 }, () => {
    let gw: Gateway;
    let openai: HttpMock;
    let claude: AnthropicMock;

    before(async () => {
      [openai, claude] = await Promise.all([startHttpMock(openAIChatScript), startAnthropicMock()]);
      gw = await startGateway({ configYaml: configYaml(upstreamFilter), upstreams: { openai: openai.url, claude: claude.url } });
    });
    after(async () => {
      await gw.close();
      await Promise.all([openai.close(), claude.close()]);
    });

    const upstreamCalls = () => openai.requests.length + claude.requests.length;
    const post = (path: string, body: Json) => rawRequest(gw.url, { path, body: JSON.stringify(body), headers: HEADERS });

    for (const model of ['claude-native', 'via-openai']) {
      for (const { name, body, param } of BAD_MESSAGES) {
        it(`messages to ${model}: ${name} -> 400 invalid_request_error naming ${param}, no upstream call`, { timeout: 20_000 }, async () => {
          const calls = upstreamCalls();
          const errorsBefore = sampleSum(await gw.metrics.metrics(), 'llm_extproc_errors_total');
          const response = await post('/anthropic/v1/messages', { model, ...body });
          const error = assertAnthropicError(response, 400);
          assert.equal(error['type'], 'invalid_request_error');
          assert.match(String(error['message']), new RegExp(`^${param.replace(/\./g, '\\.')}: `));
          assertNumericCosts(await lastRecord(gw));
          assert.equal(upstreamCalls(), calls, 'the upstream was not called');
          assert.equal(sampleSum(await gw.metrics.metrics(), 'llm_extproc_errors_total'), errorsBefore + 1, 'counted once');
        });
      }
    }

    for (const { name, body, param } of BAD_COUNT_TOKENS) {
      it(`count_tokens: ${name} -> 400 naming ${param}`, { timeout: 20_000 }, async () => {
        const response = await post('/anthropic/v1/messages/count_tokens', { model: 'claude-native', ...body });
        const error = assertAnthropicError(response, 400);
        assert.match(String(error['message']), new RegExp(`^${param}: `));
      });
    }

    it('valid requests still go through: a message to each backend, and count_tokens without max_tokens', { timeout: 20_000 }, async () => {
      for (const model of ['claude-native', 'via-openai']) {
        const response = await post('/anthropic/v1/messages', { model, max_tokens: 64, messages: user, tools: [TOOL] });
        assert.equal(response.status, 200, response.text.slice(0, 300));
        assert.equal((JSON.parse(response.text) as Json)['type'], 'message');
      }
      const counted = await post('/anthropic/v1/messages/count_tokens', { model: 'claude-native', messages: user });
      assert.equal(counted.status, 200, counted.text);
      assert.equal(typeof (JSON.parse(counted.text) as Json)['input_tokens'], 'number');
    });
  });
}
