/**
 * Client disconnects end to end, in both upstreamFilter modes: aborting mid-stream (after the first chunk),
 * while the upstream has not answered yet, or many at once never crashes the service; the exchange registry
 * empties, the request is counted with an error type, the metadata keeps numeric costs, and later requests work.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { waitUntil } from '../helpers/wait-until.js';
import { startHttpMock, sseEvent, type HttpMock, type MockReply } from '../mocks/http-mock.js';
import { assertNumericCosts, assertStillServing, hostileConfig, MAIN_KEY, sampleSum, waitForEmptyRegistry } from './hostile-helpers.js';

const chunk = (content: string) => sseEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-test-upstream', choices: [{ index: 0, delta: { content }, finish_reason: null }] });

/** A slow stream: one chunk every 15 ms, ending early when the connection goes away. */
function slowStream(chunks: number): MockReply {
  return {
    kind: 'custom',
    async handle(response) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let index = 0; index < chunks && !response.destroyed; index += 1) {
        response.write(chunk(`word${index} `));
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      if (!response.destroyed) response.end('data: [DONE]\n\n');
    },
  };
}
/** Long enough (3 s) that every abort happens mid-stream. */
const SLOW_STREAM = slowStream(200);

const COMPLETION = {
  id: 'x',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-test-upstream',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
};

async function streamActiveGauge(gw: Gateway): Promise<number> {
  return sampleSum(await gw.metrics.metrics(), 'llm_extproc_streams_active');
}

async function waitForGaugeZero(gw: Gateway): Promise<void> {
  await waitUntil(async () => (await streamActiveGauge(gw)) === 0, 'every ext_proc stream is closed');
}

for (const upstreamFilter of [true, false]) {
  describe(`client disconnect (upstreamFilter: ${upstreamFilter})`, () => {
    let gw: Gateway;
    let mock: HttpMock;

    before(async () => {
      mock = await startHttpMock(SLOW_STREAM);
      gw = await startGateway({ configYaml: hostileConfig({ upstreamFilter }), env: { MAIN_KEY }, upstreams: { main: mock.url, open: mock.url } });
    });
    after(async () => {
      await gw.close();
      await mock.close();
    });

    const disconnects = async () => sampleSum(await gw.metrics.metrics(), 'gen_ai_server_request_duration_seconds_count', ['error_type="client_disconnect"']);

    /** Starts a streaming request and aborts it once `chunks` body chunks arrived (0: right after the headers). */
    async function abortAfter(chunks: number): Promise<string> {
      const controller = new AbortController();
      const response = await fetch(`${gw.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'tell me a long story' }] }),
        signal: controller.signal,
      });
      assert.equal(response.status, 200);
      const reader = response.body?.getReader();
      assert.ok(reader);
      let received = '';
      for (let index = 0; index < chunks; index += 1) {
        const { value, done } = await reader.read();
        if (done) break;
        received += Buffer.from(value).toString();
      }
      controller.abort();
      await reader.read().catch(() => undefined);
      return received;
    }

    it('aborting after the first chunk: no crash, registry empties, counted as client_disconnect, numeric costs', async () => {
      mock.setScript(SLOW_STREAM);
      const before = await disconnects();
      const received = await abortAfter(1);
      assert.match(received, /word0/);
      const record = gw.envoy.requests.at(-1);
      await gw.envoy.settled();
      assert.equal(record?.reset, true, 'the stand-in saw the client go away');
      await waitForEmptyRegistry(gw);
      assert.equal(await disconnects(), before + 1);
      const metadata = assertNumericCosts(record);
      assert.equal(metadata['backend_name'], 'main');
      await waitForGaugeZero(gw);
    });

    it('aborting right after the response headers', async () => {
      mock.setScript(SLOW_STREAM);
      const before = await disconnects();
      await abortAfter(0);
      await gw.envoy.settled();
      await waitForEmptyRegistry(gw);
      assert.equal(await disconnects(), before + 1);
      assertNumericCosts(gw.envoy.requests.at(-1));
    });

    it('aborting while the upstream has not answered yet (buffered request)', async () => {
      mock.setScript({ kind: 'hang' });
      const before = await disconnects();
      const controller = new AbortController();
      const pending = fetch(`${gw.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }),
        signal: controller.signal,
      });
      const sent = mock.requests.length;
      await mock.waitForRequests(sent + 1);
      controller.abort();
      await assert.rejects(pending);
      await gw.envoy.settled();
      await waitForEmptyRegistry(gw);
      assert.equal(await disconnects(), before + 1);
      assertNumericCosts(gw.envoy.requests.at(-1));
    });

    it('40 concurrent streams aborted at random points leave nothing behind', async () => {
      mock.setScript(SLOW_STREAM);
      const before = await disconnects();
      await Promise.all(Array.from({ length: 40 }, (_, index) => abortAfter(1 + (index % 5))));
      await gw.envoy.settled();
      await waitForEmptyRegistry(gw);
      await waitForGaugeZero(gw);
      assert.equal(await disconnects(), before + 40);
    });

    it('later requests work, streamed and buffered', async () => {
      mock.setScript((request) => ((request.json() as { stream?: boolean }).stream ? slowStream(20) : { kind: 'json', body: COMPLETION }));
      await assertStillServing(gw);
      const response = await fetch(`${gw.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const text = await response.text();
      assert.match(text, /word19 /);
      assert.match(text, /data: \[DONE\]/);
      await gw.envoy.settled();
      await waitForEmptyRegistry(gw);
    });
  });
}
