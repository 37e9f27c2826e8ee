/** The bench's check that the service did a scenario's work before it is measured. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Answer, Exchange, ExchangeAnswers } from '../../bench/envoy-client.js';
import { checkServiceWork } from '../../bench/verify.js';

const exchange: Exchange = { requestHeaders: {}, requestBody: Buffer.from('{}'), backend: 'b', responseHeaders: {}, responseBody: [Buffer.from('a'), Buffer.from('b')] };
const usage = (total: number): Answer['dynamic_metadata'] => ({ fields: { 'io.envoy.ai_gateway': { structValue: { fields: { llm_total_token: { numberValue: total } } } } } });

function answers(options: { translated: boolean; streamed: boolean; model: string; total: number }): ExchangeAnswers {
  const body = (last: boolean): Answer => ({
    response_body: { response: options.translated ? { body_mutation: { body: Buffer.from('x') } } : {} },
    ...(last ? { dynamic_metadata: usage(options.total) } : {}),
  });
  return {
    router: [{ request_headers: {} }, { request_body: {} }, { response_headers: {}, ...(options.streamed ? { mode_override: { response_body_mode: 'STREAMED' } } : {}) }, body(false), body(true)],
    upstream: [{ request_headers: { response: { status: 'CONTINUE_AND_REPLACE', body_mutation: { body: Buffer.from(`{"model":"${options.model}"}`) } } } }],
  };
}

describe('checkServiceWork', () => {
  it('accepts a translated stream with usage', () => {
    assert.deepEqual(checkServiceWork(exchange, answers({ translated: true, streamed: true, model: 'm', total: 10 }), { translated: true, upstreamModel: 'm' }), []);
  });

  it('names each thing the service did not do', () => {
    const problems = checkServiceWork(exchange, answers({ translated: false, streamed: false, model: 'other', total: 0 }), { translated: true, upstreamModel: 'm' });
    assert.deepEqual(problems, [
      'upstream request body does not name m (status CONTINUE_AND_REPLACE)',
      'the response body was not switched to STREAMED',
      'no response body was translated',
      'no token usage in the last answer’s metadata',
    ]);
  });

  it('refuses a passthrough whose body was rewritten', () => {
    const problems = checkServiceWork(exchange, answers({ translated: true, streamed: true, model: 'm', total: 5 }), { translated: false, upstreamModel: 'm' });
    assert.deepEqual(problems, ['2 response body answer(s) rewrote a passthrough body']);
  });
});
