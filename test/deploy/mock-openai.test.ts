/** tools/mock-openai.mjs, the compose stack's provider, speaks the OpenAI wire format to the official client. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { REPO_ROOT } from '../../scripts/envoy-generate.js';

describe('tools/mock-openai.mjs', () => {
  let child: ChildProcess;
  let baseURL = '';

  before(async () => {
    child = spawn(process.execPath, [join(REPO_ROOT, 'tools/mock-openai.mjs')], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout?.setEncoding('utf8');
    while (!/listening on (http:\S+)/.test(output)) {
      const [chunk] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [string];
      output += chunk;
    }
    baseURL = `${/listening on (http:\S+)/.exec(output)?.[1]}/v1`;
  });

  after(async () => {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  });

  it('answers chat completions with usage, buffered and streamed', async () => {
    const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'mock-gpt', messages: [{ role: 'user', content: 'ping' }] });
    assert.match(completion.choices[0]?.message.content ?? '', /You said: ping/);
    assert.equal(completion.usage?.total_tokens, (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0));

    const stream = await client.chat.completions.create({
      model: 'mock-gpt',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usageChunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usageChunks++;
    }
    assert.match(text, /You said: stream please/);
    assert.equal(usageChunks, 1);
  });

  it('answers embeddings and the model list, and rejects bad JSON with an OpenAI error', async () => {
    const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
    const embeddings = await client.embeddings.create({ model: 'e', input: ['a', 'bb'] });
    assert.equal(embeddings.data.length, 2);
    const models = await client.models.list();
    assert.deepEqual(models.data.map((model) => model.id), ['mock-gpt']);
    const response = await fetch(`${baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'invalid_json');
  });
});
