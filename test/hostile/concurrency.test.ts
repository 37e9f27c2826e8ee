/**
 * Concurrency and isolation end to end, in both upstreamFilter modes: 200 concurrent mixed requests (buffered,
 * streamed, malformed, unknown model, oversized, upstream errors, truncated streams) each get the right status
 * and their own usage metadata; every request is counted once; nothing is left in the registry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import type { RequestRecord } from '../envoy/types.js';
import { startHttpMock, sseEvent, type HttpMock, type MockReply, type RecordedRequest } from '../mocks/http-mock.js';
import { assertNumericCosts, BODY_LIMIT, hostileConfig, MAIN_KEY, NS, postChat, sampleSum, waitForEmptyRegistry, type RawResponse } from './hostile-helpers.js';

type Kind = 'buffered' | 'stream' | 'bad-json' | 'unknown-model' | 'too-large' | 'upstream-429' | 'truncated-stream' | 'byok';
const KINDS: readonly Kind[] = ['buffered', 'stream', 'bad-json', 'unknown-model', 'too-large', 'upstream-429', 'truncated-stream', 'byok'];
const EXPECTED_STATUS: Record<Kind, number> = {
  buffered: 200,
  stream: 200,
  'bad-json': 400,
  'unknown-model': 404,
  'too-large': 413,
  'upstream-429': 429,
  'truncated-stream': 200,
  byok: 200,
};

/** The mock answers from the request: usage `n` from `n=<N>`, failures on `fail`, truncation on `cut`. */
function reply(request: RecordedRequest): MockReply {
  const text = request.text();
  const n = Number(/n=(\d+)/.exec(text)?.[1] ?? '1');
  const body = request.json() as { stream?: boolean; model?: string };
  const model = body.model ?? 'unknown';
  if (text.includes('fail')) return { kind: 'json', status: 429, body: { error: { message: `slow down ${n}`, type: 'rate_limit_error', code: 'rate_limit' } } };
  const usage = { prompt_tokens: n, completion_tokens: 3, total_tokens: n + 3 };
  if (body.stream !== true) {
    return { kind: 'json', body: { id: `c${n}`, object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: `n=${n}` }, finish_reason: 'stop' }], usage } };
  }
  const chunk = (delta: object, finish: string | null) => sseEvent({ id: `c${n}`, object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }] });
  const chunks = [chunk({ role: 'assistant', content: '' }, null), chunk({ content: `n=${n}` }, null), chunk({}, 'stop'), sseEvent({ id: `c${n}`, object: 'chat.completion.chunk', created: 1, model, choices: [], usage }), 'data: [DONE]\n\n'];
  return { kind: 'sse', delayMs: n % 5, chunks: text.includes('cut') ? chunks.slice(0, 2) : chunks };
}

function requestFor(kind: Kind, n: number): string {
  const message = (content: string) => [{ role: 'user', content }];
  switch (kind) {
    case 'buffered':
      return JSON.stringify({ model: 'gpt-test', messages: message(`n=${n}`) });
    case 'stream':
      return JSON.stringify({ model: 'gpt-test', stream: true, messages: message(`n=${n}`) });
    case 'bad-json':
      return `{"model":"gpt-test","messages":[{"n":${n}`;
    case 'unknown-model':
      return JSON.stringify({ model: `missing-${n}`, messages: message(`n=${n}`) });
    case 'too-large':
      return JSON.stringify({ model: 'gpt-test', messages: message(`n=${n} ${'x'.repeat(BODY_LIMIT)}`) });
    case 'upstream-429':
      return JSON.stringify({ model: 'gpt-test', messages: message(`n=${n} fail`) });
    case 'truncated-stream':
      return JSON.stringify({ model: 'gpt-test', stream: true, messages: message(`n=${n} cut`) });
    case 'byok':
      return JSON.stringify({ model: 'open-model', messages: message(`n=${n}`) });
  }
}

function checkBody(kind: Kind, n: number, response: RawResponse): void {
  if (kind === 'buffered' || kind === 'byok') {
    assert.equal((JSON.parse(response.text) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content, `n=${n}`);
  } else if (kind === 'stream') {
    assert.ok(response.text.includes(`n=${n}`) && response.text.trimEnd().endsWith('data: [DONE]'), response.text.slice(-200));
    assert.ok(!response.text.includes('"usage"'));
  } else if (kind === 'truncated-stream') {
    assert.ok(response.text.includes(`n=${n}`));
    assert.match(response.text, /data: \{"error":\{"message":"upstream stream ended before the response was complete"/);
  } else if (kind === 'upstream-429') {
    assert.match(response.text, new RegExp(`slow down ${n}\\b`));
  } else {
    assert.ok('error' in (JSON.parse(response.text) as object));
  }
}

/** A client request header, as the router-level ext_proc stream received it (also for local replies). */
function clientHeader(record: RequestRecord, name: string): string | undefined {
  const entry = record.streams[0]?.sent[0]?.request_headers?.headers?.headers?.find((header) => header.key === name);
  return entry?.raw_value ? Buffer.from(entry.raw_value).toString('latin1') : undefined;
}

for (const upstreamFilter of [true, false]) {
  describe(`200 concurrent mixed requests (upstreamFilter: ${upstreamFilter})`, () => {
    let gw: Gateway;
    let mock: HttpMock;

    before(async () => {
      mock = await startHttpMock(reply);
      gw = await startGateway({ configYaml: hostileConfig({ upstreamFilter }), env: { MAIN_KEY }, upstreams: { main: mock.url, open: mock.url } });
    });
    after(async () => {
      await gw.close();
      await mock.close();
    });

    it('each gets its own status, body and usage metadata; each is counted once', async () => {
      const counted = sampleSum(await gw.metrics.metrics(), 'gen_ai_server_request_duration_seconds_count');
      const firstRecord = gw.envoy.requests.length;
      const plan = Array.from({ length: 200 }, (_, index) => ({ kind: KINDS[index % KINDS.length] as Kind, n: 1000 + index }));
      const results = await Promise.all(plan.map(({ kind, n }) => postChat(gw, requestFor(kind, n), { 'x-test-n': String(n) }).then((response) => ({ kind, n, response }))));

      for (const { kind, n, response } of results) {
        assert.equal(response.status, EXPECTED_STATUS[kind], `${kind} ${n}: ${response.text.slice(0, 200)}`);
        checkBody(kind, n, response);
      }

      await gw.envoy.settled();
      const records = gw.envoy.requests.slice(firstRecord);
      assert.equal(records.length, 200);
      const exchangeIds = new Set<unknown>();
      const seen = new Set<number>();
      for (const record of records) {
        const n = Number(clientHeader(record, 'x-test-n'));
        const planned = plan.find((entry) => entry.n === n);
        assert.ok(planned, `record ${record.id} maps back to a request`);
        seen.add(n);
        const metadata = assertNumericCosts(record);
        exchangeIds.add(metadata['llm_extproc_exchange_id']);
        if (planned.kind === 'buffered' || planned.kind === 'stream' || planned.kind === 'byok') {
          assert.deepEqual([metadata['llm_input_token'], metadata['llm_output_token'], metadata['llm_total_token']], [n, 3, n + 3], `${planned.kind} ${n} has its own usage`);
        } else if (planned.kind !== 'truncated-stream') {
          assert.deepEqual([metadata['llm_input_token'], metadata['llm_total_token']], [0, 0], `${planned.kind} ${n} is charged nothing`);
        }
      }
      assert.equal(seen.size, 200);
      const withId = records.filter((record) => record.metadata[NS]?.['llm_extproc_exchange_id'] !== undefined).length;
      assert.ok(withId >= 175, `${withId} requests carry an exchange id (413 by declared length is answered at the headers)`);
      exchangeIds.delete(undefined);
      assert.equal(exchangeIds.size, withId, 'no two requests share an exchange');

      await waitForEmptyRegistry(gw);
      const after = sampleSum(await gw.metrics.metrics(), 'gen_ai_server_request_duration_seconds_count');
      assert.equal(after - counted, 200, 'every request counted exactly once, whatever its outcome');
    });
  });
}
