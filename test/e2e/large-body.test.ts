/**
 * Bodies up to limits.maxRequestBodyBytes (default 32 MiB) work end to end, over the gRPC message limit's
 * default of 4 MB; larger ones get 413 in OpenAI error JSON.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startAnthropicMock, type AnthropicMock } from '../mocks/anthropic-mock.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';

const MiB = 1024 * 1024;

describe('large request bodies', () => {
  let upstream: OpenAIMock;
  let gateway: Gateway;

  before(async () => {
    upstream = await startOpenAIMock();
    gateway = await startGateway({
      configYaml: `
backends: [{ name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-x } } }]
models: [{ name: gpt-4o-mini, backends: [{ backend: openai, modelNameOverride: gpt-4o-mini-2024-07-18 }] }]
`,
      upstreams: { openai: upstream.url },
      envoy: { bufferLimitBytes: 64 * MiB },
    });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  const bodyOf = (bytes: number) => {
    const skeleton = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: '' }] });
    return skeleton.replace('"content":""', `"content":"${'x'.repeat(bytes - skeleton.length)}"`);
  };

  it('passes a 31 MiB body through, byte for byte except the model', async () => {
    const body = bodyOf(31 * MiB);
    const response = await fetch(`${gateway.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(response.status, 200, await response.clone().text().then((text) => text.slice(0, 200)));
    const received = upstream.requests.at(-1);
    assert.equal(received?.body.length, body.length + '-2024-07-18'.length);
    assert.equal(received?.body.toString(), body.replace('"gpt-4o-mini"', '"gpt-4o-mini-2024-07-18"'));
  });

  it('answers 413 in OpenAI error JSON above the limit', async () => {
    const response = await fetch(`${gateway.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodyOf(33 * MiB) });
    assert.equal(response.status, 413);
    const error = (await response.json()) as { error?: { message?: string; type?: string } };
    assert.match(error.error?.message ?? '', /exceeds the limit/);
  });
});

describe('large request bodies to a translating backend', () => {
  let anthropic: AnthropicMock;
  let gateway: Gateway;

  before(async () => {
    anthropic = await startAnthropicMock();
    gateway = await startGateway({
      configYaml: `
backends: [{ name: claude, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: test-anthropic-key } } }]
models: [{ name: claude-sonnet, backends: [{ backend: claude, modelNameOverride: claude-sonnet-4-5-20250929 }] }]
`,
      upstreams: { claude: anthropic.url },
      envoy: { bufferLimitBytes: 64 * MiB },
    });
  });
  after(async () => {
    await gateway.close();
    await anthropic.close();
  });

  it('translates a 1 MiB OpenAI body (read by its outline in the router phase, parsed whole for the translator)', async () => {
    const text = 'Ünïcode and "quotes" and \\ backslashes.\n'.repeat(24_000);
    const body = JSON.stringify({ model: 'claude-sonnet', max_tokens: 64, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: text }] });
    assert.ok(Buffer.byteLength(body) > MiB);
    const response = await fetch(`${gateway.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(response.status, 200, await response.clone().text().then((answer) => answer.slice(0, 200)));
    assert.equal(((await response.json()) as { object?: string }).object, 'chat.completion');
    const sent = anthropic.requests.at(-1)?.body as { model: string; system?: unknown; messages: Array<{ content: unknown }> };
    assert.equal(sent.model, 'claude-sonnet-4-5-20250929');
    const content = sent.messages[0]?.content;
    assert.equal(typeof content === 'string' ? content : (content as Array<{ text: string }>)[0]?.text, text);
  });
});
