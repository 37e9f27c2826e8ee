/**
 * Protocol level: the real gRPC server, driven message by message the way Envoy drives it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { GatewayMetrics } from '../../src/metrics/metrics.js';
import { connectExtProc, ExtProcTestStream, gatewayMetadata, headerMap, setHeader } from '../helpers/ext-proc-client.js';
import { startTestService, type TestService } from '../helpers/service.js';

const CONFIG = `
backends:
  - name: openai
    schema: OpenAI
    endpoint: https://api.openai.com
    auth: { apiKey: { value: sk-backend-secret } }
    headers: { set: { x-team: ml }, remove: [x-debug] }
  - name: byok
    schema: OpenAI
    endpoint: http://127.0.0.1:9
models:
  - name: gpt-4o-mini
    backends:
      - { backend: openai, modelNameOverride: gpt-4o-mini-2024-07-18 }
      - { backend: byok, priority: 1 }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken }
`;

const ATTRIBUTE = "xds.upstream_host_metadata.filter_metadata['llm_extproc']['backend']";

describe('ext_proc protocol', () => {
  let server: TestService;
  let client: grpc.Client;
  let metrics: GatewayMetrics;

  before(async () => {
    server = await startTestService({ configYaml: CONFIG });
    metrics = server.metrics;
    client = connectExtProc(server.address);
  });
  after(async () => {
    client.close();
    await server.drain(1000);
  });

  async function routerRequest(body: string, headers: Record<string, string> = {}) {
    const stream = new ExtProcTestStream(client);
    const headersAnswer = await stream.send({
      request_headers: {
        headers: headerMap({ ':authority': 'gw', ':path': '/v1/chat/completions', ':method': 'POST', ':scheme': 'http', 'content-type': 'application/json', authorization: 'Bearer client-key', ...headers }),
      },
    });
    if (headersAnswer.immediate_response) return { stream, headersAnswer, bodyAnswer: undefined };
    const bodyAnswer = await stream.send({ request_body: { body: Buffer.from(body), end_of_stream: true } });
    return { stream, headersAnswer, bodyAnswer };
  }

  function exchangeId(answer: { dynamic_metadata?: unknown }): string {
    const id = gatewayMetadata(answer as never)['llm_extproc_exchange_id'];
    assert.equal(typeof id, 'string');
    return id as string;
  }

  it('answers each message with the same oneof and sets the model header, route cache and zero costs', async () => {
    const { stream, headersAnswer, bodyAnswer } = await routerRequest('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}', { 'x-ai-eg-model': 'spoofed' });
    assert.equal(headersAnswer.response, 'request_headers');
    assert.ok(bodyAnswer);
    assert.equal(bodyAnswer.response, 'request_body');
    const common = bodyAnswer.request_body?.response;
    assert.equal(common?.clear_route_cache, true);
    assert.equal(setHeader(common?.header_mutation, 'x-ai-eg-model'), 'gpt-4o-mini');
    for (const option of common?.header_mutation?.set_headers ?? []) assert.ok(!option.header?.value, 'value must stay empty; raw_value only');
    const metadata = gatewayMetadata(bodyAnswer);
    assert.deepEqual([metadata['llm_input_token'], metadata['llm_output_token'], metadata['llm_total_token']], [0, 0, 0]);
    stream.close(true);
  });

  it('builds the upstream request per attempt and restores the client headers on a retry', async () => {
    const body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],  "temperature": 0.5}';
    const { stream, headersAnswer } = await routerRequest(body, { 'x-debug': '1' });
    const id = exchangeId(headersAnswer);
    const metadataContext = { filter_metadata: { 'io.envoy.ai_gateway': { fields: { llm_extproc_exchange_id: { stringValue: id } } } } };

    const first = new ExtProcTestStream(client);
    const firstAnswer = await first.send({
      request_headers: { headers: headerMap({ ':authority': 'api.openai.com', ':path': '/v1/chat/completions', ':method': 'POST', authorization: 'Bearer client-key', 'x-debug': '1' }) },
      attributes: { 'envoy.filters.http.ext_proc': { fields: { [ATTRIBUTE]: { stringValue: 'openai' } } } },
      metadata_context: metadataContext,
    });
    const common = firstAnswer.request_headers?.response;
    assert.equal(common?.status, 'CONTINUE_AND_REPLACE');
    assert.equal(setHeader(common?.header_mutation, ':path'), '/v1/chat/completions');
    assert.equal(setHeader(common?.header_mutation, 'authorization'), 'Bearer sk-backend-secret');
    assert.equal(setHeader(common?.header_mutation, 'x-team'), 'ml');
    assert.ok(common?.header_mutation?.remove_headers?.includes('x-debug'));
    const sent = Buffer.from(common?.body_mutation?.body ?? []).toString();
    // Byte-for-byte except the model: the odd spacing survives.
    assert.equal(sent, body.replace('"gpt-4o-mini"', '"gpt-4o-mini-2024-07-18"'));
    assert.equal(gatewayMetadata(firstAnswer)['content_length'], Buffer.byteLength(sent));
    first.close(true);

    // Attempt 2 sees the shared header map as attempt 1 left it and must undo it.
    const second = new ExtProcTestStream(client);
    const secondAnswer = await second.send({
      request_headers: { headers: headerMap({ ':authority': '127.0.0.1:9', ':path': '/v1/chat/completions', ':method': 'POST', authorization: 'Bearer sk-backend-secret', 'x-team': 'ml' }) },
      attributes: { 'envoy.filters.http.ext_proc': { fields: { [ATTRIBUTE]: { stringValue: 'byok' } } } },
      metadata_context: metadataContext,
    });
    const retry = secondAnswer.request_headers?.response;
    assert.equal(setHeader(retry?.header_mutation, 'authorization'), 'Bearer client-key', 'the client key comes back for a bring-your-own-key backend');
    assert.ok(retry?.header_mutation?.remove_headers?.includes('x-team'));
    assert.equal(setHeader(retry?.header_mutation, 'x-debug'), '1');
    // The client's bytes, unchanged: no body_mutation, so Envoy sends the attempt's own copy of the router's buffer.
    assert.equal(retry?.status, 'CONTINUE_AND_REPLACE');
    assert.equal(retry?.body_mutation, undefined, 'an unchanged body is not sent back');
    // The shared header map still holds the content-length Envoy restored for attempt 1's longer body.
    assert.equal(setHeader(retry?.header_mutation, 'content-length'), String(Buffer.byteLength(body)));
    assert.equal(gatewayMetadata(secondAnswer)['content_length'], Buffer.byteLength(body));
    second.close(true);

    // Response: usage becomes metadata in the answer to the last body message.
    const responseHeaders = await stream.send({ response_headers: { headers: headerMap({ ':status': '200', 'content-type': 'application/json', 'content-length': '99' }) } });
    assert.equal(responseHeaders.response, 'response_headers');
    const responseBody = await stream.send({
      response_body: { body: Buffer.from('{"id":"x","model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}'), end_of_stream: true },
    });
    const metadata = gatewayMetadata(responseBody);
    assert.equal(metadata['llm_input_token'], 11);
    assert.equal(metadata['llm_output_token'], 7);
    assert.equal(metadata['llm_total_token'], 18);
    assert.equal(metadata['backend_name'], 'byok');
    assert.equal(metadata['response_model'], 'gpt-4o-mini-2024-07-18');
    stream.close();
    assert.equal((await stream.done).code, grpc.status.OK);
    assert.equal(server.registry.size, 0, 'the exchange is freed when the router stream ends');
  });

  async function upstreamAttempt(id: string, backend: string) {
    const upstream = new ExtProcTestStream(client);
    const answer = await upstream.send({
      request_headers: { headers: headerMap({ ':authority': 'api.openai.com', ':path': '/v1/chat/completions', ':method': 'POST' }) },
      attributes: { 'envoy.filters.http.ext_proc': { fields: { [ATTRIBUTE]: { stringValue: backend } } } },
      metadata_context: { filter_metadata: { 'io.envoy.ai_gateway': { fields: { llm_extproc_exchange_id: { stringValue: id } } } } },
    });
    upstream.close(true);
    return answer;
  }

  it('switches a streaming 200 to STREAMED, hides forced usage and reports it at the end', async () => {
    const { stream, headersAnswer } = await routerRequest('{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}');
    const attempt = await upstreamAttempt(exchangeId(headersAnswer), 'openai');
    const sent = JSON.parse(Buffer.from(attempt.request_headers?.response?.body_mutation?.body ?? []).toString()) as Record<string, unknown>;
    assert.deepEqual(sent['stream_options'], { include_usage: true }, 'costs are configured, so usage is asked for');

    const headers = await stream.send({ response_headers: { headers: headerMap({ ':status': '200', 'content-type': 'text/event-stream', 'content-length': '500' }) } });
    assert.equal(headers.mode_override?.response_body_mode, 'STREAMED');
    assert.equal(headers.mode_override?.request_body_mode, 'BUFFERED', 'both body modes are always set');
    assert.ok(headers.response_headers?.response?.header_mutation?.remove_headers?.includes('content-length'));

    const chunk1 = 'data: {"id":"c","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n';
    const first = await stream.send({ response_body: { body: Buffer.from(chunk1), end_of_stream: false } });
    assert.equal(first.response, 'response_body');
    const usageChunk = 'data: {"id":"c","model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}\n\ndata: [DONE]\n\n';
    const last = await stream.send({ response_body: { body: Buffer.from(usageChunk), end_of_stream: true } });
    const delivered = last.response_body?.response?.body_mutation;
    const text = delivered?.body ? Buffer.from(delivered.body).toString() : '';
    assert.ok(!text.includes('"usage"'), 'the client did not ask for usage, so it does not see it');
    assert.ok(text.includes('[DONE]'));
    const metadata = gatewayMetadata(last);
    assert.equal(metadata['llm_total_token'], 7);
    assert.equal(metadata['llm_input_token'], 5);
    stream.close(true);
  });

  for (const [name, headers, body, status] of [
    ['malformed JSON', {}, '{"model":', 400],
    ['unknown model', {}, '{"model":"nope","messages":[]}', 404],
    ['body not an object', {}, '[1,2]', 400],
    ['missing model', {}, '{"messages":[]}', 400],
    ['wrong content-type', { 'content-type': 'text/plain' }, '{}', 400],
  ] as const) {
    it(`answers ${name} with ${status} in OpenAI error JSON`, async () => {
      const { stream, headersAnswer, bodyAnswer } = await routerRequest(body, headers);
      const reply = (bodyAnswer ?? headersAnswer).immediate_response;
      assert.ok(reply, 'an immediate response');
      assert.equal(Number(reply.status?.code === undefined ? 0 : typeof reply.status.code === 'number' ? reply.status.code : 0) || statusFromEnum(reply.status?.code), status);
      const parsed = JSON.parse(Buffer.from(reply.body ?? []).toString()) as { error: Record<string, unknown> };
      assert.equal(typeof parsed.error.message, 'string');
      assert.ok('type' in parsed.error && 'param' in parsed.error && 'code' in parsed.error);
      stream.close(true);
      const exposition = await metrics.metrics();
      assert.match(exposition, new RegExp(`gen_ai_server_request_duration_seconds_count\\{[^}]*error_type="${status}"[^}]*\\} [1-9]`), 'the failed request is still counted');
    });
  }

  it('accepts a JSON body sent with no content-type at all', async () => {
    const stream = new ExtProcTestStream(client);
    const headersAnswer = await stream.send({ request_headers: { headers: headerMap({ ':authority': 'gw', ':path': '/v1/chat/completions', ':method': 'POST', ':scheme': 'http' }) } });
    assert.equal(headersAnswer.response, 'request_headers');
    const bodyAnswer = await stream.send({ request_body: { body: Buffer.from('{"model":"gpt-4o-mini","messages":[]}'), end_of_stream: true } });
    assert.equal(bodyAnswer.response, 'request_body', 'routed, not refused');
    assert.equal(setHeader(bodyAnswer.request_body?.response?.header_mutation, 'x-ai-eg-model'), 'gpt-4o-mini');
    stream.close(true);
  });

  it('answers an unknown path with 404 and GET /v1/models from config', async () => {
    const stream = new ExtProcTestStream(client);
    const unknown = await stream.send({ request_headers: { headers: headerMap({ ':path': '/v2/nothing', ':method': 'POST' }) } });
    assert.equal(statusFromEnum(unknown.immediate_response?.status?.code), 404);
    stream.close(true);
    const models = new ExtProcTestStream(client);
    const list = await models.send({ request_headers: { headers: headerMap({ ':path': '/v1/models', ':method': 'GET' }), end_of_stream: true } });
    const parsed = JSON.parse(Buffer.from(list.immediate_response?.body ?? []).toString()) as { object: string; data: Array<{ id: string }> };
    assert.equal(parsed.object, 'list');
    assert.deepEqual(parsed.data.map((model) => model.id), ['gpt-4o-mini']);
    models.close(true);
  });
});

const STATUS_NAMES: Record<string, number> = { OK: 200, BadRequest: 400, NotFound: 404, MethodNotAllowed: 405, PayloadTooLarge: 413, UnprocessableEntity: 422, InternalServerError: 500 };
function statusFromEnum(code: string | number | undefined): number {
  if (typeof code === 'number') return code;
  return STATUS_NAMES[code ?? ''] ?? 0;
}

describe('unix socket listener', () => {
  it('binds over a socket file left by a previous run', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { createServer } = await import('node:net');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const directory = await mkdtemp(join(tmpdir(), 'llm-extproc-'));
    const path = join(directory, 'extproc.sock');
    // A crashed process leaves its socket file behind.
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen(path, resolve));
    await new Promise<void>((resolve) => {
      // Close the listener without unlinking, as a killed process would.
      (stale as unknown as { _handle: { close(): void } | null })._handle?.close();
      resolve();
    });
    const server = await startTestService({ configYaml: 'backends: []\nmodels: []\n', listen: `unix:${path}` });
    const client = connectExtProc(server.address);
    const stream = new ExtProcTestStream(client);
    const answer = await stream.send({ request_headers: { headers: headerMap({ ':path': '/v1/models', ':method': 'GET' }), end_of_stream: true } });
    assert.ok(answer.immediate_response, 'served over the socket');
    stream.close(true);
    client.close();
    await server.drain(1000);
    await rm(directory, { recursive: true, force: true });
  });
});
