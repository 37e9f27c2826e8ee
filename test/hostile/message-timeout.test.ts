/**
 * Large bodies against a short ext_proc message timeout, end to end in both upstreamFilter modes, with
 * reserve-then-settle costs so token estimates run in the request phase: 2 MB bodies on the passthrough,
 * translated, streaming, count_tokens and Anthropic-ingress paths are answered before the stand-in's message
 * timer fires, and arrive upstream whole. The timer here is the smallest envoy.messageTimeout the config accepts
 * (10 s; the shipped default is 30 s), so a loaded machine does not turn this into a timing test. How fast the
 * request phase really is (against Envoy's own 200 ms default) is `npm run bench`'s business; it is printed here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startHttpMock, sseEvent, type HttpMock, type MockReply, type RecordedRequest } from '../mocks/http-mock.js';
import { assertNumericCosts, hostileConfig, lastRecord, MAIN_KEY, rawRequest } from './hostile-helpers.js';

/** The smallest envoy.messageTimeout the config accepts (src/config/schema.ts). */
const MESSAGE_TIMEOUT_MS = 10_000;
const TWO_MB = 2 * 1024 * 1024;
const PROSE = 'The committee reviewed the quarterly budget and approved the revised plan. ';
const text = (length: number) => PROSE.repeat(Math.ceil(length / PROSE.length)).slice(0, length);

function reply(request: RecordedRequest): MockReply {
  if (request.path === '/v1/messages/count_tokens') return { kind: 'json', body: { input_tokens: 500000 } };
  if (request.path.startsWith('/v1/messages')) {
    return { kind: 'json', body: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 500000, output_tokens: 1 } } };
  }
  const body = request.json() as { stream?: boolean; model?: string };
  const usage = { prompt_tokens: 500000, completion_tokens: 1, total_tokens: 500001 };
  if (body.stream === true) {
    const chunk = (delta: object, finish: string | null) => sseEvent({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] });
    return { kind: 'sse', chunks: [chunk({ role: 'assistant', content: 'ok' }, null), chunk({}, 'stop'), sseEvent({ id: 'c', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage }), 'data: [DONE]\n\n'] };
  }
  return { kind: 'json', body: { id: 'x', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage } };
}

const CASES: Array<{ name: string; path: string; body: () => string; upstream: boolean }> = [
  { name: 'OpenAI passthrough with a model override', path: '/v1/chat/completions', body: () => JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: text(TWO_MB) }] }), upstream: true },
  { name: 'OpenAI passthrough, streamed answer', path: '/v1/chat/completions', body: () => JSON.stringify({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: text(TWO_MB) }] }), upstream: true },
  {
    name: '20k short messages',
    path: '/v1/chat/completions',
    body: () => JSON.stringify({ model: 'gpt-test', messages: Array.from({ length: 20_000 }, (_, index) => ({ role: index % 2 === 0 ? 'user' : 'assistant', content: text(TWO_MB / 20_000 - 35) })) }),
    upstream: true,
  },
  { name: 'translated to Anthropic', path: '/v1/chat/completions', body: () => JSON.stringify({ model: 'claude', messages: [{ role: 'user', content: text(TWO_MB) }] }), upstream: true },
  { name: 'Anthropic count_tokens (answered locally)', path: '/anthropic/v1/messages/count_tokens', body: () => JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: text(TWO_MB) }] }), upstream: false },
  { name: "Anthropic count_tokens (Claude's counting API)", path: '/anthropic/v1/messages/count_tokens', body: () => JSON.stringify({ model: 'claude', messages: [{ role: 'user', content: text(TWO_MB) }] }), upstream: true },
  { name: 'Anthropic Messages to an OpenAI backend', path: '/anthropic/v1/messages', body: () => JSON.stringify({ model: 'gpt-test', max_tokens: 16, messages: [{ role: 'user', content: text(TWO_MB) }] }), upstream: true },
];

for (const upstreamFilter of [true, false]) {
  describe(`2 MB bodies within the shortest message timeout the config allows (upstreamFilter: ${upstreamFilter})`, () => {
    let gw: Gateway;
    let mock: HttpMock;

    before(async () => {
      mock = await startHttpMock(reply);
      gw = await startGateway({
        configYaml: hostileConfig({
          upstreamFilter,
          reserve: true,
          maxRequestBodyBytes: 8 * 1024 * 1024,
          extraBackends: '  - name: anthropic\n    schema: Anthropic\n    endpoint: https://api.anthropic.com\n    auth: { anthropicApiKey: { value: sk-ant-timeout } }',
          extraModels: '  - name: claude\n    backends: [{ backend: anthropic, modelNameOverride: claude-sonnet-4-5 }]',
        }),
        env: { MAIN_KEY },
        upstreams: { main: mock.url, open: mock.url, anthropic: mock.url },
        envoy: { messageTimeoutMs: MESSAGE_TIMEOUT_MS },
      });
    });
    after(async () => {
      await gw.close();
      await mock.close();
    });

    for (const item of CASES) {
      it(`${item.name}: answered, no message timeout`, async () => {
        const body = item.body();
        assert.ok(Buffer.byteLength(body) >= TWO_MB * 0.95, `${Buffer.byteLength(body)} bytes`);
        const sent = mock.requests.length;
        const response = await rawRequest(gw.url, { path: item.path, body, headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' } });
        const record = await lastRecord(gw);
        console.log(`${item.name} (upstreamFilter: ${upstreamFilter}): request phase done after ${record.timings.requestPhaseDone?.toFixed(0)} ms`);
        // On a timeout the stand-in (as Envoy) answers 504 and counts it; report the phase timings then.
        assert.equal(record.counters.message_timeouts, 0, `message timeout (timings ${JSON.stringify(record.timings)}, details ${record.responseCodeDetails})`);
        assert.equal(response.status, 200, response.text.slice(0, 300));
        if (item.upstream) {
          assert.equal(mock.requests.length, sent + 1);
          assert.ok((mock.requests.at(-1)?.body.length ?? 0) >= TWO_MB * 0.9, 'the whole body reached the upstream');
          assertNumericCosts(record);
        } else {
          assert.ok((JSON.parse(response.text) as { input_tokens: number }).input_tokens > 300_000);
        }
      });
    }
  });
}
