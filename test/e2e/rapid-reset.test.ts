/**
 * Why the shipped Envoy configs turn on envoy.reloadable_features.ext_proc_graceful_grpc_close.
 *
 * Envoy's default close half-closes each ext_proc stream and resets it at once: one RST_STREAM per request.
 * Node's HTTP/2 rapid-reset protection (a burst of ~1000 resets, then ~33/s) then tears down the whole gRPC
 * connection, failing every stream in flight on it, and Envoy answers those requests with 500 (grpc-node
 * #2872, #2625). With the graceful close, Envoy half-closes and waits for the server's status: no resets.
 * The stand-in closes streams both ways; this test shows the difference on the real server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startGateway } from '../helpers/gateway-harness.js';
import { sampleSum } from '../hostile/hostile-helpers.js';
import { waitUntil } from '../helpers/wait-until.js';

const REQUESTS = 2500;
const CONCURRENCY = 24;
const CONFIG = `
backends: [{ name: openai, schema: OpenAI, endpoint: https://api.openai.com }]
models: [{ name: gpt-4o-mini, backends: [{ backend: openai }] }]
`;

/** Node's rapid-reset protection trips above roughly this many resets a second (after a burst allowance). */
const RESET_RATE_THAT_TRIPS = 40;

async function burst(gracefulClose: boolean): Promise<{ statuses: Map<number, number>; details: Set<string>; perSecond: number; metrics: string }> {
  const gateway = await startGateway({ configYaml: CONFIG, upstreams: { openai: 'http://127.0.0.1:9' }, envoy: { gracefulClose } });
  const statuses = new Map<number, number>();
  try {
    const started = performance.now();
    let sent = 0;
    const worker = async () => {
      while (sent < REQUESTS) {
        sent += 1;
        const response = await fetch(`${gateway.baseURL}/models`);
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const perSecond = REQUESTS / ((performance.now() - started) / 1000);
    await gateway.envoy.settled();
    const details = new Set(gateway.envoy.requests.filter((request) => request.status !== 200).map((request) => request.responseCodeDetails));
    // A connection the protection dropped is counted when the service's HTTP/2 session emits 'close', which can
    // come after the stand-in has already answered the failed requests.
    if (statuses.size > 1 || !statuses.has(200)) {
      await waitUntil(async () => sampleSum(await gateway.metrics.metrics(), 'llm_extproc_grpc_connections_closed_total') > 0, 'the dropped connection to be counted', 10_000).catch(() => undefined);
    }
    return { statuses, details, perSecond, metrics: await gateway.metrics.metrics() };
  } finally {
    await gateway.close();
  }
}

describe('closing ext_proc streams under sustained load', () => {
  it('loses requests with the default half-close-and-reset, and none with the graceful close', { timeout: 240_000 }, async (t) => {
    const reset = await burst(false);
    const graceful = await burst(true);
    const failedWithReset = REQUESTS - (reset.statuses.get(200) ?? 0);
    console.log(
      `default close: ${failedWithReset} of ${REQUESTS} requests failed at ${reset.perSecond.toFixed(0)}/s (${[...reset.details].join(', ')}); ` +
        `graceful close: ${REQUESTS - (graceful.statuses.get(200) ?? 0)} failed`,
    );
    assert.equal(graceful.statuses.get(200), REQUESTS, 'graceful close: every request succeeds');
    // The service sees which close Envoy uses: resets after the half-close, or none.
    assert.ok(sampleSum(reset.metrics, 'llm_extproc_stream_resets_total', ['when="after_half_close"']) > 0, 'default close: resets counted');
    assert.equal(sampleSum(graceful.metrics, 'llm_extproc_stream_resets_total', ['when="after_half_close"']), 0, 'graceful close: no reset');
    // A machine too loaded to send resets faster than Node's allowance cannot show the failure: say so, do not guess.
    if (failedWithReset === 0 && reset.perSecond < RESET_RATE_THAT_TRIPS) {
      t.diagnostic(`default close: only ${reset.perSecond.toFixed(0)} resets/s on this machine, below the rate that trips the protection`);
      return;
    }
    assert.ok(failedWithReset > 0, "default close: Node's rapid-reset protection dropped the connection at least once");
    assert.ok(sampleSum(reset.metrics, 'llm_extproc_grpc_connections_closed_total') > 0, 'the dropped connection is counted');
  });
});
