/**
 * End to end for Azure OpenAI: the official `openai` client -> Envoy stand-in -> llm-extproc -> an
 * OpenAI-compatible mock at Azure's deployment paths, in both upstreamFilter modes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';

for (const upstreamFilter of [true, false]) {
  describe(`Azure OpenAI end to end (upstreamFilter: ${upstreamFilter})`, () => {
    let azure: OpenAIMock;
    let gateway: Gateway;
    let client: OpenAI;

    before(async () => {
      azure = await startOpenAIMock({ reply: 'from azure' });
      gateway = await startGateway({
        configYaml: `
backends:
  - name: azure
    schema: AzureOpenAI
    endpoint: https://my-resource.openai.azure.com
    apiVersion: 2024-10-21
    auth: { azureApiKey: { value: azure-secret } }
models:
  - { name: gpt-4o, backends: [{ backend: azure, modelNameOverride: prod-gpt4o }] }
costs:
  - { metadataKey: llm_total_token, type: TotalToken }
envoy:
  upstreamFilter: ${upstreamFilter}
`,
        upstreams: { azure: azure.url },
      });
      client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'client-key', maxRetries: 0 });
    });
    after(async () => {
      await gateway.close();
      await azure.close();
    });

    it('sends chat to the deployment path with api-version and api-key, and reports usage', async () => {
      const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(completion.choices[0]?.message.content, 'from azure');
      const request = azure.requests.at(-1);
      assert.equal(request?.path, '/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21');
      assert.equal(request?.headers['api-key'], 'azure-secret');
      assert.equal(request?.headers['authorization'], undefined, "the client's key does not reach Azure");
      await gateway.envoy.settled();
      assert.equal(gateway.envoy.requests.at(-1)?.metadata['io.envoy.ai_gateway']?.['llm_total_token'], 14);
    });

    it('streams, with the forced usage hidden from the client', async () => {
      const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      let text = '';
      let sawUsage = false;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        sawUsage ||= Boolean(chunk.usage);
      }
      assert.equal(text, 'from azure');
      assert.equal(sawUsage, false);
      await gateway.envoy.settled();
      assert.equal(gateway.envoy.requests.at(-1)?.metadata['io.envoy.ai_gateway']?.['llm_total_token'], 14);
    });

    it('serves embeddings at the deployment path', async () => {
      const embedding = await client.embeddings.create({ model: 'gpt-4o', input: 'x' });
      assert.equal(embedding.data.length, 1);
      assert.equal(azure.requests.at(-1)?.path, '/openai/deployments/prod-gpt4o/embeddings?api-version=2024-10-21');
    });
  });
}
