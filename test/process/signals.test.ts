/**
 * SIGHUP as the shipped process sees it: it reloads the config and never stops the process, not even with a
 * stream in flight, however often it comes. SIGTERM afterwards still drains and exits 0.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openHeldStream } from './held-stream.js';

const TIMEOUT_MS = 90_000;

const config = (models: readonly string[]) => `
backends: [{ name: openai, schema: OpenAI, endpoint: https://api.openai.com }]
models: [${models.map((model) => `{ name: ${model}, backends: [{ backend: openai }] }`).join(', ')}]
costs: [{ metadataKey: llm_total_token, type: TotalToken }]
`;

describe('SIGHUP', { timeout: TIMEOUT_MS }, () => {
  it('reloads the config, keeps a stream in flight going and the process serving, then SIGTERM still drains', { timeout: TIMEOUT_MS }, async () => {
    const held = await openHeldStream(config(['m']));
    const { product } = held;
    try {
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
      held.release();
      const rest = await held.rest();
      assert.match(rest, /second/);
      assert.match(rest, /\[DONE\]/, 'the stream in flight finished normally');
      assert.ok(!product.logs.some((line) => typeof line.msg === 'string' && /draining|shutdown/.test(line.msg)), 'SIGHUP started no shutdown');

      assert.equal(await product.stop('SIGTERM'), 0);
      assert.ok(product.logs.some((line) => line.msg === 'stopped'));
    } finally {
      await held.close();
    }
  });
});
