/**
 * Memory for one request is bounded by the caps: the shipped service runs as a child process with the default
 * limits (maxResponseBodyBytes 32 MiB, maxDecompressedBodyBytes 64 MiB), and its peak RSS (VmHWM, reset before each
 * case) is read from /proc while gzip bombs of 2 GiB each (32 concatenated members of 64 MiB of zeros, 2 MB on
 * the wire) are answered, buffered and streamed, one at a time and four at once.
 *
 * Stated bound: peak RSS grows by less than 192 MiB for one bomb at a time, and less than 384 MiB for four at once,
 * over the RSS measured just before. Without the caps each bomb inflates to 2 GiB (the issue measured a 4.3 GB peak).
 * Linux only (/proc); elsewhere the suite is skipped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { startHttpMock, sseEvent, type HttpMock, type MockReply } from '../mocks/http-mock.js';
import { processMemory, resetPeakRss, startChildGateway, type ChildGateway } from './child-gateway.js';
import { rawRequest, type RawResponse } from './hostile-helpers.js';

const MiB = 1024 * 1024;
const ONE_AT_A_TIME_BOUND = 192 * MiB;
const FOUR_AT_ONCE_BOUND = 384 * MiB;
const IS_LINUX = process.platform === 'linux';

const CONFIG = `
backends: [{ name: main, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-memory-test } } }]
models: [{ name: gpt-test, backends: [{ backend: main }] }]
costs: [{ metadataKey: llm_total_token, type: TotalToken }]
`;

const COMPLETION = { id: 'x', object: 'chat.completion', created: 1, model: 'gpt-test', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } };
const chunk = (delta: object, finish: string | null = null) => sseEvent({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-test', choices: [{ index: 0, delta, finish_reason: finish }] });

describe('memory per request is bounded by the caps (child process, peak RSS)', { skip: !IS_LINUX && 'needs /proc', timeout: 300_000 }, () => {
  let mock: HttpMock;
  let gateway: ChildGateway;
  let bomb: Buffer;

  before(async () => {
    // 64 MiB of zeros is 64 KB of gzip; 32 members inflate to 2 GiB.
    const member = zlib.gzipSync(Buffer.alloc(64 * MiB));
    bomb = Buffer.concat(Array.from({ length: 32 }, () => member));
    mock = await startHttpMock((request): MockReply => {
      const body = request.json() as { stream?: boolean; user?: string };
      if (body.user === 'bomb') {
        const headers = { 'content-type': body.stream ? 'text/event-stream' : 'application/json', 'content-encoding': 'gzip' };
        return { kind: 'raw', status: 200, body: bomb, chunked: body.stream === true, headers };
      }
      if (body.stream) return { kind: 'sse', chunks: [chunk({ role: 'assistant', content: 'ok' }), chunk({}, 'stop'), 'data: [DONE]\n\n'], encoding: 'gzip' };
      return { kind: 'json', body: COMPLETION, encoding: 'gzip' };
    });
    gateway = await startChildGateway({ configYaml: CONFIG, upstreams: { main: mock.url } });
    // Warm up: the paths the bombs take, so lazily built state is in place before the peak is measured.
    for (let index = 0; index < 5; index += 1) {
      assert.equal((await chat(false, 'warm')).status, 200);
      assert.equal((await chat(true, 'warm')).status, 200);
    }
  });
  after(async () => {
    await gateway?.close();
    await mock?.close();
  });

  function chat(stream: boolean, user: string): Promise<RawResponse> {
    return rawRequest(gateway.url, { path: '/v1/chat/completions', body: JSON.stringify({ model: 'gpt-test', stream, user, messages: [{ role: 'user', content: 'hi' }] }), headers: { 'content-type': 'application/json' } });
  }

  function assertRefused(response: RawResponse, stream: boolean): void {
    if (stream) {
      assert.equal(response.status, 200);
      assert.match(response.text, /"code":"upstream_decompressed_too_large"/);
      assert.ok(response.body.length < 64 * 1024, `the client got no inflated bulk (${response.body.length} bytes)`);
    } else {
      assert.equal(response.status, 502, response.text.slice(0, 200));
      assert.match(response.text, /"code":"upstream_decompressed_too_large"/);
    }
  }

  /** Runs `send`, returns how far the child's peak RSS rose over its RSS just before. */
  async function peakGrowth(send: () => Promise<void>): Promise<{ growth: number; before: number; peak: number }> {
    resetPeakRss(gateway.pid);
    const before = processMemory(gateway.pid).rss;
    await send();
    await gateway.envoy.settled();
    const { peak } = processMemory(gateway.pid);
    return { growth: peak - before, before, peak };
  }

  const report = (name: string, result: { growth: number; before: number; peak: number }) =>
    console.log(`${name}: RSS ${(result.before / MiB).toFixed(0)} MiB before, peak ${(result.peak / MiB).toFixed(0)} MiB (+${(result.growth / MiB).toFixed(0)} MiB)`);

  for (const stream of [false, true]) {
    const kind = stream ? 'streamed' : 'buffered';
    it(`${kind}: three 2 GiB gzip bombs in a row raise the peak RSS by less than ${ONE_AT_A_TIME_BOUND / MiB} MiB`, { timeout: 120_000 }, async () => {
      const result = await peakGrowth(async () => {
        for (let index = 0; index < 3; index += 1) assertRefused(await chat(stream, 'bomb'), stream);
      });
      report(`${kind}, one at a time`, result);
      assert.ok(result.growth < ONE_AT_A_TIME_BOUND, `peak grew by ${(result.growth / MiB).toFixed(0)} MiB`);
    });
  }

  it(`four bombs at once (two buffered, two streamed) raise the peak RSS by less than ${FOUR_AT_ONCE_BOUND / MiB} MiB`, { timeout: 120_000 }, async () => {
    const result = await peakGrowth(async () => {
      const responses = await Promise.all([chat(false, 'bomb'), chat(true, 'bomb'), chat(false, 'bomb'), chat(true, 'bomb')]);
      responses.forEach((response, index) => assertRefused(response, index % 2 === 1));
    });
    report('four at once', result);
    assert.ok(result.growth < FOUR_AT_ONCE_BOUND, `peak grew by ${(result.growth / MiB).toFixed(0)} MiB`);
  });

  it('afterwards the service still answers (its RSS is reported)', { timeout: 60_000 }, async () => {
    assert.equal((await chat(false, 'after')).status, 200);
    assert.equal((await chat(true, 'after')).status, 200);
    console.log(`RSS after the bombs: ${(processMemory(gateway.pid).rss / MiB).toFixed(0)} MiB`);
  });
});
