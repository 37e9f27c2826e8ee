/** Anthropic Messages client: native request editing (byte-preserving) and the reverse request mapping to OpenAI. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../../src/core/errors.js';
import { findShippedTranslator } from '../helpers/components.js';
import { bedrockBetaFlags, buildOpenAIChatBody } from '../../src/translators/anthropic-ingress/index.js';
import { reasoningEffortOf } from '../../src/translators/anthropic-ingress/to-openai-request.js';
import type { Translator, Warning } from '../../src/translators/types.js';
import { ingressContext } from './anthropic-ingress-context.js';

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function translator(schema: 'Anthropic' | 'AWSAnthropic' | 'GCPAnthropic' | 'OpenAI' | 'AzureOpenAI'): Translator {
  const found = findShippedTranslator('anthropic', 'messages', schema);
  assert.ok(found, `no anthropic/messages translator for ${schema}`);
  return found;
}

describe('native Anthropic request', () => {
  const raw = '{ "model" : "alias",\n  "max_tokens": 1.0e3, "x_future": {"a": [1, 2.50]},\t"messages": [{"role":"user","content":"h\\u00e9"}] }';
  const body = JSON.parse(raw) as Record<string, unknown>;

  it('passes the client bytes unchanged when the model is not overridden', () => {
    const ctx = ingressContext(body, { schema: 'Anthropic', raw, upstreamModel: 'alias' });
    const request = translator('Anthropic').request(ctx);
    assert.equal(request.body, ctx.rawBody);
    assert.equal(request.path, '/v1/messages');
  });

  it('replaces only the model bytes on override', () => {
    const ctx = ingressContext(body, { schema: 'Anthropic', raw, upstreamModel: 'claude-sonnet-4-5-20250929' });
    const request = translator('Anthropic').request(ctx);
    assert.equal(decode(request.body), raw.replace('"alias"', '"claude-sonnet-4-5-20250929"'));
  });

  it('keeps the client anthropic-version, else the backend apiVersion, else 2023-06-01', () => {
    const anthropic = translator('Anthropic');
    const withHeader = ingressContext(body, { schema: 'Anthropic', raw, headers: { 'anthropic-version': '2024-01-01' }, backend: { apiVersion: '2023-01-01' } });
    assert.equal(anthropic.request(withHeader).setHeaders['anthropic-version'], '2024-01-01');
    const fromBackend = ingressContext(body, { schema: 'Anthropic', raw, backend: { apiVersion: '2023-01-01' } });
    assert.equal(anthropic.request(fromBackend).setHeaders['anthropic-version'], '2023-01-01');
    assert.equal(anthropic.request(ingressContext(body, { schema: 'Anthropic', raw })).setHeaders['anthropic-version'], '2023-06-01');
  });

  it('removes model and stream for Bedrock and keeps every other byte', () => {
    const streamRaw = raw.replace('"max_tokens"', '"stream": true, "max_tokens"');
    const ctx = ingressContext(JSON.parse(streamRaw) as Record<string, unknown>, { schema: 'AWSAnthropic', raw: streamRaw });
    const request = translator('AWSAnthropic').request(ctx);
    const text = decode(request.body);
    assert.ok(text.startsWith('{ "max_tokens": 1.0e3, "x_future": {"a": [1, 2.50]},\t"messages": [{"role":"user","content":"h\\u00e9"}]'), text);
    assert.deepEqual(JSON.parse(text), { max_tokens: 1000, x_future: { a: [1, 2.5] }, messages: [{ role: 'user', content: 'hé' }], anthropic_version: 'bedrock-2023-05-31' });
    assert.equal(request.path, '/model/alias/invoke-with-response-stream');
    assert.deepEqual(request.removeHeaders, ['anthropic-version', 'anthropic-beta']);
  });

  it('re-serialises when the bytes cannot be scanned (leading BOM) instead of failing', () => {
    const bomRaw = `\ufeff${JSON.stringify(body)}`;
    const ctx = ingressContext(body, { schema: 'GCPAnthropic', raw: bomRaw, backend: { credentials: { gcp: { projectId: 'p', region: 'r' } } } });
    const request = translator('GCPAnthropic').request(ctx);
    const sent = JSON.parse(decode(request.body)) as Record<string, unknown>;
    assert.equal(sent.model, undefined);
    assert.equal(sent.anthropic_version, 'vertex-2023-10-16');
  });
});

describe('Bedrock anthropic-beta allow-list', () => {
  it('keeps known flags once, in order, and warns for each dropped flag', () => {
    const warnings: Warning[] = [];
    const flags = bedrockBetaFlags(' claude-code-20250219,interleaved-thinking-2025-05-14,,interleaved-thinking-2025-05-14, context-1m-2025-08-07,made-up', warnings);
    assert.deepEqual(flags, ['interleaved-thinking-2025-05-14', 'context-1m-2025-08-07']);
    assert.deepEqual(
      warnings.map((warning) => warning.detail),
      [
        'anthropic-beta flag "claude-code-20250219" is not accepted by Bedrock and was dropped',
        'anthropic-beta flag "made-up" is not accepted by Bedrock and was dropped',
      ],
    );
  });

  it('leaves anthropic_beta out of the body when no flag survives', () => {
    const ctx = ingressContext({ model: 'm', max_tokens: 5, messages: [] }, { schema: 'AWSAnthropic', headers: { 'anthropic-beta': 'oauth-2025-04-20' } });
    const request = translator('AWSAnthropic').request(ctx);
    assert.equal((JSON.parse(decode(request.body)) as Record<string, unknown>).anthropic_beta, undefined);
    assert.equal(request.warnings?.length, 1);
  });
});

describe('Anthropic -> OpenAI request', () => {
  const build = (body: Record<string, unknown>, warnings: Warning[] = []) => buildOpenAIChatBody(ingressContext(body), warnings);

  it('maps tool_choice variants and drops tool_choice without tools', () => {
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    const base = { model: 'm', max_tokens: 5, messages: [], tools };
    assert.equal(build({ ...base, tool_choice: { type: 'auto' } }).tool_choice, 'auto');
    assert.equal(build({ ...base, tool_choice: { type: 'none' } }).tool_choice, 'none');
    assert.equal(build({ ...base, tool_choice: { type: 'any' } }).tool_choice, 'required');
    assert.deepEqual(build({ ...base, tool_choice: { type: 'tool', name: 'f' } }).tool_choice, { type: 'function', function: { name: 'f' } });
    const noTools = build({ model: 'm', max_tokens: 5, messages: [], tool_choice: { type: 'any', disable_parallel_tool_use: true } });
    assert.equal(noTools.tool_choice, undefined);
    assert.equal(noTools.parallel_tool_calls, undefined);
  });

  it('maps thinking budgets and output_config.effort to reasoning_effort', () => {
    assert.equal(reasoningEffortOf({ type: 'enabled', budget_tokens: 1024 }, undefined), 'low');
    assert.equal(reasoningEffortOf({ type: 'enabled', budget_tokens: 4096 }, undefined), 'medium');
    assert.equal(reasoningEffortOf({ type: 'enabled', budget_tokens: 16384 }, undefined), 'high');
    assert.equal(reasoningEffortOf({ type: 'disabled' }, undefined), undefined);
    assert.equal(reasoningEffortOf({ type: 'adaptive' }, { effort: 'low' }), 'low');
    assert.equal(reasoningEffortOf({ type: 'enabled', budget_tokens: 30000 }, { effort: 'medium' }), 'medium');
  });

  it('sends tool results right after the tool calls, before the rest of the user turn', () => {
    const out = build({
      model: 'm',
      max_tokens: 5,
      messages: [
        { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'f', input: { a: 1 } }] },
        { role: 'user', content: [{ type: 'text', text: 'also this' }, { type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: 'ok' }], is_error: true }] },
      ],
    });
    assert.deepEqual(out.messages, [
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'ok' },
      { role: 'user', content: 'also this' },
    ]);
  });

  it('turns a PDF document into a file part and a text document into text', () => {
    const out = build({
      model: 'm',
      max_tokens: 5,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', title: 'spec.pdf', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain words' } },
          ],
        },
      ],
    });
    assert.deepEqual(out.messages, [
      {
        role: 'user',
        content: [
          { type: 'file', file: { filename: 'spec.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
          { type: 'text', text: 'plain words' },
        ],
      },
    ]);
  });

  it('rejects what OpenAI cannot take with a 422 naming the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ messages: [{ role: 'system', content: 'x' }] }, /messages\[0\]\.role/],
      [{ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] }, /image source type "file"/],
      [{ messages: 'nope' }, /messages must be an array/],
      [{ messages: [], tools: [{ type: 'bash_20250124', name: 'bash' }] }, /server tool/],
      [{ messages: [], tools: [{ name: 'f' }], tool_choice: { type: 'sometimes' } }, /tool_choice "sometimes"/],
    ];
    for (const [extra, pattern] of cases) {
      assert.throws(
        () => build({ model: 'm', max_tokens: 5, ...extra }),
        (error: unknown) => GatewayError.isInstance(error) && error.status === 422 && pattern.test(error.message),
        pattern.source,
      );
    }
  });

  it('drops thinking blocks silently and unknown blocks with a warning', () => {
    const warnings: Warning[] = [];
    const out = build(
      {
        model: 'm',
        max_tokens: 5,
        messages: [{ role: 'assistant', content: [{ type: 'redacted_thinking', data: 'x' }, { type: 'server_tool_use', id: 's', name: 'web_search', input: {} }, { type: 'text', text: 'hi' }] }],
      },
      warnings,
    );
    assert.deepEqual(out.messages, [{ role: 'assistant', content: 'hi' }]);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.kind, 'unsupported_content');
  });

  it('asks for usage on streams unless the backend disables stream_options', () => {
    const body = { model: 'm', max_tokens: 5, stream: true, messages: [] };
    assert.deepEqual(buildOpenAIChatBody(ingressContext(body), []).stream_options, { include_usage: true });
    const ctx = ingressContext(body, { backend: { streamOptions: false } });
    assert.equal(buildOpenAIChatBody(ctx, []).stream_options, undefined);
    assert.equal(buildOpenAIChatBody(ctx, []).stream, true);
  });

  it('removes Anthropic headers and uses the Azure deployment path', () => {
    const ctx = ingressContext({ model: 'alias', max_tokens: 5, messages: [] }, { schema: 'AzureOpenAI', upstreamModel: 'dep/1' });
    const request = translator('AzureOpenAI').request(ctx);
    assert.equal(request.path, '/openai/deployments/dep%2F1/chat/completions?api-version=2024-10-21');
    assert.deepEqual(request.removeHeaders, ['anthropic-version', 'anthropic-beta']);
  });
});
