/**
 * Metric label cardinality under hostile input, end to end in both upstreamFilter modes: 500 requests naming
 * random unknown models, upstreams answering with random model names and random finish reasons, and random
 * upstream error statuses leave every label bounded (models to the configured names or "other", reasons to a
 * fixed number of distinct values). Each request is still counted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MAX_FINISH_REASONS } from '../../src/metrics/metrics.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startHttpMock, type HttpMock, type MockReply, type RecordedRequest } from '../mocks/http-mock.js';
import { hostileConfig, labelValues, MAIN_KEY, postChat, sampleSum } from './hostile-helpers.js';

const CONFIGURED_REQUEST_MODELS = new Set(['gpt-test', 'open-model', 'claude']);
const CONFIGURED_RESPONSE_MODELS = new Set([...CONFIGURED_REQUEST_MODELS, 'gpt-test-upstream', 'claude-x']);

const random = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;

/** OpenAI and Anthropic answers with a random model name, and Anthropic ones with a random stop_reason. */
function reply(request: RecordedRequest): MockReply {
  const text = request.text();
  if (text.includes('fail-with-')) {
    const status = Number(/fail-with-(\d+)/.exec(text)?.[1] ?? '500');
    return { kind: 'json', status, body: { error: { message: 'random failure', type: 'server_error' } } };
  }
  if (request.path.startsWith('/v1/messages')) {
    return {
      kind: 'json',
      body: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: random('claude-random'),
        content: [{ type: 'text', text: 'hi' }],
        stop_reason: random('reason'),
        usage: { input_tokens: 3, output_tokens: 1 },
      },
    };
  }
  return {
    kind: 'json',
    body: { id: 'x', object: 'chat.completion', created: 1, model: random('served-by'), choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } },
  };
}

async function inBatches<T>(count: number, size: number, run: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += size) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, offset) => run(start + offset)))));
  }
  return results;
}

for (const upstreamFilter of [true, false]) {
  describe(`metric label cardinality (upstreamFilter: ${upstreamFilter})`, () => {
    let gw: Gateway;
    let mock: HttpMock;

    before(async () => {
      mock = await startHttpMock(reply);
      gw = await startGateway({
        configYaml: hostileConfig({
          upstreamFilter,
          extraBackends: '  - name: anthropic\n    schema: Anthropic\n    endpoint: https://api.anthropic.com\n    auth: { anthropicApiKey: { value: sk-ant-cardinality } }',
          extraModels: '  - name: claude\n    backends: [{ backend: anthropic, modelNameOverride: claude-x }]',
        }),
        env: { MAIN_KEY },
        upstreams: { main: mock.url, open: mock.url, anthropic: mock.url },
        // Over a thousand ext_proc streams on one connection: graceful close, as the shipped Envoy config has it.
        envoy: { gracefulClose: true },
      });
    });
    after(async () => {
      await gw.close();
      await mock.close();
    });

    it('500 requests naming random unknown models: all 404, all counted, request_model stays bounded', async () => {
      const before = sampleSum(await gw.metrics.metrics(), 'gen_ai_server_request_duration_seconds_count');
      const statuses = await inBatches(500, 50, (index) =>
        postChat(gw, JSON.stringify({ model: `${random('model')}-${'x'.repeat(index % 7)}\u00e9`, messages: [{ role: 'user', content: 'hi' }] })).then((response) => response.status),
      );
      assert.deepEqual(new Set(statuses), new Set([404]));
      const text = await gw.metrics.metrics();
      assert.equal(sampleSum(text, 'gen_ai_server_request_duration_seconds_count') - before, 500, 'every rejected request is counted');
      const models = labelValues(text, 'gen_ai_', 'gen_ai_request_model');
      for (const model of models) assert.ok(model === '' || model === 'other' || CONFIGURED_REQUEST_MODELS.has(model), `unbounded request model label ${model}`);
      assert.ok(models.size <= CONFIGURED_REQUEST_MODELS.size + 2);
    });

    it('upstreams answering with random model names and finish reasons keep response_model and reason bounded', async () => {
      await inBatches(3 * (MAX_FINISH_REASONS + 15), 30, (index) =>
        postChat(gw, JSON.stringify({ model: ['gpt-test', 'open-model', 'claude'][index % 3], messages: [{ role: 'user', content: 'hi' }] })).then((response) => {
          assert.equal(response.status, 200, response.text.slice(0, 200));
        }),
      );
      const text = await gw.metrics.metrics();
      const responseModels = labelValues(text, 'gen_ai_', 'gen_ai_response_model');
      for (const model of responseModels) assert.ok(model === '' || model === 'other' || CONFIGURED_RESPONSE_MODELS.has(model), `unbounded response model label ${model}`);
      assert.ok(responseModels.has('other'), 'the random names were folded into "other"');
      const reasons = labelValues(text, 'llm_extproc_unknown_finish_reasons_total', 'reason');
      assert.ok(reasons.has('other'), 'more distinct reasons than the cap were folded into "other"');
      assert.ok(reasons.size <= MAX_FINISH_REASONS + 1, `${reasons.size} distinct reason labels`);
    });

    it('random upstream error statuses give bounded error_type values', async () => {
      const statuses = [400, 401, 403, 404, 408, 409, 413, 418, 422, 429, 451, 499, 500, 501, 502, 503, 504, 529, 599];
      await inBatches(statuses.length * 3, 20, (index) =>
        postChat(gw, JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: `fail-with-${statuses[index % statuses.length]}` }] })),
      );
      const errorTypes = labelValues(await gw.metrics.metrics(), 'gen_ai_server_request_duration_seconds_count', 'error_type');
      for (const value of errorTypes) assert.match(value, /^(|\d{3}|_OTHER|client_disconnect)$/, `error_type ${value}`);
      assert.ok(errorTypes.size <= statuses.length + 4);
    });
  });
}
