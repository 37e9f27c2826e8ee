/**
 * Upstream misbehaviour end to end, in both upstreamFilter modes: HTML error pages, empty and non-JSON 200s,
 * truncated gzip and content-encoding lies, streams that end early, reset, carry an error after a 200, hold one
 * huge event or use CRLF / CR line endings. Each gives the client a proper error (buffered) or a terminated
 * stream whose last event is an error; the metadata always carries numeric costs and the request is counted.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startHttpMock, sseEvent, type HttpMock, type MockReply } from '../mocks/http-mock.js';
import {
  assertNumericCosts,
  assertOpenAIError,
  assertStillServing,
  hostileConfig,
  lastRecord,
  MAIN_KEY,
  postChat,
  sampleSum,
  waitForEmptyRegistry,
  type RawResponse,
} from './hostile-helpers.js';

const MODEL = 'gpt-test-upstream';
const chunk = (delta: object, finish: string | null = null) => sseEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] });
const USAGE = sseEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });
const GOOD = [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hello ' }), chunk({ content: 'wörld ☕' }), chunk({}, 'stop'), USAGE, 'data: [DONE]\n\n'];
const COMPLETION = JSON.stringify({
  id: 'x',
  object: 'chat.completion',
  created: 1,
  model: MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
});

const ANTHROPIC_START = [
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"usage":{"input_tokens":9,"output_tokens":1}}}\n\n',
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Once upon"}}\n\n',
];

/** The data payloads of an SSE body, whatever its line endings. */
function sseData(text: string): string[] {
  return text
    .split(/\r\n\r\n|\n\n|\r\r/)
    .map((block) => block.split(/\r\n|\n|\r/).filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trimStart()).join('\n'))
    .filter((data) => data !== '');
}

function contentOf(events: readonly string[]): string {
  let text = '';
  for (const data of events) {
    if (data === '[DONE]') continue;
    const parsed = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }> };
    text += parsed.choices?.map((choice) => choice.delta?.content ?? '').join('') ?? '';
  }
  return text;
}

/** A 200 stream that was ended with an error event (and nothing after it). */
function assertStreamEndsWithError(response: RawResponse, pattern?: RegExp): string[] {
  assert.equal(response.status, 200);
  const events = sseData(response.text);
  const last = events.at(-1);
  assert.ok(last !== undefined, 'at least the error event');
  const parsed = JSON.parse(last) as { error?: { message?: string; type?: string } };
  assert.equal(typeof parsed.error?.message, 'string', `the last event is an error: ${last.slice(0, 200)}`);
  assert.equal(typeof parsed.error?.type, 'string');
  if (pattern) assert.match(parsed.error?.message ?? '', pattern);
  assert.ok(!events.includes('[DONE]'), 'no [DONE] after a failure');
  return events;
}

interface BufferedCase {
  name: string;
  reply: MockReply;
  status: number;
  message?: RegExp;
}

const BUFFERED: BufferedCase[] = [
  { name: 'an HTML 502 error page', reply: { kind: 'raw', status: 502, body: '<html><head><style>b{}</style></head><body><h1>502 Bad Gateway</h1></body></html>', headers: { 'content-type': 'text/html' } }, status: 502, message: /502 Bad Gateway/ },
  { name: 'an HTML 429 with retry-after', reply: { kind: 'raw', status: 429, body: '<html>Too Many Requests</html>', headers: { 'content-type': 'text/html', 'retry-after': '3' } }, status: 429, message: /Too Many Requests/ },
  { name: 'an HTML login page with 200', reply: { kind: 'raw', status: 200, body: '<html><body>Please log in</body></html>', headers: { 'content-type': 'text/html' } }, status: 502, message: /not JSON: Please log in/ },
  { name: 'an empty 200 body', reply: { kind: 'raw', status: 200, body: '', headers: { 'content-type': 'application/json' } }, status: 502, message: /empty body/ },
  { name: 'an empty 200 body sent chunked', reply: { kind: 'raw', status: 200, body: '', chunked: true, headers: { 'content-type': 'application/json' } }, status: 502, message: /empty body/ },
  { name: 'a 200 with plain text', reply: { kind: 'raw', status: 200, body: 'OK', headers: { 'content-type': 'application/json' } }, status: 502, message: /not JSON/ },
  { name: 'a 200 with truncated JSON', reply: { kind: 'raw', status: 200, body: COMPLETION.slice(0, 40), headers: { 'content-type': 'application/json' } }, status: 502, message: /not JSON/ },
  { name: 'a 200 carrying an error object', reply: { kind: 'json', status: 200, body: { error: { message: 'quota exceeded', type: 'insufficient_quota', code: 429 } } }, status: 429, message: /quota exceeded/ },
  { name: 'truncated gzip', reply: { kind: 'raw', status: 200, body: gzipSync(COMPLETION).subarray(0, 30), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } }, status: 502, message: /cannot be decoded/ },
  { name: 'content-encoding gzip on a plain body', reply: { kind: 'raw', status: 200, body: COMPLETION, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } }, status: 502, message: /cannot be decoded/ },
  { name: 'content-encoding br on a plain error', reply: { kind: 'raw', status: 500, body: '{"error":{"message":"boom"}}', headers: { 'content-type': 'application/json', 'content-encoding': 'br' } }, status: 502, message: /cannot be decoded/ },
  { name: 'a gzip HTML 503', reply: { kind: 'raw', status: 503, body: gzipSync('<html><body>Service Unavailable</body></html>'), headers: { 'content-type': 'text/html', 'content-encoding': 'gzip' } }, status: 503, message: /Service Unavailable/ },
];

interface StreamCase {
  name: string;
  reply: MockReply;
  /** Expected: the good content and usage, or an error event (message pattern). */
  expect: { ok: true; content: string } | { ok: false; message?: RegExp };
}

const STREAMS: StreamCase[] = [
  { name: 'a well-formed stream', reply: { kind: 'sse', chunks: GOOD }, expect: { ok: true, content: 'Hello wörld ☕' } },
  { name: 'CRLF line endings', reply: { kind: 'sse', chunks: [GOOD.join('').replace(/\n/g, '\r\n')] }, expect: { ok: true, content: 'Hello wörld ☕' } },
  { name: 'CR-only line endings', reply: { kind: 'sse', chunks: [GOOD.join('').replace(/\n/g, '\r')] }, expect: { ok: true, content: 'Hello wörld ☕' } },
  { name: 'CRLF split between CR and LF across chunks', reply: { kind: 'sse', chunks: GOOD.join('').replace(/\n/g, '\r\n').split(/(?<=\r)/) }, expect: { ok: true, content: 'Hello wörld ☕' } },
  { name: 'one byte per chunk (multi-byte characters split)', reply: { kind: 'sse', chunks: [...Buffer.from(GOOD.join(''))].map((byte) => Uint8Array.of(byte)) }, expect: { ok: true, content: 'Hello wörld ☕' } },
  { name: 'a gzip stream', reply: { kind: 'sse', chunks: GOOD, encoding: 'gzip' }, expect: { ok: true, content: 'Hello wörld ☕' } },
  { name: 'an end without [DONE] or finish_reason', reply: { kind: 'sse', chunks: GOOD.slice(0, 3) }, expect: { ok: false, message: /ended before the response was complete/ } },
  { name: 'an error event after the 200', reply: { kind: 'sse', chunks: [GOOD[0] as string, sseEvent({ error: { message: 'overloaded', type: 'server_error', code: 'overloaded' } })] }, expect: { ok: false, message: /overloaded/ } },
  { name: 'an empty event stream', reply: { kind: 'sse', chunks: [] }, expect: { ok: false, message: /ended before the response was complete/ } },
  {
    name: 'truncated gzip mid-stream',
    reply: { kind: 'raw', status: 200, body: gzipSync(GOOD.join('')).subarray(0, 60), chunked: true, headers: { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' } },
    expect: { ok: false, message: /cannot be decoded/ },
  },
  { name: 'content-encoding gzip on a plain stream', reply: { kind: 'sse', chunks: GOOD, headers: { 'content-encoding': 'gzip' } }, expect: { ok: false, message: /cannot be decoded/ } },
];

for (const upstreamFilter of [true, false]) {
  describe(`upstream misbehaviour (upstreamFilter: ${upstreamFilter})`, () => {
    let gw: Gateway;
    let mock: HttpMock;

    before(async () => {
      mock = await startHttpMock({ kind: 'sse', chunks: GOOD });
      gw = await startGateway({
        configYaml: hostileConfig({
          upstreamFilter,
          extraBackends: '  - name: anthropic\n    schema: Anthropic\n    endpoint: https://api.anthropic.com\n    auth: { anthropicApiKey: { value: sk-ant-hostile } }',
          extraModels: '  - name: claude\n    backends: [{ backend: anthropic, modelNameOverride: claude-x }]',
        }),
        env: { MAIN_KEY },
        upstreams: { main: mock.url, open: mock.url, anthropic: mock.url },
      });
    });
    after(async () => {
      await gw.close();
      await mock.close();
    });

    const chat = (stream: boolean, model = 'gpt-test') => postChat(gw, JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }));
    const requestsWithError = async (errorType: string) =>
      sampleSum(await gw.metrics.metrics(), 'gen_ai_server_request_duration_seconds_count', [`error_type="${errorType}"`]);

    for (const item of BUFFERED) {
      it(`buffered: ${item.name} -> ${item.status} OpenAI error, numeric costs, counted`, async () => {
        mock.setScript(item.reply);
        const counted = await requestsWithError(String(item.status));
        const response = await chat(false);
        assertOpenAIError(response, item.status, item.message);
        assert.equal(response.headers['content-encoding'], undefined, 'a decoded error never keeps a stale content-encoding');
        assert.equal(Number(response.headers['content-length']), response.body.length);
        assertNumericCosts(await lastRecord(gw));
        assert.equal(await requestsWithError(String(item.status)), counted + 1);
      });
    }

    for (const item of STREAMS) {
      it(`stream: ${item.name}`, async () => {
        mock.setScript(item.reply);
        const response = await chat(true);
        const record = await lastRecord(gw);
        const metadata = assertNumericCosts(record);
        if (item.expect.ok) {
          assert.equal(response.status, 200);
          const events = sseData(response.text);
          assert.equal(events.at(-1), '[DONE]');
          assert.equal(contentOf(events), item.expect.content);
          assert.ok(!response.text.includes('"usage"'), 'the forced usage chunk stays hidden');
          assert.deepEqual([metadata['llm_input_token'], metadata['llm_output_token'], metadata['llm_total_token']], [7, 3, 10]);
        } else {
          assertStreamEndsWithError(response, item.expect.message);
        }
      });
    }

    it('stream: a 200 JSON document to a streaming request is read whole (an embedded error becomes a status)', async () => {
      mock.setScript({ kind: 'json', status: 200, body: { error: { message: 'model overloaded', type: 'server_error', code: 503 } } });
      assertOpenAIError(await chat(true), 503, /model overloaded/);
      mock.setScript({ kind: 'raw', status: 200, body: '<html>maintenance</html>', headers: { 'content-type': 'text/html' } });
      assertOpenAIError(await chat(true), 502, /maintenance/);
      assertNumericCosts(await lastRecord(gw));
    });

    it('stream: a single 3 MB event passes whole and is counted without stalling the service', async () => {
      const big = 'z'.repeat(3_000_000);
      mock.setScript({ kind: 'sse', chunks: [GOOD[0] as string, chunk({ content: big }), ...GOOD.slice(3)] });
      const response = await chat(true);
      assert.equal(response.status, 200);
      const events = sseData(response.text);
      assert.equal(contentOf(events), big);
      assert.equal(events.at(-1), '[DONE]');
      assert.equal(assertNumericCosts(await lastRecord(gw))['llm_total_token'], 10);
    });

    it('stream: 3 MB of one "word" from a backend that reports no usage is counted locally in bounded time', async () => {
      mock.setScript({ kind: 'sse', chunks: [GOOD[0] as string, chunk({ content: ' '.repeat(1_500_000) }), chunk({ content: 'q'.repeat(1_500_000) }), chunk({}, 'stop'), 'data: [DONE]\n\n'] });
      const response = await chat(true);
      assert.equal(response.status, 200);
      const metadata = assertNumericCosts(await lastRecord(gw));
      assert.ok((metadata['llm_output_token'] as number) > 0, 'output counted from the delivered text');
      assert.equal(metadata['usage_estimated'], true);
    });

    it('stream: an upstream reset mid-stream resets the client, keeps numeric costs and counts an error', async () => {
      const before = await requestsWithError('client_disconnect');
      mock.setScript({ kind: 'reset-mid-body', body: GOOD.slice(0, 2).join('') });
      await assert.rejects(chat(true));
      const record = await lastRecord(gw);
      assert.equal(record.reset, true);
      const metadata = assertNumericCosts(record);
      assert.ok((metadata['llm_output_token'] as number) >= 0);
      await waitForEmptyRegistry(gw);
      // ext_proc sees the same stream end for a client that left and an upstream reset: one request, error-typed.
      assert.equal(await requestsWithError('client_disconnect'), before + 1, 'the cut request is counted with an error type');
    });

    it('translated stream (Anthropic): an error event after the 200 ends the OpenAI stream with an error', async () => {
      mock.setScript({ kind: 'sse', chunks: [...ANTHROPIC_START, 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'] });
      const response = await chat(true, 'claude');
      const events = assertStreamEndsWithError(response, /Overloaded/);
      assert.equal(contentOf(events.slice(0, -1)), 'Once upon');
      const metadata = assertNumericCosts(await lastRecord(gw));
      assert.equal(metadata['llm_input_token'], 9);
    });

    it('translated stream (Anthropic): a stream cut before message_stop ends with an error event', async () => {
      mock.setScript({ kind: 'sse', chunks: ANTHROPIC_START });
      assertStreamEndsWithError(await chat(true, 'claude'));
      assertNumericCosts(await lastRecord(gw));
    });

    it('translated (Anthropic): HTML with 200 and an empty 200 are 502 errors in OpenAI format', async () => {
      mock.setScript({ kind: 'raw', status: 200, body: '<html>proxy</html>', headers: { 'content-type': 'text/html' } });
      assertOpenAIError(await chat(false, 'claude'), 502);
      mock.setScript({ kind: 'raw', status: 200, body: '', headers: { 'content-type': 'application/json' } });
      assertOpenAIError(await chat(false, 'claude'), 502);
      assertNumericCosts(await lastRecord(gw));
    });

    it('after all of that the service still serves and holds no exchange', async () => {
      mock.setScript({ kind: 'json', body: JSON.parse(COMPLETION) as unknown });
      await assertStillServing(gw);
      await gw.envoy.settled();
      await waitForEmptyRegistry(gw);
    });
  });
}
