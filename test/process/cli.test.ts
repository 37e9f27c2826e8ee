/**
 * The shipped CLI as processes: `npm start` on the shipped default config serving a request through the Envoy
 * stand-in, SIGTERM draining a stream in flight, `validate` and `envoy` as an operator runs them.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseConfigForEnvoy } from '../../src/envoy/index.js';
import { startEnvoy } from '../envoy/envoy.js';
import { VALIDATORS } from '../helpers/components.js';
import { productCommand } from '../helpers/product-command.js';
import { startOpenAIMock } from '../mocks/openai-mock.js';
import { openHeldStream } from './held-stream.js';
import { ROOT, watchProduct } from './product.js';

const TIMEOUT_MS = 90_000;
const NS = 'io.envoy.ai_gateway';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the product's CLI (the start script's entry) with other arguments, to completion. */
function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const { command, args: entry } = productCommand();
  // The start script ends with its subcommand (`serve`); other commands replace it.
  const base = entry.slice(0, entry.indexOf('serve'));
  return new Promise((resolve) => {
    execFile(command, [...base, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error && typeof error.code === 'number' ? error.code : error ? null : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm start on the shipped default config', { timeout: TIMEOUT_MS }, () => {
  it('serves a request through the stand-in to a mock upstream, then stops on SIGTERM', async () => {
    const openai = await startOpenAIMock({ reply: 'hello from the shipped config' });
    const directory = await mkdtemp(join(tmpdir(), 'llm-extproc-npm-start-'));
    const npm = spawn('npm', ['start', '--silent', '--', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: directory, LOG_LEVEL: 'info', OPENAI_API_KEY: 'sk-shipped-config-key' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (npm.pid !== undefined) process.kill(-npm.pid, signal);
      } catch {
        // already gone
      }
    };
    const text = await readFile(join(ROOT, 'config', 'default.yaml'), 'utf8');
    const product = await watchProduct(npm, directory, text, killGroup);
    const loaded = await parseConfigForEnvoy(text, 'config/default.yaml', VALIDATORS);
    assert.ok(loaded.ok);
    const envoy = await startEnvoy({ config: loaded.config, extProc: product.grpcAddress, upstreams: { openai: openai.url, ollama: openai.url }, gracefulClose: true });
    try {
      const response = await fetch(`${envoy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      const body = (await response.json()) as { choices?: Array<{ message?: { content?: string } }>; usage?: { total_tokens?: number } };
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.choices?.[0]?.message?.content, 'hello from the shipped config');
      assert.equal(openai.requests.at(-1)?.headers['authorization'], 'Bearer sk-shipped-config-key');
      await envoy.settled();
      assert.ok((body.usage?.total_tokens ?? 0) > 0);
      assert.equal(envoy.requests.at(-1)?.metadata[NS]?.['llm_total_token'], body.usage?.total_tokens);
      assert.equal((await fetch(`http://${product.adminAddress}/readyz`)).status, 200);
    } finally {
      await envoy.close();
      await product.stop('SIGTERM');
      await openai.close();
    }
    assert.ok(product.logs.some((line) => line.msg === 'stopped'), 'the service drained and stopped');
  });
});

describe('SIGTERM', { timeout: TIMEOUT_MS }, () => {
  it('turns /readyz to 503, lets a stream in flight finish, then exits 0', async () => {
    const held = await openHeldStream(`
backends: [{ name: openai, schema: OpenAI, endpoint: https://api.openai.com }]
models: [{ name: m, backends: [{ backend: openai }] }]
costs: [{ metadataKey: llm_total_token, type: TotalToken }]
`);
    const { product } = held;
    try {
      const stopped = product.stop('SIGTERM');
      await product.waitForLog((line) => typeof line.msg === 'string' && line.msg.startsWith('draining'));
      assert.equal((await fetch(`http://${product.adminAddress}/readyz`)).status, 503);
      held.release();
      const rest = await held.rest();
      assert.match(rest, /second/);
      assert.match(rest, /\[DONE\]/);
      assert.equal(await stopped, 0);
      assert.ok(product.logs.some((line) => line.msg === 'stopped'));
    } finally {
      await held.close();
    }
  });

  it('exits 1 naming every problem when the config is invalid', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'llm-extproc-bad-'));
    try {
      const path = join(directory, 'config.yaml');
      await writeFile(path, 'backends: [{ name: a, schema: Nope, endpoint: https://x }]\nmodels: [{ name: m, backends: [{ backend: ghost }] }]\n');
      const run = await runCli(['serve', '--config', path, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /backends\[0\]\.schema/);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('validate and envoy as processes', { timeout: TIMEOUT_MS }, () => {
  it('validate prints ok for the shipped config and every error of a bad one', async () => {
    const good = await runCli(['validate', '--config', join(ROOT, 'config', 'default.yaml')]);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.stdout, `${join(ROOT, 'config', 'default.yaml')}: ok\n`);

    const directory = await mkdtemp(join(tmpdir(), 'llm-extproc-validate-'));
    try {
      const path = join(directory, 'config.yaml');
      await writeFile(
        path,
        [
          'backends: [{ name: a, schema: OpenAI, endpoint: https://x, auth: { apiKey: { env: MISSING_KEY } } }]',
          'models: [{ name: m, backends: [{ backend: ghost }] }]',
          'costs: [{ metadataKey: k, type: CEL, cel: "input_tokens +" }]',
        ].join('\n'),
      );
      const bad = await runCli(['validate', '--config', path]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /MISSING_KEY/);
      assert.match(bad.stderr, /unknown backend "ghost"/);
      assert.match(bad.stderr, /costs\[0\]\.cel/);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('envoy prints a bootstrap that calls the service', async () => {
    const run = await runCli(['envoy', '--config', join(ROOT, 'config', 'default.yaml'), '--extproc', '127.0.0.1:1063']);
    assert.equal(run.code, 0, run.stderr);
    const bootstrap = parseYaml(run.stdout) as { static_resources?: { listeners?: unknown[]; clusters?: Array<{ name?: string }> } };
    assert.ok((bootstrap.static_resources?.listeners?.length ?? 0) > 0);
    assert.match(run.stdout, /envoy\.filters\.http\.ext_proc/);
    const clusters = bootstrap.static_resources?.clusters?.map((cluster) => cluster.name) ?? [];
    assert.ok(clusters.includes('llm_extproc'), `clusters: ${clusters.join(', ')}`);
    assert.ok(clusters.includes('model_gpt-4o-mini'), `clusters: ${clusters.join(', ')}`);
    assert.match(run.stdout, /port_value: 1063/);
  });
});
