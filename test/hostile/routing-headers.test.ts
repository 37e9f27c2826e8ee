/**
 * Spoofed and conflicting routing headers end to end, in both upstreamFilter modes: a client's `x-ai-eg-model` /
 * `x-ai-eg-backend` never steer routing or the rate-limit key (the body's model decides, the header is
 * overwritten, never appended to); metadata-looking headers are ignored; concurrent requests sharing one
 * `x-request-id` never share state (state is keyed by the service's own id) and each gets its own usage.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import type { FilterRequestView } from '../envoy/hooks.js';
import type { RequestRecord } from '../envoy/types.js';
import { startHttpMock, sseEvent, type HttpMock, type MockReply, type RecordedRequest } from '../mocks/http-mock.js';
import { assertNumericCosts, assertOpenAIError, hostileConfig, lastRecord, MAIN_KEY, NS, postChat, rawRequest, waitForEmptyRegistry } from './hostile-helpers.js';

/** Usage derived from the request (`n=<N>` in the first message): every answer is distinguishable. */
function usageFor(request: RecordedRequest): number {
  const match = /n=(\d+)/.exec(request.text());
  return match ? Number(match[1]) : 1;
}

function echoUsage(request: RecordedRequest): MockReply {
  const n = usageFor(request);
  const body = request.json() as { stream?: boolean; model?: string };
  const model = body.model ?? 'unknown';
  const usage = { prompt_tokens: n, completion_tokens: 2, total_tokens: n + 2 };
  if (body.stream === true) {
    const chunk = (delta: object, finish: string | null) => sseEvent({ id: `c${n}`, object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }] });
    return {
      kind: 'sse',
      delayMs: 3 + (n % 7),
      chunks: [chunk({ role: 'assistant', content: '' }, null), chunk({ content: `n=${n}` }, null), chunk({}, 'stop'), sseEvent({ id: `c${n}`, object: 'chat.completion.chunk', created: 1, model, choices: [], usage }), 'data: [DONE]\n\n'],
    };
  }
  return { kind: 'json', body: { id: `c${n}`, object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: `n=${n}` }, finish_reason: 'stop' }], usage } };
}

function header(record: RequestRecord, name: string): string[] {
  return record.routedHeaders.filter(([key]) => key === name).map(([, value]) => value);
}

for (const upstreamFilter of [true, false]) {
  describe(`spoofed routing headers and shared request ids (upstreamFilter: ${upstreamFilter})`, () => {
    let gw: Gateway;
    let main: HttpMock;
    let open: HttpMock;
    const rateLimitViews: FilterRequestView[] = [];

    before(async () => {
      [main, open] = await Promise.all([startHttpMock(echoUsage), startHttpMock(echoUsage)]);
      gw = await startGateway({
        configYaml: hostileConfig({ upstreamFilter }),
        env: { MAIN_KEY },
        upstreams: { main: main.url, open: open.url },
        rateLimit: {
          onRequest: async (view) => {
            rateLimitViews.push(view);
            return { overLimit: false };
          },
          onStreamDone: () => undefined,
        },
      });
    });
    after(async () => {
      await gw.close();
      await Promise.all([main.close(), open.close()]);
    });

    const body = (model: string, n = 1, stream = false) => JSON.stringify({ model, stream, messages: [{ role: 'user', content: `n=${n}` }] });

    async function expectRoutedToMain(headers: Record<string, string | string[]>): Promise<RequestRecord> {
      const [mainBefore, openBefore] = [main.requests.length, open.requests.length];
      const response = await rawRequest(gw.url, { path: '/v1/chat/completions', body: body('gpt-test', 5), headers: { 'content-type': 'application/json', ...headers } });
      assert.equal(response.status, 200, response.text.slice(0, 200));
      assert.equal(main.requests.length, mainBefore + 1, 'the body model routed the request');
      assert.equal(open.requests.length, openBefore, 'the spoofed header did not');
      const record = await lastRecord(gw);
      assert.deepEqual(header(record, 'x-ai-eg-model'), ['gpt-test'], 'overwritten, never appended to');
      assert.deepEqual(header(record, 'x-ai-eg-backend'), upstreamFilter ? [] : ['main']);
      assert.equal(record.routeName, upstreamFilter ? 'gpt-test' : 'main');
      const view = rateLimitViews.at(-1);
      assert.equal(view?.headers.get('x-ai-eg-model'), 'gpt-test', 'the rate-limit key comes from the body');
      assert.equal(view?.headers.get('x-ai-eg-backend'), upstreamFilter ? undefined : 'main');
      const upstream = main.requests.at(-1);
      assert.notEqual(upstream?.headers['x-ai-eg-model'], 'open-model');
      assert.equal(assertNumericCosts(record)['llm_input_token'], 5);
      return record;
    }

    it('a client x-ai-eg-model naming another model is overwritten by the body model', async () => {
      await expectRoutedToMain({ 'x-ai-eg-model': 'open-model' });
    });

    it('a client x-ai-eg-backend naming another backend cannot pick it', async () => {
      await expectRoutedToMain({ 'x-ai-eg-backend': 'open' });
    });

    it('repeated and combined spoofed headers collapse to the one value the service sets', async () => {
      await expectRoutedToMain({ 'x-ai-eg-model': ['open-model', 'gpt-test', 'open-model'], 'x-ai-eg-backend': ['open', 'open'] });
    });

    it('spoofed headers with an unknown body model: 404, nothing routed', async () => {
      const [mainBefore, openBefore] = [main.requests.length, open.requests.length];
      const response = await postChat(gw, body('no-such-model'), { 'x-ai-eg-model': 'gpt-test', 'x-ai-eg-backend': 'main' });
      assertOpenAIError(response, 404);
      assert.equal(main.requests.length + open.requests.length, mainBefore + openBefore);
      assertNumericCosts(await lastRecord(gw));
    });

    it('spoofed headers with a malformed body: 400, nothing routed', async () => {
      const [mainBefore, openBefore] = [main.requests.length, open.requests.length];
      const response = await postChat(gw, '{"model":"open-mo', { 'x-ai-eg-model': 'open-model', 'x-ai-eg-backend': 'open' });
      assertOpenAIError(response, 400);
      assert.equal(main.requests.length + open.requests.length, mainBefore + openBefore);
    });

    it('metadata-looking client headers are ignored: exchange id, costs and backend come from the service', async () => {
      const spoof = {
        llm_extproc_exchange_id: 'spoofed-exchange',
        'x-llm-extproc-exchange-id': 'spoofed-exchange',
        llm_input_token: '999999',
        'x-llm-input-token': '999999',
        backend_name: 'open',
        model_name_override: 'evil',
        'io.envoy.ai_gateway': 'llm_total_token=0',
      };
      const record = await expectRoutedToMain(spoof);
      const metadata = assertNumericCosts(record);
      assert.deepEqual([metadata['llm_input_token'], metadata['llm_output_token'], metadata['llm_total_token']], [5, 2, 7]);
      assert.equal(metadata['backend_name'], 'main');
      assert.equal(metadata['model_name_override'], 'gpt-test-upstream');
      assert.match(String(metadata['llm_extproc_exchange_id']), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    });

    it('60 concurrent requests sharing one x-request-id keep separate state and usage', async () => {
      const firstRecord = gw.envoy.requests.length;
      const requests = Array.from({ length: 60 }, (_, index) => {
        const n = 100 + index;
        const model = index % 3 === 0 ? 'open-model' : 'gpt-test';
        return postChat(gw, body(model, n, index % 2 === 0), { 'x-request-id': 'same-id-for-everyone', 'x-test-n': String(n) }).then((response) => ({ n, response }));
      });
      const results = await Promise.all(requests);
      for (const { n, response } of results) {
        assert.equal(response.status, 200);
        assert.ok(response.text.includes(`n=${n}`), `request ${n} got its own answer`);
      }
      await gw.envoy.settled();
      const records = gw.envoy.requests.slice(firstRecord);
      assert.equal(records.length, 60);
      const ids = new Set<unknown>();
      for (const record of records) {
        const n = Number(header(record, 'x-test-n')[0]);
        const metadata = assertNumericCosts(record);
        assert.equal(metadata['llm_input_token'], n, `request ${n} was charged its own usage`);
        assert.equal(metadata['llm_total_token'], n + 2);
        ids.add(metadata['llm_extproc_exchange_id']);
      }
      assert.equal(ids.size, 60, 'one exchange per request, whatever the client id');
      await waitForEmptyRegistry(gw);
    });

    it(`writes usage under ${NS} only from the service (a client header named like the namespace is inert)`, async () => {
      const record = await expectRoutedToMain({ [NS]: 'llm_total_token', 'x-envoy-ai-gateway': 'backend_name=open', llm_total_token_reserve: '5' });
      const serviceKeys = new Set(['llm_extproc_exchange_id', 'llm_input_token', 'llm_output_token', 'llm_total_token', 'backend_name', 'model_name_override', 'response_model', 'usage_estimated', 'usage_clamped', 'content_length', 'client_api']);
      for (const key of Object.keys(record.metadata[NS] ?? {})) assert.ok(serviceKeys.has(key), `unexpected metadata key ${key}`);
    });
  });
}
