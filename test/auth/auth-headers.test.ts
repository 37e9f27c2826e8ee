/**
 * authHeaders for the key and token methods (Azure api-key, Azure Entra bearer, Anthropic, Google, OpenAI), built
 * from a parsed config as the processor sees it, and a `{file}` token re-read after it was rotated on disk.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { authHeaders, backendHasAuth } from '../../src/auth/index.js';
import { parseConfig, type ResolvedBackend } from '../../src/config/load.js';
import { VALIDATORS } from '../helpers/components.js';

const REQUEST = { method: 'POST', path: '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21', host: 'x.openai.azure.com', body: new Uint8Array() };

async function backendFrom(schema: string, auth: string, env: NodeJS.ProcessEnv = {}): Promise<ResolvedBackend> {
  const result = await parseConfig(`backends: [{name: b, schema: ${schema}, endpoint: "https://x.example.com", auth: ${auth}}]`, 'test', env, VALIDATORS);
  assert.ok(result.ok, result.ok ? '' : result.errors.join('; '));
  const backend = result.config.backends.get('b');
  assert.ok(backend);
  return backend;
}

describe('authHeaders: keys and tokens', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-headers-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('Azure api-key goes in the api-key header, never in Authorization', async () => {
    const backend = await backendFrom('AzureOpenAI', '{azureApiKey: {env: AZ_KEY}}', { AZ_KEY: 'az-secret' });
    assert.deepEqual((await authHeaders(backend, REQUEST)).set, { 'api-key': 'az-secret' });
    assert.equal(backendHasAuth(backend), true);
  });

  it('an Azure Entra token is sent as a Bearer token', async () => {
    const backend = await backendFrom('AzureOpenAI', '{azureAccessToken: {value: eyJ.token}}');
    assert.deepEqual((await authHeaders(backend, REQUEST)).set, { authorization: 'Bearer eyJ.token' });
  });

  it('an Azure token file is re-read after rotation', async () => {
    const file = join(dir, 'azure-token');
    await writeFile(file, 'first-token\n');
    const backend = await backendFrom('AzureOpenAI', `{azureAccessToken: {file: "${file}"}}`);
    assert.deepEqual((await authHeaders(backend, REQUEST)).set, { authorization: 'Bearer first-token' });
    await writeFile(file, 'second-token\n');
    const later = new Date(Date.now() + 5000);
    await utimes(file, later, later);
    await backend.credentials?.azureAccessToken?.refresh();
    assert.deepEqual((await authHeaders(backend, REQUEST)).set, { authorization: 'Bearer second-token' });
  });

  it('Anthropic, Google and OpenAI keys use their own headers', async () => {
    assert.deepEqual((await authHeaders(await backendFrom('Anthropic', '{anthropicApiKey: {value: sk-ant}}'), REQUEST)).set, { 'x-api-key': 'sk-ant' });
    assert.deepEqual((await authHeaders(await backendFrom('GoogleAI', '{googleApiKey: {value: g-key}}'), REQUEST)).set, { 'x-goog-api-key': 'g-key' });
    assert.deepEqual((await authHeaders(await backendFrom('OpenAI', '{apiKey: {value: sk-oai}}'), REQUEST)).set, { authorization: 'Bearer sk-oai' });
  });

  it('an optional key that is unset injects nothing and lets the client key through', async () => {
    const backend = await backendFrom('OpenAI', '{apiKey: {env: MISSING, optional: true}}');
    assert.deepEqual((await authHeaders(backend, REQUEST)).set, {});
    assert.equal(backendHasAuth(backend), false);
  });
});
