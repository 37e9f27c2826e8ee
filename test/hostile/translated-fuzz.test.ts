/**
 * Wrong field types against every translating backend, end to end in both upstreamFilter modes: for OpenAI
 * clients (Anthropic, Bedrock Converse, Claude on Bedrock and Vertex, Gemini on Vertex and Google AI, Azure) and
 * for Anthropic clients (Anthropic, Claude on Bedrock, OpenAI, Azure backends), a body with a mistyped field is
 * refused with a 4xx in the client's error format (or forwarded and refused by the upstream), never a 500 from
 * an exception inside a translator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startHttpMock, type HttpMock } from '../mocks/http-mock.js';
import { assertNumericCosts, assertStillServing, hostileConfig, MAIN_KEY, postChat, rawRequest, waitForEmptyRegistry } from './hostile-helpers.js';

const AWS = '{ aws: { region: us-east-1, accessKeyId: { value: AKIDFUZZ }, secretAccessKey: { value: fuzz-secret } } }';
const GCP = '{ gcp: { projectId: fuzz, region: us-central1, accessToken: { value: fuzz-token } } }';
const BACKENDS: Array<{ name: string; schema: string; endpoint: string; auth: string; override: string; extra?: string }> = [
  { name: 'anthropic', schema: 'Anthropic', endpoint: 'https://api.anthropic.com', auth: '{ anthropicApiKey: { value: sk-ant-fuzz } }', override: 'claude-sonnet-4-5' },
  { name: 'bedrock', schema: 'AWSBedrock', endpoint: 'https://bedrock-runtime.us-east-1.amazonaws.com', auth: AWS, override: 'anthropic.claude-3-5-sonnet-20240620-v1:0' },
  { name: 'bedrock-claude', schema: 'AWSAnthropic', endpoint: 'https://bedrock-runtime.us-east-1.amazonaws.com', auth: AWS, override: 'anthropic.claude-3-5-sonnet-20240620-v1:0' },
  { name: 'vertex', schema: 'GCPVertexAI', endpoint: 'https://us-central1-aiplatform.googleapis.com', auth: GCP, override: 'gemini-2.0-flash' },
  { name: 'vertex-claude', schema: 'GCPAnthropic', endpoint: 'https://us-central1-aiplatform.googleapis.com', auth: GCP, override: 'claude-sonnet-4-5' },
  { name: 'gemini', schema: 'GoogleAI', endpoint: 'https://generativelanguage.googleapis.com', auth: '{ googleApiKey: { value: fuzz-google } }', override: 'gemini-2.0-flash' },
  { name: 'azure', schema: 'AzureOpenAI', endpoint: 'https://fuzz.openai.azure.com', auth: '{ azureApiKey: { value: fuzz-azure } }', override: 'gpt-4o', extra: '    apiVersion: 2024-10-21\n' },
];
const EXTRA_BACKENDS = BACKENDS.map((b) => `  - name: ${b.name}\n    schema: ${b.schema}\n    endpoint: ${b.endpoint}\n${b.extra ?? ''}    auth: ${b.auth}`).join('\n');
const EXTRA_MODELS = BACKENDS.map((b) => `  - name: m-${b.name}\n    backends: [{ backend: ${b.name}, modelNameOverride: "${b.override}" }]`).join('\n');

const HI = [{ role: 'user', content: 'hi' }];
/** OpenAI chat bodies (without model) with one mistyped or broken field each. */
const OPENAI_BODIES: Array<Record<string, unknown>> = [
  { messages: 'hi' }, { messages: null }, { messages: 5 }, { messages: {} }, { messages: [null] }, { messages: [5] }, { messages: ['x'] }, { messages: [{}] },
  { messages: [{ role: 5 }] }, { messages: [{ role: 'user' }] }, { messages: [{ role: 'wizard', content: 'x' }] }, { messages: [{ role: 'user', content: 5 }] },
  { messages: [{ role: 'user', content: {} }] }, { messages: [{ role: 'user', content: [5] }] }, { messages: [{ role: 'user', content: [null] }] }, { messages: [{ role: 'user', content: [{}] }] },
  { messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] }, { messages: [{ role: 'user', content: [{ type: 'image_url' }] }] },
  { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: 'x' }] }] }, { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:;base64,' } }] }] },
  { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,%%%' } }] }] }, { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: 5 }] }] },
  { messages: [{ role: 'assistant', tool_calls: 'x' }] }, { messages: [{ role: 'assistant', tool_calls: [null] }] }, { messages: [{ role: 'assistant', tool_calls: [{ function: null }] }] },
  { messages: [{ role: 'assistant', tool_calls: [{ id: 1, type: 'function', function: { name: 5, arguments: '{' } }] }] },
  { messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: 'not json' } }] }, { role: 'tool', tool_call_id: 'a', content: 'r' }] },
  { messages: [{ role: 'tool', content: 5 }] }, { messages: [{ role: 'tool', tool_call_id: 5, content: [5] }] }, { messages: [{ role: 'system', content: [{}] }] }, { messages: [{ role: 'system', content: 5 }] },
  { messages: HI, tools: 'x' }, { messages: HI, tools: [null] }, { messages: HI, tools: [{ type: 'function' }] }, { messages: HI, tools: [{ type: 'function', function: { name: 'f', parameters: 'x' } }] },
  { messages: HI, tools: [{ type: 'function', function: { name: 'f', parameters: { $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/a' } } } } }] },
  { messages: HI, tools: [{ type: 'function', function: { name: 'f', parameters: { $ref: 'http://evil.example/schema' } } }] },
  { messages: HI, tool_choice: 5 }, { messages: HI, tool_choice: { type: 'function' } }, { messages: HI, tool_choice: { type: 'function', function: { name: 5 } } },
  { messages: HI, max_tokens: 'x' }, { messages: HI, max_tokens: -1 }, { messages: HI, max_tokens: 1e308 }, { messages: HI, max_completion_tokens: 0.5 },
  { messages: HI, temperature: 'x' }, { messages: HI, top_p: {} }, { messages: HI, stop: 5 }, { messages: HI, stop: [5] }, { messages: HI, n: 'x' },
  { messages: HI, response_format: 'x' }, { messages: HI, response_format: { type: 'json_schema' } }, { messages: HI, response_format: { type: 'json_schema', json_schema: { schema: 5 } } },
  { messages: HI, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { $ref: '#' } } } },
  { messages: HI, stream: true, stream_options: 'x' }, { messages: HI, stream: true, stream_options: { include_usage: 'yes' } }, { messages: HI, reasoning_effort: 5 },
  { messages: HI, metadata: 'x' }, { messages: HI, user: 5 }, { messages: HI, logit_bias: 'x' }, { messages: HI, parallel_tool_calls: 'x' }, { messages: HI, seed: 'x' },
];
/** Anthropic Messages bodies (without model) with one mistyped or broken field each. */
const ANTHROPIC_BODIES: Array<Record<string, unknown>> = [
  { messages: 'hi' }, { messages: null }, { messages: [null] }, { messages: [5] }, { messages: [{}] }, { messages: [{ role: 5 }] }, { messages: [{ role: 'user' }] },
  { messages: [{ role: 'user', content: 5 }] }, { messages: [{ role: 'user', content: [5] }] }, { messages: [{ role: 'user', content: [null] }] }, { messages: [{ role: 'user', content: [{}] }] },
  { messages: [{ role: 'user', content: [{ type: 'image' }] }] }, { messages: [{ role: 'user', content: [{ type: 'image', source: 'x' }] }] }, { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url' } }] }] },
  { messages: [{ role: 'user', content: [{ type: 'tool_result' }] }] }, { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 5, content: [5] }] }] },
  { messages: [{ role: 'assistant', content: [{ type: 'tool_use' }] }] }, { messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 1, name: 2, input: 'x' }] }] },
  { messages: [{ role: 'assistant', content: [{ type: 'thinking' }] }] }, { messages: [{ role: 'user', content: [{ type: 'document', source: 5 }] }] },
  { messages: HI, system: 5 }, { messages: HI, system: [5] }, { messages: HI, system: [{}] }, { messages: HI, max_tokens: 'x' }, { messages: HI, max_tokens: -5 }, { messages: HI, max_tokens: null },
  { messages: HI, tools: 'x' }, { messages: HI, tools: [null] }, { messages: HI, tools: [{}] }, { messages: HI, tools: [{ name: 'f', input_schema: 'x' }] },
  { messages: HI, tool_choice: 'x' }, { messages: HI, tool_choice: { type: 'tool' } }, { messages: HI, thinking: 'x' }, { messages: HI, thinking: { type: 'enabled', budget_tokens: 'x' } },
  { messages: HI, stop_sequences: 'x' }, { messages: HI, stop_sequences: [5] }, { messages: HI, metadata: 5 }, { messages: HI, temperature: 'x' }, { messages: HI, stream: 'yes' },
];

for (const upstreamFilter of [true, false]) {
  describe(`mistyped fields against every translator (upstreamFilter: ${upstreamFilter})`, () => {
    let gw: Gateway;
    let mock: HttpMock;

    before(async () => {
      // Whatever reaches an upstream is refused there, as a real provider would refuse a broken body.
      mock = await startHttpMock({ kind: 'json', status: 400, body: { error: { message: 'upstream rejects', type: 'invalid_request_error' }, type: 'error' } });
      const upstreams = Object.fromEntries(['main', 'open', ...BACKENDS.map((b) => b.name)].map((name) => [name, mock.url]));
      // ~1500 ext_proc streams on one connection: close them gracefully as the shipped Envoy config does (with
      // Envoy's default reset-on-close, Node's HTTP/2 rapid-reset guard drops the connection past ~1000 resets).
      gw = await startGateway({ configYaml: hostileConfig({ upstreamFilter, extraBackends: EXTRA_BACKENDS, extraModels: EXTRA_MODELS }), env: { MAIN_KEY }, upstreams, envoy: { gracefulClose: true } });
    });
    after(async () => {
      await gw.close();
      await mock.close();
    });

    for (const backend of BACKENDS) {
      it(`OpenAI client -> ${backend.schema}: ${OPENAI_BODIES.length} broken bodies, all 4xx in OpenAI format`, async () => {
        for (const fields of OPENAI_BODIES) {
          const body = JSON.stringify({ model: `m-${backend.name}`, ...fields });
          const response = await postChat(gw, body);
          if (response.status >= 500) await gw.envoy.settled();
          const details = response.status >= 500 ? ` (${gw.envoy.requests.at(-1)?.responseCodeDetails})` : '';
          assert.ok(response.status >= 400 && response.status < 500, `${response.status}${details} for ${body.slice(0, 160)}: ${response.text.slice(0, 200)}`);
          const parsed = JSON.parse(response.text) as { error?: { message?: unknown; type?: unknown } };
          assert.equal(typeof parsed.error?.message, 'string', body);
          assert.equal(typeof parsed.error?.type, 'string', body);
        }
        await gw.envoy.settled();
        assertNumericCosts(gw.envoy.requests.at(-1));
      });
    }

    for (const target of ['m-anthropic', 'm-bedrock-claude', 'gpt-test', 'm-azure']) {
      it(`Anthropic client -> ${target}: ${ANTHROPIC_BODIES.length} broken bodies, all 4xx in Anthropic format`, async () => {
        for (const fields of ANTHROPIC_BODIES) {
          const body = JSON.stringify({ model: target, max_tokens: 16, ...fields });
          for (const path of ['/anthropic/v1/messages', '/anthropic/v1/messages/count_tokens']) {
            const response = await rawRequest(gw.url, { path, body, headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' } });
            if (response.status === 200 && path.endsWith('count_tokens')) continue; // a local estimate tolerates odd shapes
            if (response.status >= 500) await gw.envoy.settled();
            const details = response.status >= 500 ? ` (${gw.envoy.requests.at(-1)?.responseCodeDetails})` : '';
            assert.ok(response.status >= 400 && response.status < 500, `${path} ${response.status}${details} for ${body.slice(0, 160)}: ${response.text.slice(0, 200)}`);
            const parsed = JSON.parse(response.text) as { type?: unknown; error?: { type?: unknown; message?: unknown } };
            assert.equal(parsed.type, 'error', `${path}: ${response.text.slice(0, 200)}`);
            assert.equal(typeof parsed.error?.message, 'string');
          }
        }
      });
    }

    it('the service still serves and holds no exchange', async () => {
      mock.setScript({ kind: 'json', body: { id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] } });
      await assertStillServing(gw);
      await gw.envoy.settled();
      await waitForEmptyRegistry(gw);
    });
  });
}
