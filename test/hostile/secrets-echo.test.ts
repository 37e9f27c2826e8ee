/**
 * Backend credentials never reach the client, the log or /metrics, whatever the upstream sends back. Every
 * backend schema is driven through the Envoy stand-in, in both upstreamFilter modes, by OpenAI chat clients,
 * Responses API clients (and Anthropic Messages clients where that schema serves them), against an upstream that echoes the request
 * headers it received (credentials and `headers.set` values included) in every response shape: a 2xx JSON
 * answer, a 2xx stream (SSE or AWS event stream, cut in the middle of a secret), an error JSON, an HTML error
 * page, and an error event inside a 200 stream. The echo is also sent as the finish reason and in a response
 * header. The client's own credentials and cookies never reach a backend that has its own auth.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logging.js';
import { REDACTED } from '../../src/core/secret-scrubber.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { encodeFrame } from '../helpers/aws-eventstream.js';
import { startHttpMock, type HttpMock, type MockReply, type RecordedRequest } from '../mocks/http-mock.js';
import { rawRequest, type RawResponse } from './hostile-helpers.js';

type Wire = 'openai' | 'anthropic' | 'aws-anthropic' | 'bedrock' | 'gemini';
type Shape = 'json-2xx' | 'stream-2xx' | 'error-json' | 'error-html' | 'stream-error-event' | 'stream-split-events';
const SHAPES: readonly Shape[] = ['json-2xx', 'stream-2xx', 'error-json', 'error-html', 'stream-error-event', 'stream-split-events'];

/** The echo in pieces of 5 characters, one per event: every secret is split across events. */
const piecesOf = (text: string): string[] => text.match(/[\s\S]{1,5}/g) ?? [];
/** A stream cut every 7 bytes, so event boundaries and chunk boundaries fall everywhere. */
const every7 = (body: Buffer): Buffer[] => Array.from({ length: Math.ceil(body.length / 7) }, (_, index) => body.subarray(index * 7, index * 7 + 7));

/** The text a client joins from a stream's deltas (OpenAI chunks or Anthropic content_block_delta events). */
function joinedText(body: string): string {
  let text = '';
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const event = JSON.parse(line.slice(6)) as { type?: string; choices?: { delta?: { content?: string } }[]; delta?: string | { text?: string } };
    if (event.type === 'response.output_text.delta') text += typeof event.delta === 'string' ? event.delta : '';
    else text += event.choices?.[0]?.delta?.content ?? (typeof event.delta === 'object' ? event.delta.text : undefined) ?? '';
  }
  return text;
}

interface EchoBackend {
  readonly name: string;
  readonly schema: string;
  readonly wire: Wire;
  /** YAML for auth (and apiVersion where needed). */
  readonly yaml: string;
  readonly modelOverride: string;
  /** The config's secret values for this backend. */
  readonly secrets: readonly string[];
  /** Served to Anthropic Messages clients too. */
  readonly anthropicClients: boolean;
}

const tenant = (name: string) => `tenant-secret-${name}-from-headers-set`;
const aws = (tag: string) => ({
  yaml: `auth: { aws: { region: us-east-1, accessKeyId: { value: AKIDECHO${tag} }, secretAccessKey: { value: aws-echo-secret-${tag} }, sessionToken: { value: aws-echo-session-token-${tag} } } }`,
  secrets: [`AKIDECHO${tag}`, `aws-echo-secret-${tag}`, `aws-echo-session-token-${tag}`],
});

const BACKENDS: readonly EchoBackend[] = [
  { name: 'openai', schema: 'OpenAI', wire: 'openai', yaml: 'auth: { apiKey: { value: sk-echo-openai-key-0001 } }', modelOverride: 'gpt-4o', secrets: ['sk-echo-openai-key-0001'], anthropicClients: true },
  { name: 'azure', schema: 'AzureOpenAI', wire: 'openai', yaml: 'apiVersion: 2024-10-21\n    auth: { azureApiKey: { value: azure-echo-key-0002 } }', modelOverride: 'gpt-4o', secrets: ['azure-echo-key-0002'], anthropicClients: true },
  { name: 'anthropic', schema: 'Anthropic', wire: 'anthropic', yaml: 'auth: { anthropicApiKey: { value: sk-ant-echo-key-0003 } }', modelOverride: 'claude-sonnet-4-5', secrets: ['sk-ant-echo-key-0003'], anthropicClients: true },
  { name: 'gcp-anthropic', schema: 'GCPAnthropic', wire: 'anthropic', yaml: 'auth: { gcp: { projectId: echo, region: us-east5, accessToken: { value: ya29.echo-gcp-anthropic-0004 } } }', modelOverride: 'claude-sonnet-4-5', secrets: ['ya29.echo-gcp-anthropic-0004'], anthropicClients: true },
  { name: 'aws-anthropic', schema: 'AWSAnthropic', wire: 'aws-anthropic', yaml: aws('0005').yaml, modelOverride: 'anthropic.claude-3-5-sonnet-20240620-v1:0', secrets: aws('0005').secrets, anthropicClients: true },
  { name: 'bedrock', schema: 'AWSBedrock', wire: 'bedrock', yaml: aws('0006').yaml, modelOverride: 'anthropic.claude-3-5-sonnet-20240620-v1:0', secrets: aws('0006').secrets, anthropicClients: false },
  { name: 'vertex', schema: 'GCPVertexAI', wire: 'gemini', yaml: 'auth: { gcp: { projectId: echo, region: us-central1, accessToken: { value: ya29.echo-vertex-0007 } } }', modelOverride: 'gemini-2.0-flash', secrets: ['ya29.echo-vertex-0007'], anthropicClients: false },
  { name: 'gemini', schema: 'GoogleAI', wire: 'gemini', yaml: 'auth: { googleApiKey: { value: AIzaEchoGoogleKey0008 } }', modelOverride: 'gemini-2.0-flash', secrets: ['AIzaEchoGoogleKey0008'], anthropicClients: false },
];

const CLIENT_KEY = 'sk-client-own-key-9999';
const CLIENT_COOKIE = 'client-session-cookie-9999';
const CLIENT_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}`, 'x-api-key': CLIENT_KEY, cookie: `sid=${CLIENT_COOKIE}` };

function configYaml(upstreamFilter: boolean): string {
  const backends = BACKENDS.map(
    (backend) => `  - name: ${backend.name}
    schema: ${backend.schema}
    endpoint: https://${backend.name}.example.com
    ${backend.yaml}
    headers: { set: { x-tenant-secret: ${tenant(backend.name)} } }`,
  ).join('\n');
  const models = BACKENDS.map((backend) => `  - name: m-${backend.name}\n    backends: [{ backend: ${backend.name}, modelNameOverride: "${backend.modelOverride}" }]`).join('\n');
  return `backends:\n${backends}\nmodels:\n${models}\ncosts:\n  - { metadataKey: llm_input_token, type: InputToken }\nenvoy:\n  upstreamFilter: ${upstreamFilter}\n`;
}

/** The echo: every header the upstream received, as JSON text. */
const echoOf = (request: RecordedRequest): string => JSON.stringify(request.headers);
const sse = (data: unknown, event?: string): string => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;

/** Cuts a stream in two in the middle of the first secret it carries (so a secret straddles two chunks). */
function cutInSecret(body: Buffer, request: RecordedRequest): Buffer[] {
  const secret = [request.headers['x-tenant-secret']].flat().find((value): value is string => typeof value === 'string');
  const at = secret === undefined ? -1 : body.indexOf(secret);
  if (at === -1) return [body];
  const middle = at + Math.floor((secret as string).length / 2);
  return [body.subarray(0, middle), body.subarray(middle)];
}

function anthropicStreamEvents(echo: string, reason: string): string {
  return [
    sse({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 0 } } }, 'message_start'),
    sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
    sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: echo } }, 'content_block_delta'),
    sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
    sse({ type: 'message_delta', delta: { stop_reason: reason }, usage: { output_tokens: 5 } }, 'message_delta'),
    sse({ type: 'message_stop' }, 'message_stop'),
  ].join('');
}

function anthropicMessage(echo: string, reason: string): unknown {
  return { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [{ type: 'text', text: echo }], stop_reason: reason, usage: { input_tokens: 3, output_tokens: 5 } };
}

const frame = (eventType: string, body: unknown) => Buffer.from(encodeFrame({ headers: { ':event-type': eventType, ':message-type': 'event', ':content-type': 'application/json' }, body }));
const exceptionFrame = (message: string) => Buffer.from(encodeFrame({ headers: { ':exception-type': 'throttlingException', ':message-type': 'exception', ':content-type': 'application/json' }, body: { message } }));
const EVENTSTREAM = 'application/vnd.amazon.eventstream';

/** OpenAI's Responses API answering in this shape (2xx shapes only; errors are shaped as for chat). */
function responsesEchoReply(shape: Shape, echo: string, headers: Record<string, string>, request: RecordedRequest): MockReply {
  const item = (text: string) => ({ id: 'msg_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] });
  const response = (status: string, text: string) => ({ id: 'resp_1', object: 'response', created_at: 1, status, model: 'gpt-4o', output: text === '' ? [] : [item(text)], usage: { input_tokens: 3, output_tokens: 5, total_tokens: 8 } });
  if (shape === 'json-2xx') return { kind: 'json', headers, body: response('completed', echo) };
  let sequence = 0;
  const event = (type: string, payload: object) => sse({ type, sequence_number: sequence++, ...payload }, type);
  const deltas = (pieces: string[]) => pieces.map((delta) => event('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta })).join('');
  let body = event('response.created', { response: response('in_progress', '') }) + event('response.output_item.added', { output_index: 0, item: { ...item(''), status: 'in_progress', content: [] } });
  if (shape === 'stream-error-event') {
    body += deltas(['partial ']) + event('error', { code: 'server_error', message: `stream failed: ${echo}`, param: null });
    return { kind: 'sse', headers, chunks: cutInSecret(Buffer.from(body), request) };
  }
  const split = shape === 'stream-split-events';
  body += deltas(split ? piecesOf(echo) : [echo]) + event('response.output_text.done', { item_id: 'msg_1', output_index: 0, content_index: 0, text: echo });
  body += event('response.output_item.done', { output_index: 0, item: item(echo) }) + event('response.completed', { response: response('completed', echo) });
  return { kind: 'sse', headers, chunks: split ? every7(Buffer.from(body)) : cutInSecret(Buffer.from(body), request) };
}

/** What an upstream of this wire format answers in this shape, echoing the request headers. */
function echoReply(wire: Wire, shape: Shape, request: RecordedRequest): MockReply {
  const echo = echoOf(request);
  const secretReason = [request.headers['x-tenant-secret']].flat()[0] ?? 'none';
  const headers = { 'x-echo': echo.replace(/[^\x20-\x7e]/g, '') };
  if (shape === 'error-json') return { kind: 'json', status: 401, headers, body: wire === 'anthropic' || wire === 'aws-anthropic' ? { type: 'error', error: { type: 'authentication_error', message: `bad key: ${echo}` } } : wire === 'gemini' ? { error: { code: 401, message: `bad key: ${echo}`, status: 'UNAUTHENTICATED' } } : wire === 'bedrock' ? { message: `bad key: ${echo}` } : { error: { message: `bad key: ${echo}`, type: 'invalid_request_error' } } };
  // Credentials first: an error excerpt is cut to a few hundred characters.
  const credentials = Object.entries(request.headers).filter(([name]) => /authorization|key|token|secret/.test(name));
  if (shape === 'error-html') return { kind: 'raw', status: 502, headers: { ...headers, 'content-type': 'text/html' }, body: `<html><body><h1>Bad gateway</h1><pre>${JSON.stringify(credentials)} ${echo}</pre></body></html>` };
  if (wire === 'openai' && request.path.split('?')[0]?.endsWith('/responses')) return responsesEchoReply(shape, echo, headers, request);
  if (shape === 'stream-split-events') return splitEventsReply(wire, echo, headers);
  switch (wire) {
    case 'openai': {
      if (shape === 'json-2xx') return { kind: 'json', headers, body: { id: 'c1', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: echo }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 } } };
      const chunk = (delta: unknown, finish: string | null) => sse({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: finish }] });
      const body = shape === 'stream-2xx' ? chunk({ role: 'assistant', content: echo }, null) + chunk({}, 'stop') + 'data: [DONE]\n\n' : chunk({ role: 'assistant', content: 'partial ' }, null) + sse({ error: { message: `stream failed: ${echo}`, type: 'server_error' } });
      return { kind: 'sse', headers, chunks: cutInSecret(Buffer.from(body), request) };
    }
    case 'anthropic': {
      if (shape === 'json-2xx') return { kind: 'json', headers, body: anthropicMessage(echo, echo) };
      const body = shape === 'stream-2xx' ? anthropicStreamEvents(echo, secretReason) : anthropicStreamEvents('partial', 'end_turn').split('event: content_block_stop')[0] + sse({ type: 'error', error: { type: 'overloaded_error', message: `overloaded: ${echo}` } }, 'error');
      return { kind: 'sse', headers, chunks: cutInSecret(Buffer.from(body), request) };
    }
    case 'aws-anthropic': {
      if (shape === 'json-2xx') return { kind: 'json', headers, body: anthropicMessage(echo, echo) };
      const events = anthropicStreamEvents(shape === 'stream-2xx' ? echo : 'partial', secretReason).split('\n\n').filter((block) => block.trim() !== '');
      const frames = events.map((block) => frame('chunk', { bytes: Buffer.from(/^data: (.*)$/m.exec(block)?.[1] ?? '{}').toString('base64') }));
      const body = shape === 'stream-2xx' ? frames : [...frames.slice(0, 3), exceptionFrame(`throttled: ${echo}`)];
      return { kind: 'sse', headers, contentType: EVENTSTREAM, chunks: body };
    }
    case 'bedrock': {
      if (shape === 'json-2xx') return { kind: 'json', headers, body: { output: { message: { role: 'assistant', content: [{ text: echo }] } }, stopReason: echo, usage: { inputTokens: 3, outputTokens: 5, totalTokens: 8 } } };
      const start = [frame('messageStart', { role: 'assistant' }), frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: shape === 'stream-2xx' ? echo : 'partial' } })];
      const rest = shape === 'stream-2xx'
        ? [frame('contentBlockStop', { contentBlockIndex: 0 }), frame('messageStop', { stopReason: secretReason }), frame('metadata', { usage: { inputTokens: 3, outputTokens: 5, totalTokens: 8 } })]
        : [exceptionFrame(`throttled: ${echo}`)];
      return { kind: 'sse', headers, contentType: EVENTSTREAM, chunks: [...start, ...rest] };
    }
    case 'gemini': {
      const response = (text: string, reason: string | undefined) => ({ candidates: [{ index: 0, content: { role: 'model', parts: [{ text }] }, ...(reason ? { finishReason: reason } : {}) }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 5, totalTokenCount: 8 } });
      if (shape === 'json-2xx') return { kind: 'json', headers, body: response(echo, echo) };
      const body = shape === 'stream-2xx'
        ? sse(response(echo, undefined)) + sse(response('', secretReason))
        : sse(response('partial', undefined)) + sse({ error: { code: 500, message: `internal: ${echo}`, status: 'INTERNAL' } });
      return { kind: 'sse', headers, chunks: cutInSecret(Buffer.from(body), request) };
    }
  }
}

/** The echo as a 2xx stream with one piece per event, cut every 7 bytes (AWS: one frame per piece). */
function splitEventsReply(wire: Wire, echo: string, headers: Record<string, string>): MockReply {
  const pieces = piecesOf(echo);
  switch (wire) {
    case 'openai': {
      const chunk = (delta: unknown, finish: string | null) => sse({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: finish }] });
      const body = chunk({ role: 'assistant', content: '' }, null) + pieces.map((piece) => chunk({ content: piece }, null)).join('') + chunk({}, 'stop') + 'data: [DONE]\n\n';
      return { kind: 'sse', headers, chunks: every7(Buffer.from(body)) };
    }
    case 'anthropic':
    case 'aws-anthropic': {
      const events = anthropicStreamEvents('', 'end_turn').split('\n\n').filter((block) => block.trim() !== '').map((block) => `${block}\n\n`);
      const deltas = pieces.map((piece) => sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } }, 'content_block_delta'));
      const all = [...events.slice(0, 2), ...deltas, ...events.slice(3)];
      if (wire === 'anthropic') return { kind: 'sse', headers, chunks: every7(Buffer.from(all.join(''))) };
      const frames = all.map((block) => frame('chunk', { bytes: Buffer.from(/^data: (.*)$/m.exec(block)?.[1] ?? '{}').toString('base64') }));
      return { kind: 'sse', headers, contentType: EVENTSTREAM, chunks: frames };
    }
    case 'bedrock': {
      const frames = [
        frame('messageStart', { role: 'assistant' }),
        ...pieces.map((piece) => frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: piece } })),
        frame('contentBlockStop', { contentBlockIndex: 0 }),
        frame('messageStop', { stopReason: 'end_turn' }),
        frame('metadata', { usage: { inputTokens: 3, outputTokens: 5, totalTokens: 8 } }),
      ];
      return { kind: 'sse', headers, contentType: EVENTSTREAM, chunks: frames };
    }
    case 'gemini': {
      const response = (text: string, reason: string | undefined) => ({ candidates: [{ index: 0, content: { role: 'model', parts: [{ text }] }, ...(reason ? { finishReason: reason } : {}) }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 5, totalTokenCount: 8 } });
      const body = pieces.map((piece) => sse(response(piece, undefined))).join('') + sse(response('', 'STOP'));
      return { kind: 'sse', headers, chunks: every7(Buffer.from(body)) };
    }
  }
}

describe('backend credentials echoed by the upstream never leave the service', { timeout: 240_000 }, () => {
  for (const upstreamFilter of [true, false]) {
    describe(`upstreamFilter: ${upstreamFilter}`, { timeout: 120_000 }, () => {
      let gw: Gateway;
      const mocks = new Map<string, HttpMock>();
      const logLines: string[] = [];
      let shape: Shape = 'json-2xx';

      before(async () => {
        for (const backend of BACKENDS) mocks.set(backend.name, await startHttpMock((request) => echoReply(backend.wire, shape, request)));
        const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
        const upstreams = Object.fromEntries([...mocks].map(([name, mock]) => [name, mock.url]));
        gw = await startGateway({ configYaml: configYaml(upstreamFilter), upstreams, logger });
      });
      after(async () => {
        await gw?.close();
        for (const mock of mocks.values()) await mock.close();
      });

      /** Every credential the service holds or sent: config values, headers.set values and what each mock received. */
      function allSecrets(): string[] {
        const values = new Set<string>();
        for (const backend of BACKENDS) {
          for (const secret of backend.secrets) values.add(secret);
          values.add(tenant(backend.name));
          for (const request of mocks.get(backend.name)?.requests ?? []) {
            for (const name of ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'x-amz-security-token']) {
              const value = request.headers[name];
              if (typeof value === 'string') values.add(value);
            }
            const signature = /Signature=([0-9a-f]+)/.exec(String(request.headers['authorization'] ?? ''))?.[1];
            if (signature) values.add(signature);
          }
        }
        return [...values];
      }

      function assertClean(where: string, text: string): void {
        for (const secret of allSecrets()) assert.ok(!text.includes(secret), `${where}: leaked ${secret}:\n${text.slice(0, 600)}`);
      }

      const cases = BACKENDS.flatMap((backend) => [
        { backend, client: 'openai' as const },
        { backend, client: 'responses' as const },
        ...(backend.anthropicClients ? [{ backend, client: 'anthropic' as const }] : []),
      ]);

      for (const current of SHAPES) {
        it(`${current}: every backend, every client API`, { timeout: 60_000 }, async () => {
          shape = current;
          const stream = current.startsWith('stream');
          let redactedSeen = 0;
          for (const { backend, client } of cases) {
            const mock = mocks.get(backend.name) as HttpMock;
            const before = mock.requests.length;
            const model = `m-${backend.name}`;
            const body = client === 'openai'
              ? { model, stream, messages: [{ role: 'user', content: 'echo please' }] }
              : client === 'responses'
                ? { model, stream, input: 'echo please' }
                : { model, stream, max_tokens: 64, messages: [{ role: 'user', content: 'echo please' }] };
            const path = client === 'openai' ? '/v1/chat/completions' : client === 'responses' ? '/v1/responses' : '/anthropic/v1/messages';
            const response: RawResponse = await rawRequest(gw.url, { path, body: JSON.stringify(body), headers: CLIENT_HEADERS });
            const where = `${backend.name} (${backend.schema}) ${client} ${current} -> ${response.status}`;
            assert.equal(mock.requests.length, before + 1, `${where}: the upstream was called`);
            const received = mock.requests.at(-1) as RecordedRequest;
            // The upstream did receive the credentials it echoed, and none of the client's own.
            assert.ok(received.headers['x-tenant-secret'] === tenant(backend.name), `${where}: headers.set reached the upstream`);
            assert.equal(received.headers['cookie'], undefined, `${where}: the client's cookie reached a backend with its own auth`);
            assert.ok(!JSON.stringify(received.headers).includes(CLIENT_KEY), `${where}: the client's key reached a backend with its own auth`);
            const everything = `${JSON.stringify(response.headers)}\n${response.text}`;
            assertClean(where, everything);
            if (current === 'stream-split-events') {
              // No secret is in the bytes; what matters is the text the client joins from the pieces.
              assert.equal(response.status, 200, where);
              const joined = joinedText(response.text);
              assertClean(`${where}, joined text`, joined);
              assert.ok(joined.includes('"x-tenant-secret":"[REDACTED]"'), `${where}: the echo arrived, scrubbed: ${joined.slice(0, 300)}`);
              redactedSeen += 1;
            }
            if (response.text.includes(REDACTED)) redactedSeen += 1;
            assert.ok(String(response.headers['x-echo']).includes(REDACTED), `${where}: the echo in a response header is scrubbed`);
          }
          // The echo did reach the client (scrubbed) in most answers: the test exercises what it claims to. (Only the
          // OpenAI-family translators quote an HTML error page; the others answer with the status alone.)
          const expected = current === 'error-html' ? 4 : cases.length - 2;
          assert.ok(redactedSeen >= expected, `only ${redactedSeen} of ${cases.length} answers carried a scrubbed echo`);
          await gw.envoy.settled();
          assertClean(`log after ${current}`, logLines.join(''));
          assertClean(`/metrics after ${current}`, await gw.metrics.metrics());
        });
      }
    });
  }
});
