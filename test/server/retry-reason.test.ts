/** retryReasonOf: why Envoy retried an attempt, from what the upstream-level filter saw; bounded for the metric label. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Exchange } from '../../src/server/exchange.js';
import { retryReasonOf } from '../../src/server/upstream-processor.js';

function exchange(attemptResponseHeaders: boolean, status: number | undefined): Exchange {
  return { config: { file: { envoy: { attemptResponseHeaders } } }, attemptResponseStatus: status } as unknown as Exchange;
}

describe('retryReasonOf', () => {
  it('is envoy_retry_on without envoy.attemptResponseHeaders, whatever was seen', () => {
    assert.equal(retryReasonOf(exchange(false, undefined)), 'envoy_retry_on');
    assert.equal(retryReasonOf(exchange(false, 503)), 'envoy_retry_on');
  });

  it('is status_<code> when the attempt had response headers, reset_or_timeout when it had none', () => {
    assert.equal(retryReasonOf(exchange(true, 503)), 'status_503');
    assert.equal(retryReasonOf(exchange(true, 429)), 'status_429');
    assert.equal(retryReasonOf(exchange(true, undefined)), 'reset_or_timeout');
  });

  it('keeps the label bounded: anything but an HTTP status code is status_other', () => {
    for (const status of [0, 99, 600, 70000, 503.5, Number.NaN]) assert.equal(retryReasonOf(exchange(true, status)), 'status_other', String(status));
  });
});
