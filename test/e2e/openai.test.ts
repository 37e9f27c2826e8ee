/**
 * End to end, the OpenAI-compatible path: the official `openai` client -> Envoy stand-in -> llm-extproc ->
 * mock upstream, in both upstreamFilter modes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { lastRecord, NS, TOKEN_COSTS_YAML } from '../helpers/e2e-common.js';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { collectChatStream } from '../helpers/openai-stream.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';

function configYaml(upstreamFilter: boolean): string {
  return `
backends:
  - name: primary
    schema: OpenAI
    endpoint: https://api.openai.com
    auth: { apiKey: { env: PRIMARY_KEY } }
    headers: { set: { x-team: ml }, remove: [x-debug] }
  - name: secondary
    schema: OpenAI
    endpoint: https://secondary.example.com
    auth: { apiKey: { value: sk-secondary } }
  - name: byok
    schema: OpenAI
    endpoint: http://ollama.local:11434
models:
  - name: gpt-4o-mini
    backends:
      - { backend: primary, modelNameOverride: gpt-4o-mini-2024-07-18, priority: 0 }
      - { backend: secondary, priority: 1 }
  - name: llama
    backends: [{ backend: byok, modelNameOverride: llama3.2 }]
${TOKEN_COSTS_YAML}
envoy:
  upstreamFilter: ${upstreamFilter}
`;
}

for (const upstreamFilter of [true, false]) {
  describe(`OpenAI path end to end (upstreamFilter: ${upstreamFilter})`, () => {
    let gateway: Gateway;
    let primary: OpenAIMock;
    let secondary: OpenAIMock;
    let byok: OpenAIMock;
    let client: OpenAI;

    before(async () => {
      [primary, secondary, byok] = await Promise.all([startOpenAIMock(), startOpenAIMock({ reply: 'secondary answers' }), startOpenAIMock()]);
      gateway = await startGateway({
        configYaml: configYaml(upstreamFilter),
        env: { PRIMARY_KEY: 'sk-primary-secret' },
        upstreams: { primary: primary.url, secondary: secondary.url, byok: byok.url },
      });
      client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'client-key', maxRetries: 0, defaultHeaders: { 'x-debug': 'yes' } });
    });
    after(async () => {
      await gateway.close();
      await Promise.all([primary.close(), secondary.close(), byok.close()]);
    });

    it('serves a chat completion with the model override, backend credentials and usage metadata', async () => {
      primary.options = {};
      const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(completion.choices[0]?.message.content, 'Hello from the mock upstream.');
      const upstream = primary.requests.at(-1);
      assert.ok(upstream);
      assert.equal(upstream.path, '/v1/chat/completions');
      assert.equal(upstream.json?.['model'], 'gpt-4o-mini-2024-07-18');
      assert.equal(upstream.headers['authorization'], 'Bearer sk-primary-secret', 'the client key never reaches a backend with auth');
      assert.equal(upstream.headers['x-team'], 'ml');
      assert.equal(upstream.headers['x-debug'], undefined);
      assert.equal(Number(upstream.headers['content-length']), upstream.body.length);
      const record = await lastRecord(gateway);
      assert.equal(record.status, 200);
      assert.deepEqual(
        [record.metadata[NS]?.['llm_input_token'], record.metadata[NS]?.['llm_output_token'], record.metadata[NS]?.['llm_total_token']],
        [12, 5, 17],
      );
      assert.equal(record.metadata[NS]?.['backend_name'], 'primary');
      assert.equal(record.metadata[NS]?.['model_name_override'], 'gpt-4o-mini-2024-07-18');
      assert.equal(record.metadata[NS]?.['response_model'], 'gpt-4o-mini-2024-07-18');
    });

    it('streams, hides the usage chunk it asked for, and still reports usage', async () => {
      primary.options = {};
      const { text, usageChunks } = await collectChatStream(await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
      assert.equal(text, 'Hello from the mock upstream.');
      assert.equal(usageChunks, 0, 'the client did not ask for usage');
      assert.deepEqual(primary.requests.at(-1)?.json?.['stream_options'], { include_usage: true });
      const record = await lastRecord(gateway);
      assert.equal(record.metadata[NS]?.['llm_total_token'], 17);
    });

    it('a paced stream writes running usage, then the reported usage, not marked estimated', async () => {
      // Chunks 60 ms apart: running metadata (a local estimate) is written mid-stream before the usage chunk arrives.
      primary.options = { chunkDelayMs: 60 };
      await collectChatStream(await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
      primary.options = {};
      const record = await lastRecord(gateway);
      assert.equal(record.metadata[NS]?.['llm_total_token'], 17);
      assert.equal(record.metadata[NS]?.['usage_estimated'], false);
      const text = await gateway.metrics.registry.metrics();
      assert.doesNotMatch(text, /gen_ai_client_token_usage_count\{[^}]*usage_estimated="true"/);
    });

    it('passes the usage chunk through when the client asks for it', async () => {
      primary.options = {};
      const { usage } = await collectChatStream(
        await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }),
      );
      assert.equal(usage?.total_tokens, 17);
    });

    it('decodes gzip upstream answers, streamed and buffered', async () => {
      primary.options = { gzip: true };
      const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(completion.choices[0]?.message.content, 'Hello from the mock upstream.');
      const record = await lastRecord(gateway);
      assert.equal(record.metadata[NS]?.['llm_total_token'], 17);
      primary.options = {};
    });

    it('serves completions and embeddings', async () => {
      const completion = await client.completions.create({ model: 'gpt-4o-mini', prompt: 'say' });
      assert.equal(completion.choices[0]?.text, 'completed');
      assert.equal(primary.requests.at(-1)?.path, '/v1/completions');
      const embedding = await client.embeddings.create({ model: 'gpt-4o-mini', input: 'x' });
      assert.deepEqual(embedding.data[0]?.embedding.map((value) => Math.round(value * 10) / 10), [0.1, 0.2, 0.3]);
      const record = await lastRecord(gateway);
      assert.equal(record.metadata[NS]?.['llm_input_token'], 5);
    });

    it('forwards the client key to a backend without auth', async () => {
      await client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(byok.requests.at(-1)?.headers['authorization'], 'Bearer client-key');
      assert.equal(byok.requests.at(-1)?.json?.['model'], 'llama3.2');
    });

    it('lists the configured models', async () => {
      const models = await client.models.list();
      assert.deepEqual(models.data.map((model) => model.id).sort(), ['gpt-4o-mini', 'llama']);
    });

    if (upstreamFilter) {
      it('falls back from a backend answering 503 to the next priority, translated from the original body', async () => {
        primary.options = { failWith: 503 };
        const before = secondary.requests.length;
        const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
        assert.equal(completion.choices[0]?.message.content, 'secondary answers');
        const upstream = secondary.requests.at(-1);
        assert.equal(secondary.requests.length, before + 1);
        assert.equal(upstream?.json?.['model'], 'gpt-4o-mini', 'no override for the secondary');
        assert.equal(upstream?.headers['authorization'], 'Bearer sk-secondary');
        assert.equal(upstream?.headers['x-team'], undefined, "the primary's headers do not leak to the secondary");
        assert.equal(upstream?.headers['x-debug'], 'yes', "the primary's removals are undone");
        const record = await lastRecord(gateway);
        assert.equal(record.attempts.length, 2);
        assert.equal(record.metadata[NS]?.['backend_name'], 'secondary');
        primary.options = {};
      });
    }

    it('keeps the upstream error status and OpenAI error shape', async () => {
      primary.options = { failWith: 400 };
      await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }), (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.equal(error.status, 400);
        assert.match(error.message, /mock failure 400/);
        return true;
      });
      const record = await lastRecord(gateway);
      assert.equal(typeof record.metadata[NS]?.['llm_total_token'], 'number', 'every terminal path writes numeric costs');
      primary.options = {};
    });

    for (const [name, init, status] of [
      ['malformed JSON', { method: 'POST', path: '/v1/chat/completions', body: '{"model":', type: 'application/json' }, 400],
      ['unknown model', { method: 'POST', path: '/v1/chat/completions', body: '{"model":"nope","messages":[]}', type: 'application/json' }, 404],
      ['unknown path', { method: 'POST', path: '/v1/unknown', body: '{}', type: 'application/json' }, 404],
      ['wrong content-type', { method: 'POST', path: '/v1/chat/completions', body: 'model=x', type: 'application/x-www-form-urlencoded' }, 400],
    ] as const) {
      it(`answers ${name} with ${status} in OpenAI error JSON and keeps serving`, async () => {
        const response = await fetch(`${gateway.url}${init.path}`, { method: init.method, body: init.body, headers: { 'content-type': init.type } });
        assert.equal(response.status, status);
        assert.match(response.headers.get('content-type') ?? '', /application\/json/);
        const body = (await response.json()) as { error?: { message?: unknown; type?: unknown; param?: unknown; code?: unknown } };
        assert.equal(typeof body.error?.message, 'string');
        assert.equal(typeof body.error?.type, 'string');
        assert.ok(body.error && 'param' in body.error && 'code' in body.error);
        const record = await lastRecord(gateway);
        if (init.path === '/v1/chat/completions') assert.equal(typeof record.metadata[NS]?.['llm_total_token'], 'number');
        const again = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still there?' }] });
        assert.ok(again.choices[0]?.message.content);
      });
    }
  });
}
