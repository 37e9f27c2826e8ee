/**
 * Upstream errors without a usable body, end to end in both upstreamFilter modes, for every (client API, backend
 * schema) pair the translator table serves: a 500 with an empty body (content-length 0, and chunked), a 502 with
 * text/plain, an HTML page from a load balancer. The client always gets JSON in its own API's error shape, with the
 * upstream status kept, `content-type: application/json` and a message saying what happened. Errors Envoy itself
 * produces (an upstream reset before any response, no healthy upstream) get the same treatment through the
 * generated local_reply_config.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SCHEMAS, type BackendSchema } from '../../src/config/schema.js';
import { lookupTranslator } from '../../src/translators/table.js';
import { COMPONENTS } from '../helpers/components.js';
import { lastRecord, NS, TOKEN_COSTS_YAML } from '../helpers/e2e-common.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startHttpMock, type HttpMock, type MockReply } from '../mocks/http-mock.js';

const AUTH: Readonly<Record<BackendSchema, string>> = {
  OpenAI: 'auth: { apiKey: { value: sk-errors } }',
  AzureOpenAI: 'auth: { azureApiKey: { value: az-errors } }',
  Anthropic: 'auth: { anthropicApiKey: { value: sk-ant-errors } }',
  AWSBedrock: 'auth: { aws: { region: us-east-1, accessKeyId: { value: AKIDERRORS }, secretAccessKey: { value: errors-secret } } }',
  AWSAnthropic: 'auth: { aws: { region: us-east-1, accessKeyId: { value: AKIDERRORS }, secretAccessKey: { value: errors-secret } } }',
  GCPVertexAI: 'auth: { gcp: { projectId: p, region: us-central1, accessToken: { value: gcp-errors } } }',
  GCPAnthropic: 'auth: { gcp: { projectId: p, region: us-east5, accessToken: { value: gcp-errors } } }',
  GoogleAI: 'auth: { googleApiKey: { value: google-errors } }',
};
const UPSTREAM_MODEL: Readonly<Record<BackendSchema, string>> = {
  OpenAI: 'gpt-4o-mini',
  AzureOpenAI: 'my-deployment',
  Anthropic: 'claude-sonnet-4-5',
  AWSBedrock: 'amazon.nova-pro-v1:0',
  AWSAnthropic: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
  GCPVertexAI: 'gemini-2.5-flash',
  GCPAnthropic: 'claude-sonnet-4-5@20250929',
  GoogleAI: 'gemini-2.5-flash',
};

function configYaml(upstreamFilter: boolean): string {
  const backends = SCHEMAS.map((schema) => `  - { name: b-${schema.toLowerCase()}, schema: ${schema}, endpoint: https://${schema.toLowerCase()}.example.com, ${AUTH[schema]} }`);
  const models = SCHEMAS.map((schema) => `  - { name: m-${schema.toLowerCase()}, backends: [{ backend: b-${schema.toLowerCase()}, modelNameOverride: "${UPSTREAM_MODEL[schema]}" }] }`);
  return `backends:
${backends.join('\n')}
  - { name: nowhere, schema: OpenAI, endpoint: https://nowhere.example.com, auth: { apiKey: { value: sk-nowhere } } }
models:
${models.join('\n')}
  - { name: m-nowhere, backends: [{ backend: nowhere }] }
${TOKEN_COSTS_YAML}
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

interface UnusableCase {
  readonly name: string;
  readonly reply: MockReply;
  readonly status: number;
  readonly message: RegExp;
}

const HTML_PAGE = '<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>';

const CASES: readonly UnusableCase[] = [
  { name: 'a 500 with an empty body', reply: { kind: 'raw', status: 500, body: '' }, status: 500, message: /^upstream returned HTTP 500 with an empty body$/ },
  { name: 'a 500 with an empty chunked body', reply: { kind: 'raw', status: 500, body: '', chunked: true, headers: { 'content-type': 'text/plain' } }, status: 500, message: /^upstream returned HTTP 500 with an empty body$/ },
  { name: 'a 502 with text/plain', reply: { kind: 'raw', status: 502, body: 'bad gateway: upstream went away', headers: { 'content-type': 'text/plain' } }, status: 502, message: /^upstream returned HTTP 502 with a text\/plain body: bad gateway: upstream went away$/ },
  { name: 'an HTML page from a load balancer', reply: { kind: 'raw', status: 503, body: HTML_PAGE, headers: { 'content-type': 'text/html' } }, status: 503, message: /^upstream returned HTTP 503 with an HTML page: 503 Service Temporarily Unavailable$/ },
];

type Json = Record<string, unknown>;

interface Reply {
  status: number;
  contentType: string | null;
  body: Json;
}

/** The error message of a client-shaped error body; fails when the body is not in that API's shape. */
function errorMessage(api: 'openai' | 'anthropic', body: Json): string {
  const error = body.error as Json | undefined;
  assert.ok(error && typeof error === 'object', `an error object: ${JSON.stringify(body)}`);
  if (api === 'anthropic') {
    assert.equal(body.type, 'error', `Anthropic shape: ${JSON.stringify(body)}`);
    assert.deepEqual(Object.keys(error).sort(), ['message', 'type']);
  } else {
    assert.equal(body.type, undefined, `OpenAI shape: ${JSON.stringify(body)}`);
    assert.equal(typeof error.type, 'string');
  }
  assert.equal(typeof error.message, 'string');
  return error.message as string;
}

const anthropicSchemas = SCHEMAS.filter((schema) => lookupTranslator(COMPONENTS.translators, 'anthropic', 'messages', schema));

for (const upstreamFilter of [true, false]) {
  describe(`upstream errors without a usable body (upstreamFilter: ${upstreamFilter})`, { timeout: 120_000 }, () => {
    let gateway: Gateway;
    let mock: HttpMock;
    const upstreams: Record<string, string> = {};

    before(async () => {
      mock = await startHttpMock({ kind: 'raw', status: 500, body: '' });
      for (const schema of SCHEMAS) upstreams[`b-${schema.toLowerCase()}`] = mock.url;
      // `nowhere` has no upstream: Envoy answers 503 no_healthy_upstream itself.
      gateway = await startGateway({ configYaml: configYaml(upstreamFilter), upstreams });
    });
    after(async () => {
      await gateway.close();
      await mock.close();
    });

    const send = async (api: 'openai' | 'anthropic', model: string, stream = false): Promise<Reply> => {
      const path = api === 'openai' ? '/v1/chat/completions' : '/anthropic/v1/messages';
      const body = api === 'openai'
        ? { model, stream, messages: [{ role: 'user', content: 'hi' }] }
        : { model, stream, max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] };
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(api === 'anthropic' ? { 'anthropic-version': '2023-06-01' } : {}) };
      const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      const text = await response.text();
      let parsed: Json;
      try {
        parsed = JSON.parse(text) as Json;
      } catch {
        assert.fail(`${api} ${model}: the body is not JSON (${response.status}, ${response.headers.get('content-type')}): ${text.slice(0, 200)}`);
      }
      return { status: response.status, contentType: response.headers.get('content-type'), body: parsed };
    };

    const pairs: Array<{ api: 'openai' | 'anthropic'; schema: BackendSchema }> = [
      ...SCHEMAS.map((schema) => ({ api: 'openai' as const, schema })),
      ...anthropicSchemas.map((schema) => ({ api: 'anthropic' as const, schema })),
    ];

    for (const item of CASES) {
      it(`${item.name}: JSON in the client's shape, status kept, for every client API and backend`, { timeout: 60_000 }, async () => {
        mock.setScript(item.reply);
        for (const { api, schema } of pairs) {
          const reply = await send(api, `m-${schema.toLowerCase()}`);
          const where = `${api} -> ${schema}`;
          assert.equal(reply.status, item.status, where);
          assert.match(reply.contentType ?? '', /^application\/json/, where);
          assert.match(errorMessage(api, reply.body), item.message, where);
          const record = await lastRecord(gateway);
          assert.equal(typeof record.metadata[NS]?.['llm_total_token'], 'number', `${where}: numeric costs`);
        }
      });
    }

    it('a streaming request answered by an error page gets the same JSON error', { timeout: 60_000 }, async () => {
      mock.setScript({ kind: 'raw', status: 502, body: 'bad gateway', headers: { 'content-type': 'text/plain' } });
      for (const { api, schema } of pairs) {
        const reply = await send(api, `m-${schema.toLowerCase()}`, true);
        assert.equal(reply.status, 502, `${api} -> ${schema}`);
        assert.match(reply.contentType ?? '', /^application\/json/);
        assert.match(errorMessage(api, reply.body), /with a text\/plain body: bad gateway/);
      }
    });

    it("Envoy's own error replies (upstream reset, no healthy upstream) are JSON in the client's shape", { timeout: 60_000 }, async () => {
      mock.setScript({ kind: 'reset' });
      for (const api of ['openai', 'anthropic'] as const) {
        const reset = await send(api, 'm-openai');
        assert.equal(reset.status, 503, `${api}: reset`);
        assert.match(reset.contentType ?? '', /^application\/json/);
        assert.match(errorMessage(api, reset.body), /upstream connect error or disconnect\/reset before headers/);
        const nowhere = await send(api, 'm-nowhere');
        assert.equal(nowhere.status, 503, `${api}: no healthy upstream`);
        assert.match(nowhere.contentType ?? '', /^application\/json/);
        assert.match(errorMessage(api, nowhere.body), /no healthy upstream/);
      }
    });
  });
}
