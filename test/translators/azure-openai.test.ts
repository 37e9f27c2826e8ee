import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedBackend } from '../../src/config/load.js';
import { DEFAULT_AZURE_API_VERSION } from '../../src/translators/azure-openai/index.js';
import { findShippedTranslator } from '../helpers/components.js';
import type { Operation, RequestContext, Translator } from '../../src/translators/types.js';
import { testBackend, testContext } from '../helpers/request-context.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const translator = findShippedTranslator('openai', 'chat', 'AzureOpenAI') as Translator;

function context(operation: Operation, upstreamModel: string, apiVersion?: string, extra: Partial<RequestContext> = {}): RequestContext {
  const raw = '{"model":"gpt-4o","messages":[],"stream":true}';
  const backend: ResolvedBackend = testBackend({
    name: 'azure',
    schema: 'AzureOpenAI',
    endpoint: 'https://r.openai.azure.com',
    ...(apiVersion === undefined ? {} : { apiVersion }),
  });
  return testContext(JSON.parse(raw) as Record<string, unknown>, {
    operation,
    rawBody: encoder.encode(raw),
    backend,
    requestModel: 'gpt-4o',
    upstreamModel,
    stream: true,
    now: () => 0,
    generateId: () => 'id',
    ...extra,
  });
}

describe('Azure OpenAI translator', () => {
  it('is registered for chat, completion and embeddings and differs from the OpenAI one', () => {
    for (const operation of ['chat', 'completion', 'embeddings'] as const) assert.equal(findShippedTranslator('openai', operation, 'AzureOpenAI'), translator);
    assert.notEqual(translator, findShippedTranslator('openai', 'chat', 'OpenAI'));
  });

  it('uses deployment paths with the default GA api-version', () => {
    assert.equal(DEFAULT_AZURE_API_VERSION, '2024-10-21');
    assert.equal(translator.request(context('chat', 'gpt-4o')).path, '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21');
    assert.equal(translator.request(context('completion', 'instruct', '2024-06-01')).path, '/openai/deployments/instruct/completions?api-version=2024-06-01');
    assert.equal(translator.request(context('embeddings', 'emb', '2025-04-01-preview')).path, '/openai/deployments/emb/embeddings?api-version=2025-04-01-preview');
  });

  it('URL-encodes the deployment and the api-version', () => {
    assert.equal(
      translator.request(context('chat', 'my deploy/../x?y', 'v&1')).path,
      '/openai/deployments/my%20deploy%2F..%2Fx%3Fy/chat/completions?api-version=v%261',
    );
  });

  it('edits the body like the OpenAI translator (model override, forced usage)', () => {
    const body = translator.request(context('chat', 'prod-4o', undefined, { forceIncludeUsage: true })).body;
    assert.equal(decoder.decode(body), '{"model":"prod-4o","messages":[],"stream":true,"stream_options":{"include_usage":true}}');
  });

  it('keeps the response model and hides only real usage chunks around the empty first chunk', () => {
    const stream = translator.stream(context('chat', 'gpt-4o', undefined, { forceIncludeUsage: true }), new Map());
    const filter = 'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}\n\n';
    const first = stream.push(encoder.encode(filter));
    assert.equal(decoder.decode(first.body), filter);
    assert.equal(first.responseModel, undefined);
    assert.equal(first.usage, undefined);
    const content = stream.push(encoder.encode('data: {"choices":[{"index":0,"delta":{"content":"Hi"}}],"id":"c1","model":"gpt-4o-2024-08-06"}\n\n'));
    assert.equal(content.responseModel, 'gpt-4o-2024-08-06');
    const late = stream.push(encoder.encode(filter));
    assert.equal(late.responseModel, 'gpt-4o-2024-08-06');
  });
});
