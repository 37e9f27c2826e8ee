/**
 * Credentials never reach the service's log, at LOG_LEVEL=debug, end to end in both upstreamFilter modes and at
 * the gRPC protocol level: client keys (Authorization, x-api-key, api-key, x-goog-api-key, cookies, a key inside
 * a malformed body), backend keys from the config, upstream errors that echo the headers they received, resets,
 * aborts and translation warnings. The log is captured from a pino logger built by createLogger.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logging.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { connectExtProc, ExtProcTestStream, headerMap } from '../helpers/ext-proc-client.js';
import { startHttpMock, sseEvent, type HttpMock, type MockReply, type RecordedRequest } from '../mocks/http-mock.js';
import { hostileConfig, MAIN_KEY, postChat, rawRequest, waitForEmptyRegistry } from './hostile-helpers.js';

const CLIENT_SECRETS = {
  bearer: 'sk-client-secret-bearer-1111',
  xApiKey: 'sk-ant-client-secret-xapikey-2222',
  apiKey: 'azure-client-secret-apikey-3333',
  google: 'AIzaClientSecretGoogle4444',
  cookie: 'session-client-secret-cookie-5555',
  bodyKey: 'sk-client-secret-in-body-6666',
  proxy: 'client-secret-proxy-auth-7777',
};
const BACKEND_SECRETS = {
  main: MAIN_KEY,
  anthropic: 'sk-ant-backend-secret-aaaa',
  awsSecret: 'aws-backend-secret-access-key-bbbb',
  awsSession: 'aws-backend-session-token-cccc',
  gcp: 'ya29.gcp-backend-access-token-dddd',
  google: 'AIzaBackendSecretGoogleEeee',
  azure: 'azure-backend-secret-ffff',
};
const ALL_SECRETS = [...Object.values(CLIENT_SECRETS), ...Object.values(BACKEND_SECRETS)];

const EXTRA_BACKENDS = `
  - name: anthropic
    schema: Anthropic
    endpoint: https://api.anthropic.com
    auth: { anthropicApiKey: { value: ${BACKEND_SECRETS.anthropic} } }
  - name: bedrock
    schema: AWSBedrock
    endpoint: https://bedrock-runtime.us-east-1.amazonaws.com
    auth: { aws: { region: us-east-1, accessKeyId: { value: AKIDHOSTILE }, secretAccessKey: { value: ${BACKEND_SECRETS.awsSecret} }, sessionToken: { value: ${BACKEND_SECRETS.awsSession} } } }
  - name: vertex
    schema: GCPVertexAI
    endpoint: https://us-central1-aiplatform.googleapis.com
    auth: { gcp: { projectId: hostile, region: us-central1, accessToken: { value: ${BACKEND_SECRETS.gcp} } } }
  - name: gemini
    schema: GoogleAI
    endpoint: https://generativelanguage.googleapis.com
    auth: { googleApiKey: { value: ${BACKEND_SECRETS.google} } }
  - name: azure
    schema: AzureOpenAI
    endpoint: https://hostile.openai.azure.com
    apiVersion: 2024-10-21
    auth: { azureApiKey: { value: ${BACKEND_SECRETS.azure} } }`;
const EXTRA_MODELS = `
  - name: m-anthropic
    backends: [{ backend: anthropic, modelNameOverride: claude-sonnet-4-5 }]
  - name: m-bedrock
    backends: [{ backend: bedrock, modelNameOverride: anthropic.claude-3-5-sonnet-20240620-v1:0 }]
  - name: m-vertex
    backends: [{ backend: vertex, modelNameOverride: gemini-2.0-flash }]
  - name: m-gemini
    backends: [{ backend: gemini, modelNameOverride: gemini-2.0-flash }]
  - name: m-azure
    backends: [{ backend: azure, modelNameOverride: gpt-4o }]`;
const MODELS = ['gpt-test', 'open-model', 'm-anthropic', 'm-bedrock', 'm-vertex', 'm-gemini', 'm-azure'];

const CLIENT_HEADERS: Record<string, string> = {
  'content-type': 'application/json',
  authorization: `Bearer ${CLIENT_SECRETS.bearer}`,
  'x-api-key': CLIENT_SECRETS.xApiKey,
  'api-key': CLIENT_SECRETS.apiKey,
  'x-goog-api-key': CLIENT_SECRETS.google,
  cookie: `session=${CLIENT_SECRETS.cookie}`,
  'proxy-authorization': `Basic ${CLIENT_SECRETS.proxy}`,
};

/** An upstream that fails by echoing every header it received (a misbehaving proxy), or resets, by request. */
function hostileUpstream(request: RecordedRequest, index: number): MockReply {
  const echo = JSON.stringify(request.headers);
  switch (index % 4) {
    case 0:
      return { kind: 'json', status: 401, body: { error: { message: `invalid credentials: ${echo}`, type: 'authentication_error' } } };
    case 1:
      return { kind: 'raw', status: 502, body: `<html><body>bad gateway ${echo}</body></html>`, headers: { 'content-type': 'text/html' } };
    case 2:
      return { kind: 'reset-mid-body', body: sseEvent({ id: 'x', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { content: echo } }] }) };
    default:
      return { kind: 'raw', status: 200, body: `not json ${echo}`, headers: { 'content-type': 'application/json' } };
  }
}

function assertNoSecret(log: string, where: string): void {
  for (const secret of ALL_SECRETS) assert.ok(!log.includes(secret), `${where}: the log contains ${secret}: ${log.split('\n').filter((line) => line.includes(secret)).join('\n').slice(0, 1500)}`);
}

for (const upstreamFilter of [true, false]) {
  describe(`no credential reaches the debug log (upstreamFilter: ${upstreamFilter})`, () => {
    let gw: Gateway;
    let mock: HttpMock;
    const lines: string[] = [];

    before(async () => {
      mock = await startHttpMock(hostileUpstream);
      const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
      const upstreams = Object.fromEntries(['main', 'open', 'anthropic', 'bedrock', 'vertex', 'gemini', 'azure'].map((name) => [name, mock.url]));
      gw = await startGateway({ configYaml: hostileConfig({ upstreamFilter, extraBackends: EXTRA_BACKENDS, extraModels: EXTRA_MODELS }), env: { MAIN_KEY }, upstreams, logger });
    });
    after(async () => {
      await gw.close();
      await mock.close();
    });

    it('the capture works: the service logs at debug level', () => {
      assert.ok(lines.some((line) => line.includes('"level":20')) || lines.length > 0, 'at least the listening line');
      assert.ok(lines.some((line) => line.includes('ext_proc gRPC server listening')));
    });

    it('requests to every backend with client keys, failing upstreams echoing headers, resets and odd parameters', async () => {
      const bodies = (model: string) => [
        JSON.stringify({ model, messages: [{ role: 'user', content: `my key is ${CLIENT_SECRETS.bodyKey}` }], user: CLIENT_SECRETS.bodyKey }),
        JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hi' }], api_key: CLIENT_SECRETS.bodyKey, x_secret: CLIENT_SECRETS.bodyKey }),
        JSON.stringify({ model, messages: [{ role: 'system', content: 's', name: 'n' }, { role: 'user', content: [{ type: `Bearer ${CLIENT_SECRETS.bodyKey}`, text: 'x' }] }], parallel_tool_calls: false }),
        JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', parameters: { $ref: '#/$defs/a', $defs: { a: { type: 'object', properties: { n: { $ref: '#/$defs/a' } } } } } } }] }),
      ];
      for (const model of MODELS) {
        for (const body of bodies(model)) {
          await postChat(gw, body, CLIENT_HEADERS).catch(() => undefined);
        }
      }
      await gw.envoy.settled();
      assert.ok(mock.requests.length >= MODELS.length * 3, 'most requests reached the upstream');
      assertNoSecret(lines.join(''), 'after backend requests');
    });

    it('backend credentials echoed back by a failing upstream never reach the client either', async () => {
      const echo = (request: RecordedRequest) => JSON.stringify(request.headers);
      const failures: Array<(request: RecordedRequest) => MockReply> = [
        (request) => ({ kind: 'json', status: 401, body: { error: { message: `invalid credentials: ${echo(request)}`, type: 'authentication_error' } } }),
        (request) => ({ kind: 'json', status: 403, body: { message: `denied ${echo(request)}` } }),
        (request) => ({ kind: 'raw', status: 502, body: `<html><body>upstream saw ${echo(request)}</body></html>`, headers: { 'content-type': 'text/html' } }),
        (request) => ({ kind: 'json', status: 200, body: { error: { message: `quota for ${echo(request)}`, code: 429 } } }),
      ];
      let checked = 0;
      for (const failure of failures) {
        mock.setScript(failure);
        for (const model of MODELS.filter((name) => name !== 'open-model')) {
          const response = await postChat(gw, JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }), CLIENT_HEADERS);
          assert.ok(response.status >= 400, `${model}: ${response.status}`);
          for (const secret of Object.values(BACKEND_SECRETS)) assert.ok(!response.text.includes(secret), `${model} leaked ${secret}: ${response.text.slice(0, 300)}`);
          checked += 1;
        }
      }
      assert.equal(checked, failures.length * 6);
      assert.ok(mock.requests.some((request) => request.headers['x-api-key'] === BACKEND_SECRETS.anthropic), 'the upstream did receive the key it echoed');
      mock.setScript(hostileUpstream);
    });

    it('malformed bodies with a key inside, unknown models named like keys, oversized bodies', async () => {
      const bad = [
        `{"model":"gpt-test","api_key":"${CLIENT_SECRETS.bodyKey}",`,
        `{"api_key":"${CLIENT_SECRETS.bodyKey}" "model":"gpt-test"}`,
        JSON.stringify({ model: CLIENT_SECRETS.bodyKey, messages: [] }),
        JSON.stringify({ model: `Bearer ${CLIENT_SECRETS.bodyKey}`, messages: [] }),
        JSON.stringify({ model: 'gpt-test', stream: CLIENT_SECRETS.bodyKey, messages: [] }),
        `{"model":"gpt-test","messages":[{"content":"${CLIENT_SECRETS.bodyKey}${'x'.repeat(300_000)}"}]}`,
        Buffer.concat([Buffer.from(`{"model":"gpt-test","k":"${CLIENT_SECRETS.bodyKey}`), Buffer.from([0xff]), Buffer.from('"}')]),
      ];
      for (const body of bad) await postChat(gw, body, CLIENT_HEADERS);
      await rawRequest(gw.url, { path: '/anthropic/v1/messages', body: bad[0] ?? '', headers: CLIENT_HEADERS });
      await rawRequest(gw.url, { path: `/v1/${CLIENT_SECRETS.bodyKey}`, body: '{}', headers: CLIENT_HEADERS });
      await rawRequest(gw.url, { path: '/v1/chat/completions', body: '{}', headers: { ...CLIENT_HEADERS, 'content-type': `text/${CLIENT_SECRETS.bodyKey}` } });
      await gw.envoy.settled();
      assertNoSecret(lines.join(''), 'after malformed requests');
    });

    it('client aborts mid-stream (debug lines about the cut exchange are logged, without keys)', async () => {
      mock.setScript({
        kind: 'custom',
        async handle(response) {
          response.writeHead(200, { 'content-type': 'text/event-stream' });
          for (let index = 0; index < 50 && !response.destroyed; index += 1) {
            response.write(sseEvent({ id: 'x', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { content: `w${index} ` }, finish_reason: null }] }));
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          response.end();
        },
      });
      const before = lines.length;
      for (let round = 0; round < 3; round += 1) {
        const controller = new AbortController();
        const response = await fetch(`${gw.baseURL}/chat/completions`, {
          method: 'POST',
          headers: CLIENT_HEADERS,
          body: JSON.stringify({ model: 'open-model', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
          signal: controller.signal,
        });
        const reader = response.body?.getReader();
        await reader?.read();
        controller.abort();
        await reader?.read().catch(() => undefined);
      }
      await gw.envoy.settled();
      await waitForEmptyRegistry(gw);
      assert.ok(lines.slice(before).some((line) => line.includes('exchange ended before the response finished')), 'debug logging is on and captured');
      assertNoSecret(lines.join(''), 'after aborts');
    });

    it('protocol level: an upstream-level stream without router state, and garbage messages, log no keys', async () => {
      const client = connectExtProc(gw.server.address);
      try {
        const orphan = new ExtProcTestStream(client);
        await orphan.send({
          request_headers: { headers: headerMap({ ':path': '/v1/chat/completions', ':method': 'POST', authorization: `Bearer ${CLIENT_SECRETS.bearer}`, 'x-api-key': CLIENT_SECRETS.xApiKey }) },
          attributes: { 'envoy.filters.http.ext_proc': { fields: { "xds.upstream_host_metadata.filter_metadata['llm_extproc']['backend']": { stringValue: 'main' } } } },
          metadata_context: { filter_metadata: { 'io.envoy.ai_gateway': { fields: { llm_extproc_exchange_id: { stringValue: `Bearer ${CLIENT_SECRETS.bodyKey}` } } } } },
        });
        orphan.close(true);
        const garbage = new ExtProcTestStream(client);
        await garbage.send({ response_body: { body: Buffer.from(`Bearer ${CLIENT_SECRETS.bearer}`), end_of_stream: true } });
        await garbage.send({});
        garbage.close(true);
      } finally {
        client.close();
      }
      assert.ok(lines.some((line) => line.includes('without a router-level exchange')));
      assertNoSecret(lines.join(''), 'after protocol-level garbage');
    });
  });
}
