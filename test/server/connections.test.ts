/**
 * Envoy's default stream close (half-close, then reset at once) is detected: every reset after a half-close is
 * counted in llm_extproc_stream_resets_total{when="after_half_close"}, and one warning names the runtime flag that
 * fixes it. With the graceful close nothing is reset and nothing is logged. Connections Envoy ends while the
 * service serves are counted (llm_extproc_grpc_connections_closed_total), which also proves the watch on grpc-js's
 * HTTP/2 sessions still reaches them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/logging.js';
import { DEFAULT_CLOSE_WARN_AFTER } from '../../src/server/grpc-server.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { waitUntil } from '../helpers/wait-until.js';
import { sampleSum } from '../hostile/hostile-helpers.js';

const CONFIG = `
backends: [{ name: openai, schema: OpenAI, endpoint: https://api.openai.com }]
models: [{ name: gpt-4o-mini, backends: [{ backend: openai }] }]
`;

async function requests(gateway: Gateway, count: number): Promise<void> {
  let sent = 0;
  const worker = async () => {
    while (sent < count) {
      sent += 1;
      const response = await fetch(`${gateway.baseURL}/models`);
      await response.arrayBuffer();
      assert.equal(response.status, 200);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  await gateway.envoy.settled();
}

async function run(gracefulClose: boolean, count: number) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void lines.push(line) } });
  const gateway = await startGateway({ configYaml: CONFIG, upstreams: { openai: 'http://127.0.0.1:9' }, logger, envoy: { gracefulClose } });
  let closedByPeer = 0;
  try {
    await requests(gateway, count);
  } finally {
    const metricsText = async () => gateway.metrics.metrics();
    await gateway.envoy.close();
    // No event tells when the server has seen the connection end.
    await waitUntil(async () => sampleSum(await metricsText(), 'llm_extproc_grpc_connections_closed_total', ['by="peer"']) > 0, 'the closed connection is counted');
    closedByPeer = sampleSum(await metricsText(), 'llm_extproc_grpc_connections_closed_total', ['by="peer"']);
    await gateway.server.drain(2000);
  }
  const text = await gateway.metrics.metrics();
  const warnings = lines.filter((line) => line.includes('ext_proc_graceful_grpc_close'));
  return {
    afterHalfClose: sampleSum(text, 'llm_extproc_stream_resets_total', ['when="after_half_close"']),
    warnings,
    closedByPeer,
  };
}

describe('Envoy default stream close: detected, counted, warned once', { timeout: 120_000 }, () => {
  it('default close: every request resets its streams after the half-close; one warning with the runtime flag', { timeout: 60_000 }, async () => {
    const count = DEFAULT_CLOSE_WARN_AFTER * 2;
    const result = await run(false, count);
    // /v1/models is answered from the request headers: one stream per request, reset after its half-close.
    assert.equal(result.afterHalfClose, count);
    assert.equal(result.warnings.length, 1, 'warned once, not per reset');
    assert.match(result.warnings[0] ?? '', /envoy\.reloadable_features\.ext_proc_graceful_grpc_close: true/);
    assert.equal(result.closedByPeer, 1, 'the stand-in closing its connection is counted once');
  });

  it('graceful close: no reset, no warning', { timeout: 60_000 }, async () => {
    const result = await run(true, DEFAULT_CLOSE_WARN_AFTER * 2);
    assert.equal(result.afterHalfClose, 0);
    assert.deepEqual(result.warnings, []);
  });
});
