/**
 * Upstream-side caps end to end, in both upstreamFilter modes, with small limits so each case is cheap:
 * - a non-streamed answer larger than limits.maxResponseBodyBytes;
 * - compression bombs (concatenated gzip members, deflate, br) stopped while inflating, buffered and streamed
 *   (limits.maxDecompressedBodyBytes);
 * - one SSE event or one AWS event-stream frame larger than limits.maxStreamEventBytes (OpenAI passthrough,
 *   OpenAI client on an Anthropic backend, Anthropic client on an Anthropic backend, Bedrock Converse).
 * Each is a 502 in the client's format (buffered) or a 200 stream ending with an error event, is counted in
 * llm_extproc_errors_total under its own reason, and leaves numeric costs in the metadata.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { encodeEventStream } from '../helpers/aws-eventstream.js';
import { startHttpMock, sseEvent, type HttpMock } from '../mocks/http-mock.js';
import { assertAnthropicError, assertNumericCosts, assertOpenAIError, lastRecord, postChat, rawRequest, sampleSum, waitForEmptyRegistry, type RawResponse } from './hostile-helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const LIMITS = { maxResponseBodyBytes: 256 * KiB, maxDecompressedBodyBytes: 512 * KiB, maxStreamEventBytes: 64 * KiB };

const MODEL = 'gpt-test-upstream';
const chunk = (delta: object, finish: string | null = null) => sseEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] });
const GOOD = [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hello' }), chunk({}, 'stop'), 'data: [DONE]\n\n'];
const completion = (content: string) =>
  JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: MODEL, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });

const zeros = Buffer.alloc(MiB);
/** 8 concatenated gzip members of 1 MiB of zeros each: ~8 KB on the wire, 8 MiB inflated. */
const GZIP_BOMB = Buffer.concat(Array.from({ length: 8 }, () => zlib.gzipSync(zeros)));
const BOMBS: Record<string, Buffer> = { gzip: GZIP_BOMB, deflate: zlib.deflateSync(Buffer.alloc(8 * MiB)), br: zlib.brotliCompressSync(Buffer.alloc(8 * MiB)) };

const ANTHROPIC_HEADERS = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
const anthropicEvent = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const ANTHROPIC_START = [
  anthropicEvent('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [], stop_reason: null, usage: { input_tokens: 9, output_tokens: 1 } } }),
  anthropicEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
];
const anthropicDelta = (text: string) => anthropicEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
const ANTHROPIC_END = [anthropicEvent('content_block_stop', { index: 0 }), anthropicEvent('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } }), anthropicEvent('message_stop', {})];

const converseFrame = (eventType: string, body: object) => ({ headers: { ':event-type': eventType, ':message-type': 'event', ':content-type': 'application/json' }, body });

function config(upstreamFilter: boolean): string {
  return `
backends:
  - { name: main, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-caps-main } } }
  - { name: anthropic, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: sk-ant-caps } } }
  - name: bedrock
    schema: AWSBedrock
    endpoint: https://bedrock-runtime.us-east-1.amazonaws.com
    auth: { aws: { region: us-east-1, accessKeyId: { value: AKIDCAPS }, secretAccessKey: { value: caps-secret } } }
models:
  - { name: gpt-test, backends: [{ backend: main, modelNameOverride: ${MODEL} }] }
  - { name: claude, backends: [{ backend: anthropic, modelNameOverride: claude-x }] }
  - { name: m-bedrock, backends: [{ backend: bedrock, modelNameOverride: anthropic.claude-3-5-sonnet-20240620-v1:0 }] }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken }
envoy: { upstreamFilter: ${upstreamFilter} }
limits: { maxResponseBodyBytes: ${LIMITS.maxResponseBodyBytes}, maxDecompressedBodyBytes: ${LIMITS.maxDecompressedBodyBytes}, maxStreamEventBytes: ${LIMITS.maxStreamEventBytes} }
`;
}

/** The data payloads of an SSE body. */
function sseData(text: string): string[] {
  return text
    .split(/\n\n/)
    .map((block) => block.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trimStart()).join('\n'))
    .filter((data) => data !== '');
}

/** A 200 stream whose last event is the service's error with this code (OpenAI or Anthropic shape). */
function assertStreamEndsWithCap(response: RawResponse, code: string, api: 'openai' | 'anthropic' = 'openai'): void {
  assert.equal(response.status, 200, response.text.slice(0, 300));
  const events = sseData(response.text);
  const last = JSON.parse(events.at(-1) ?? '{}') as { type?: string; error?: { message?: string; type?: string; code?: string } };
  if (api === 'anthropic') {
    assert.equal(last.type, 'error', `the last event is an Anthropic error: ${events.at(-1)?.slice(0, 200)}`);
    assert.equal(last.error?.type, 'api_error');
    assert.match(response.text, /event: error\n/);
  } else {
    assert.equal(last.error?.code, code, `the last event is the ${code} error: ${events.at(-1)?.slice(0, 200)}`);
    assert.equal(last.error?.type, 'server_error');
  }
  assert.match(last.error?.message ?? '', /limits\.max/);
  assert.ok(!events.includes('[DONE]'));
}

for (const upstreamFilter of [true, false]) {
  describe(`upstream caps (upstreamFilter: ${upstreamFilter})`, { timeout: 120_000 }, () => {
    let gw: Gateway;
    let mock: HttpMock;

    before(async () => {
      mock = await startHttpMock({ kind: 'sse', chunks: GOOD });
      gw = await startGateway({ configYaml: config(upstreamFilter), upstreams: { main: mock.url, anthropic: mock.url, bedrock: mock.url } });
    });
    after(async () => {
      await gw.close();
      await mock.close();
    });

    const chat = (stream: boolean, model = 'gpt-test') => postChat(gw, JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }));
    const messages = (stream: boolean) =>
      rawRequest(gw.url, { path: '/anthropic/v1/messages', body: JSON.stringify({ model: 'claude', max_tokens: 64, stream, messages: [{ role: 'user', content: 'hi' }] }), headers: ANTHROPIC_HEADERS });
    const errors = async (reason: string) => sampleSum(await gw.metrics.metrics(), 'llm_extproc_errors_total', [`reason="${reason}"`]);

    /** Runs one request and checks it was counted once under `reason`, with numeric costs left for Envoy. */
    async function counted(reason: string, send: () => Promise<RawResponse>): Promise<RawResponse> {
      const before = await errors(reason);
      const response = await send();
      assertNumericCosts(await lastRecord(gw));
      assert.equal(await errors(reason), before + 1, `one llm_extproc_errors_total{reason="${reason}"}`);
      return response;
    }

    it('buffered: an answer over maxResponseBodyBytes is a 502 upstream_response_too_large', { timeout: 20_000 }, async () => {
      mock.setScript({ kind: 'json', body: completion('x'.repeat(LIMITS.maxResponseBodyBytes)) });
      const response = await counted('upstream_response_too_large', () => chat(false));
      const error = assertOpenAIError(response, 502, /larger than 256 KiB \(limits\.maxResponseBodyBytes\)/);
      assert.equal(error['code'], 'upstream_response_too_large');
    });

    it('buffered: an answer just under the limit passes', { timeout: 20_000 }, async () => {
      mock.setScript({ kind: 'json', body: completion('y'.repeat(LIMITS.maxResponseBodyBytes - 1000)) });
      const response = await chat(false);
      assert.equal(response.status, 200, response.text.slice(0, 200));
      assert.equal(assertNumericCosts(await lastRecord(gw))['llm_total_token'], 10);
    });

    for (const [encoding, bomb] of Object.entries(BOMBS)) {
      it(`buffered: a ${encoding} bomb (${bomb.length} bytes -> 8 MiB) stops while inflating: 502 upstream_decompressed_too_large`, { timeout: 20_000 }, async () => {
        mock.setScript({ kind: 'raw', status: 200, body: bomb, headers: { 'content-type': 'application/json', 'content-encoding': encoding } });
        const response = await counted('upstream_decompressed_too_large', () => chat(false));
        const error = assertOpenAIError(response, 502, /grew past 256 KiB while being decompressed \(limits\.maxResponseBodyBytes\)/);
        assert.equal(error['code'], 'upstream_decompressed_too_large');
        assert.equal(response.headers['content-encoding'], undefined);
      });
    }

    it('buffered: a gzip answer that inflates to under the limit passes', { timeout: 20_000 }, async () => {
      mock.setScript({ kind: 'json', body: completion('z'.repeat(100 * KiB)), encoding: 'gzip' });
      const response = await chat(false);
      assert.equal(response.status, 200, response.text.slice(0, 200));
      assert.equal((JSON.parse(response.text) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content.length, 100 * KiB);
    });

    it('buffered: a gzip bomb under an error status is the same 502 (never inflated whole to be translated)', { timeout: 20_000 }, async () => {
      mock.setScript({ kind: 'raw', status: 500, body: GZIP_BOMB, headers: { 'content-type': 'text/html', 'content-encoding': 'gzip' } });
      assertOpenAIError(await counted('upstream_decompressed_too_large', () => chat(false)), 502);
    });

    it('buffered, Anthropic client: a bomb is a 502 in Anthropic error shape', { timeout: 20_000 }, async () => {
      mock.setScript({ kind: 'raw', status: 200, body: GZIP_BOMB, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
      const error = assertAnthropicError(await counted('upstream_decompressed_too_large', () => messages(false)), 502);
      assert.equal(error['type'], 'api_error');
      assert.match(String(error['message']), /decompressed/);
    });

    it('streamed: a gzip stream that inflates past maxDecompressedBodyBytes ends with an error event', { timeout: 20_000 }, async () => {
      // Blank lines: nothing for the SSE decoder to hold, so only the decompression limit can stop it.
      mock.setScript({ kind: 'sse', chunks: [GOOD[0] as string, Buffer.alloc(2 * MiB, '\n'), ...GOOD.slice(1)], encoding: 'gzip' });
      assertStreamEndsWithCap(await counted('upstream_decompressed_too_large', () => chat(true)), 'upstream_decompressed_too_large');
    });

    it('streamed: a raw gzip bomb body (concatenated members) ends with an error event', { timeout: 20_000 }, async () => {
      mock.setScript({ kind: 'raw', status: 200, body: GZIP_BOMB, chunked: true, headers: { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' } });
      const response = await counted('upstream_decompressed_too_large', () => chat(true));
      assertStreamEndsWithCap(response, 'upstream_decompressed_too_large');
      assert.ok(response.body.length < 64 * KiB, `the client got no inflated bulk (${response.body.length} bytes)`);
    });

    it('streamed: one SSE event over maxStreamEventBytes ends the stream with an error event', { timeout: 20_000 }, async () => {
      mock.setScript({ kind: 'sse', chunks: [GOOD[0] as string, chunk({ content: 'q'.repeat(LIMITS.maxStreamEventBytes) }), ...GOOD.slice(1)] });
      const response = await counted('upstream_event_too_large', () => chat(true));
      assertStreamEndsWithCap(response, 'upstream_event_too_large');
      assert.ok(!response.text.includes('q'.repeat(1000)), 'nothing of the oversized event went out');
    });

    it('streamed: many events just under the limit pass whole', { timeout: 20_000 }, async () => {
      const content = 'w'.repeat(LIMITS.maxStreamEventBytes - 300);
      mock.setScript({ kind: 'sse', chunks: [GOOD[0] as string, ...Array.from({ length: 8 }, () => chunk({ content })), ...GOOD.slice(2)] });
      const response = await chat(true);
      const events = sseData(response.text);
      assert.equal(events.at(-1), '[DONE]');
      assert.equal(events.length, 11);
    });

    it('streamed: a gzip chunk that inflates to ~390 KiB of small events (under the limit) is translated in slices, all of it', { timeout: 20_000 }, async () => {
      const burst = Array.from({ length: 3000 }, (_, index) => chunk({ content: `w${index} ` })).join('');
      assert.ok(burst.length > 2 * 128 * KiB && burst.length < LIMITS.maxDecompressedBodyBytes);
      mock.setScript({ kind: 'sse', chunks: [GOOD[0] as string, burst, ...GOOD.slice(2)], encoding: 'gzip' });
      const response = await chat(true);
      const events = sseData(response.text);
      assert.equal(events.length, 3003);
      assert.equal(events.at(-1), '[DONE]');
      assert.equal(JSON.parse(events[3000] as string).choices[0].delta.content, 'w2999 ');
    });

    it('streamed, OpenAI client on an Anthropic backend: an oversized event ends the translated stream with an error event', { timeout: 20_000 }, async () => {
      mock.setScript({ kind: 'sse', chunks: [...ANTHROPIC_START, anthropicDelta('Once'), anthropicDelta('r'.repeat(LIMITS.maxStreamEventBytes)), ...ANTHROPIC_END] });
      assertStreamEndsWithCap(await counted('upstream_event_too_large', () => chat(true, 'claude')), 'upstream_event_too_large');
    });

    it('streamed, Anthropic client on an Anthropic backend: an oversized event ends with an Anthropic `event: error`', { timeout: 20_000 }, async () => {
      mock.setScript({ kind: 'sse', chunks: [...ANTHROPIC_START, anthropicDelta('s'.repeat(LIMITS.maxStreamEventBytes)), ...ANTHROPIC_END] });
      assertStreamEndsWithCap(await counted('upstream_event_too_large', () => messages(true)), 'upstream_event_too_large', 'anthropic');
    });

    it('streamed, Bedrock Converse: an event-stream frame over the limit ends the stream with an error event', { timeout: 20_000 }, async () => {
      const frames = encodeEventStream([
        converseFrame('messageStart', { role: 'assistant' }),
        converseFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi' } }),
        converseFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'b'.repeat(LIMITS.maxStreamEventBytes) } }),
        converseFrame('messageStop', { stopReason: 'end_turn' }),
      ]);
      mock.setScript({ kind: 'raw', status: 200, body: frames, chunked: true, headers: { 'content-type': 'application/vnd.amazon.eventstream' } });
      assertStreamEndsWithCap(await counted('upstream_event_too_large', () => chat(true, 'm-bedrock')), 'upstream_event_too_large');
    });

    it('after all of that the service still serves and holds no exchange', { timeout: 20_000 }, async () => {
      mock.setScript({ kind: 'sse', chunks: GOOD });
      const response = await chat(true);
      assert.equal(sseData(response.text).at(-1), '[DONE]');
      await gw.envoy.settled();
      await waitForEmptyRegistry(gw);
    });
  });
}
