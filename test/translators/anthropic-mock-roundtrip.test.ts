/**
 * Every openai-to-anthropic / openai-to-gcp-anthropic fixture request, translated, is accepted by the mock Claude
 * API (which rejects what the real API rejects), and the mock's JSON or SSE answer translates back into a valid
 * OpenAI response. No Envoy here: this pins translator <-> wire compatibility.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { findShippedTranslator } from '../helpers/components.js';
import { buildContext, listFixtureCases } from '../helpers/fixtures.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';

const decoder = new TextDecoder();
/** Cases that send what Claude rejects on purpose (a config override forcing temperature with top_p on Sonnet 4.5). */
const REJECTED_ON_PURPOSE = new Set(['openai-to-anthropic/sampling-pair-override-keep']);
const cases = listFixtureCases().filter(
  (fixture) =>
    (fixture.pair === 'openai-to-anthropic' || fixture.pair === 'openai-to-gcp-anthropic') &&
    (fixture.config.status ?? 200) < 300 &&
    !REJECTED_ON_PURPOSE.has(`${fixture.pair}/${fixture.name}`),
);

describe('translated fixture requests against the mock Claude API', () => {
  let anthropic: AnthropicMock;
  let vertex: AnthropicMock;
  before(async () => {
    anthropic = await startAnthropicMock();
    vertex = await startAnthropicMock({ flavor: 'vertex' });
  });
  after(async () => {
    await anthropic.close();
    await vertex.close();
  });

  it('has cases', () => assert.ok(cases.length >= 10));

  for (const fixture of cases) {
    it(`${fixture.pair}/${fixture.name}`, async () => {
      const ctx = buildContext(fixture);
      const translator = findShippedTranslator('openai', 'chat', fixture.config.schema);
      assert.ok(translator);
      const upstream = translator.request(ctx);
      const isVertex = fixture.config.schema === 'GCPAnthropic';
      const mock = isVertex ? vertex : anthropic;
      const auth: Record<string, string> = isVertex ? { authorization: 'Bearer test-gcp-token' } : { 'x-api-key': 'test-anthropic-key' };
      const response = await fetch(`${mock.url}${upstream.path}`, { method: 'POST', headers: { ...upstream.setHeaders, ...auth }, body: Buffer.from(upstream.body) });
      const bytes = new Uint8Array(await response.arrayBuffer());
      assert.equal(response.status, 200, decoder.decode(bytes));
      if (!ctx.stream) {
        const result = translator.response(ctx, bytes, new Map());
        assert.equal(result.error, undefined);
        const completion = JSON.parse(decoder.decode(result.body)) as { object: string; choices: { finish_reason: string }[] };
        assert.equal(completion.object, 'chat.completion');
        assert.ok(['stop', 'tool_calls', 'length'].includes(completion.choices[0]?.finish_reason ?? ''));
        assert.ok((result.usage?.inputTokens ?? 0) > 0);
        return;
      }
      const stream = translator.stream(ctx, new Map());
      const text = decoder.decode(stream.push(bytes).body) + decoder.decode(stream.end().body);
      assert.ok(text.endsWith('data: [DONE]\n\n'), text);
      assert.match(text, /"finish_reason":"(stop|tool_calls)"/);
    });
  }
});
