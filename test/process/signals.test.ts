/**
 * SIGHUP as the shipped process sees it: it reloads the config and never stops the process, not even with a
 * stream in flight, however often it comes. SIGTERM afterwards still drains and exits 0.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfigForEnvoy } from '../../src/envoy/index.js';
import { startEnvoy } from '../envoy/envoy.js';
import { VALIDATORS } from '../helpers/components.js';
import { startHttpMock, sseEvent } from '../mocks/http-mock.js';
import { startProduct } from './product.js';

const TIMEOUT_MS = 90_000;

const config = (models: readonly string[]) => `
backends: [{ name: openai, schema: OpenAI, endpoint: https://api.openai.com }]
models: [${models.map((model) => `{ name: ${model}, backends: [{ backend: openai }] }`).join(', ')}]
costs: [{ metadataKey: llm_total_token, type: TotalToken }]
`;

describe('SIGHUP', { timeout: TIMEOUT_MS }, () => {
  it('reloads the config, keeps a stream in flight going and the process serving, then SIGTERM still drains', { timeout: TIMEOUT_MS }, async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const chunk = (content: string, finish: string | null = null) =>
      sseEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: finish }] });
    const upstream = await startHttpMock({
      kind: 'custom',
      async handle(response) {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write(chunk('first '));
        await released;
        response.write(chunk('second', 'stop'));
        response.end('data: [DONE]\n\n');
      },
    });
    const yaml = config(['m']);
    const product = await startProduct({ configYaml: yaml });
    const loaded = await parseConfigForEnvoy(yaml, 'config.yaml', VALIDATORS);
    assert.ok(loaded.ok);
    const envoy = await startEnvoy({ config: loaded.config, extProc: product.grpcAddress, upstreams: { openai: upstream.url }, gracefulClose: true });
    try {
      const response = await fetch(`${envoy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(response.status, 200);
      const reader = response.body?.getReader();
      assert.ok(reader);
      const first = await reader.read();
      assert.match(Buffer.from(first.value ?? new Uint8Array()).toString(), /first/);

      // Three hang-ups in a row with the stream open: each one is a reload, none a shutdown.
      for (let count = 1; count <= 3; count += 1) {
        product.signal('SIGHUP');
        await product.waitForLog(() => product.logs.filter((line) => line.msg === 'SIGHUP: reloading the config').length >= count);
      }
      // A changed config is applied (by the watcher or by the signal, whichever comes first).
      await writeFile(join(product.directory, 'config.yaml'), config(['m', 'm2']));
      product.signal('SIGHUP');
      const reloaded = await product.waitForLog((line) => line.msg === 'config reloaded');
      assert.equal(reloaded['models'], 2);

      assert.equal((await fetch(`http://${product.adminAddress}/readyz`)).status, 200, 'still ready');
      release();
      let rest = '';
      for (let part = await reader.read(); !part.done; part = await reader.read()) rest += Buffer.from(part.value).toString();
      assert.match(rest, /second/);
      assert.match(rest, /\[DONE\]/, 'the stream in flight finished normally');
      assert.ok(!product.logs.some((line) => typeof line.msg === 'string' && /draining|shutdown/.test(line.msg)), 'SIGHUP started no shutdown');

      assert.equal(await product.stop('SIGTERM'), 0);
      assert.ok(product.logs.some((line) => line.msg === 'stopped'));
    } finally {
      release();
      await envoy.close();
      await product.stop('SIGKILL');
      await upstream.close();
    }
  });
});
