import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { awsSigV4Headers } from '../../src/auth/aws-sigv4.js';
import type { ResolvedBackend } from '../../src/config/load.js';
import { Secret } from '../../src/config/secret.js';
import { EventStreamDecoder, headerString } from '../../src/core/aws-eventstream.js';
import { FIXTURES_ROOT } from '../helpers/fixtures.js';
import { startBedrockMock, type BedrockMock } from './bedrock-mock.js';
import { validateConverseRequest, validateInvokeClaudeRequest } from './bedrock-validate.js';

const CREDS = { accessKeyId: 'AKIDMOCK', secretAccessKey: 'mock-secret', region: 'us-west-2' };
const MODEL_PATH = `/model/${encodeURIComponent('anthropic.claude-3-5-sonnet-20240620-v1:0')}`;

let mock: BedrockMock;
before(async () => {
  mock = await startBedrockMock({ credentials: CREDS });
});
after(() => mock.close());

async function send(path: string, body: unknown, secret = CREDS.secretAccessKey): Promise<Response> {
  const aws = { region: CREDS.region, accessKeyId: Secret.of(CREDS.accessKeyId), secretAccessKey: Secret.of(secret) };
  const backend: ResolvedBackend = {
    name: 'bedrock',
    schema: 'AWSBedrock',
    endpoint: mock.url,
    prefix: '/v1',
    headers: { set: {}, remove: [] },
    streamOptions: true,
    credentials: { aws },
    host: new URL(mock.url).host,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  const { set } = await awsSigV4Headers(backend, aws, { method: 'POST', path, host: 'ignored.example', body: bytes });
  return fetch(`${mock.url}${path}`, { method: 'POST', headers: { ...set, 'content-type': 'application/json' }, body: bytes });
}

const user = (text: string) => ({ role: 'user', content: [{ text }] });
const assistant = (text: string) => ({ role: 'assistant', content: [{ text }] });

describe('bedrock mock', () => {
  it('answers a signed Converse request', async () => {
    const response = await send(`${MODEL_PATH}/converse`, { messages: [user('hello')] });
    assert.equal(response.status, 200);
    const json = (await response.json()) as { output: { message: { content: { text: string }[] } }; stopReason: string };
    assert.equal(json.output.message.content[0]?.text, 'Echo: hello');
    assert.equal(json.stopReason, 'end_turn');
    const recorded = mock.requests.at(-1);
    assert.equal(recorded?.modelId, 'anthropic.claude-3-5-sonnet-20240620-v1:0');
    assert.deepEqual(recorded?.signature, { ok: true });
  });

  it('rejects a bad signature with 403', async () => {
    const response = await send(`${MODEL_PATH}/converse`, { messages: [user('hello')] }, 'wrong-secret');
    assert.equal(response.status, 403);
    assert.match(response.headers.get('x-amzn-errortype') ?? '', /^InvalidSignatureException/);
  });

  const invalid: [string, unknown, RegExp][] = [
    ['empty text block', { messages: [{ role: 'user', content: [{ text: '' }] }] }, /is blank/],
    ['empty content', { messages: [{ role: 'user', content: [] }] }, /must not be empty/],
    ['first message not user', { messages: [assistant('hi'), user('x')] }, /must start with a user message/],
    ['wrong role order', { messages: [user('a'), user('b')] }, /must alternate/],
    ['image format jpg', { messages: [{ role: 'user', content: [{ image: { format: 'jpg', source: { bytes: 'AAAA' } } }] }] }, /enum value set/],
    [
      'toolResult without a prior toolUse',
      {
        messages: [user('a'), assistant('b'), { role: 'user', content: [{ toolResult: { toolUseId: 't9', content: [{ text: 'r' }] } }] }],
        toolConfig: { tools: [{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object' } } } }] },
      },
      /no toolUse block in the previous turn/,
    ],
    [
      'toolUse without toolConfig',
      { messages: [user('a'), { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'f', input: {} } }] }] },
      /toolConfig field must be defined/,
    ],
    [
      'a tool element with toolSpec and cachePoint',
      { messages: [user('a')], toolConfig: { tools: [{ toolSpec: { name: 'f', inputSchema: { json: {} } }, cachePoint: { type: 'default' } }] } },
      /exactly one of toolSpec, cachePoint/,
    ],
    ['an extraneous key', { messages: [user('a')], model: 'x' }, /extraneous key \[model\]/],
  ];
  for (const [name, body, pattern] of invalid) {
    it(`rejects ${name} with a ValidationException`, async () => {
      const response = await send(`${MODEL_PATH}/converse`, body);
      assert.equal(response.status, 400);
      assert.match(response.headers.get('x-amzn-errortype') ?? '', /^ValidationException/);
      const json = (await response.json()) as { message: string };
      assert.match(json.message, pattern);
    });
  }

  it('streams ConverseStream as binary event-stream frames', async () => {
    const response = await send(`${MODEL_PATH}/converse-stream`, { messages: [user('stream me please')] });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/vnd.amazon.eventstream');
    const decoded = new EventStreamDecoder().push(new Uint8Array(await response.arrayBuffer()));
    assert.equal(decoded.error, undefined);
    const types = decoded.messages.map((message) => headerString(message, ':event-type'));
    assert.equal(types[0], 'messageStart');
    assert.deepEqual(types.slice(-2), ['messageStop', 'metadata']);
    const text = decoded.messages
      .filter((message) => headerString(message, ':event-type') === 'contentBlockDelta')
      .map((message) => (JSON.parse(new TextDecoder().decode(message.body)) as { delta: { text: string } }).delta.text)
      .join('');
    assert.equal(text, 'Echo: stream me please');
  });

  it('injects scripted errors and stream exceptions', async () => {
    mock.script({ error: { status: 429, type: 'ThrottlingException', message: 'slow down' } });
    const throttled = await send(`${MODEL_PATH}/converse`, { messages: [user('x')] });
    assert.equal(throttled.status, 429);
    mock.script({ exception: { type: 'modelStreamErrorException', message: 'boom', afterFrames: 1 } });
    const stream = await send(`${MODEL_PATH}/converse-stream`, { messages: [user('x')] });
    const decoded = new EventStreamDecoder().push(new Uint8Array(await stream.arrayBuffer()));
    assert.deepEqual(decoded.messages.map((message) => headerString(message, ':message-type')), ['event', 'exception']);
  });

  it('answers signed Titan and Cohere embedding requests, and refuses what Bedrock refuses', { timeout: 10_000 }, async () => {
    const titan = `/model/${encodeURIComponent('amazon.titan-embed-text-v2:0')}/invoke`;
    const vector = await send(titan, { inputText: 'hello', dimensions: 256, normalize: true });
    assert.equal(vector.status, 200);
    const json = (await vector.json()) as { embedding: number[]; inputTextTokenCount: number };
    assert.equal(json.embedding.length, 256);
    assert.equal(json.inputTextTokenCount, 2);
    assert.equal((await send(titan, { inputText: 'hello', dimensions: 100 })).status, 400);
    assert.equal((await send(titan, { inputText: 'hello', texts: ['x'] })).status, 400, 'unknown keys are refused');
    const cohere = `/model/${encodeURIComponent('cohere.embed-english-v3')}/invoke`;
    const texts = await send(cohere, { texts: ['a', 'b'], input_type: 'search_document', embedding_types: ['float'] });
    assert.equal(texts.status, 200);
    assert.equal(texts.headers.get('x-amzn-bedrock-input-token-count'), '2');
    assert.equal(((await texts.json()) as { embeddings: { float: number[][] } }).embeddings.float.length, 2);
    assert.equal((await send(cohere, { texts: ['a'] })).status, 400, 'input_type is required');
    assert.equal((await send(cohere, { texts: Array.from({ length: 97 }, () => 'a'), input_type: 'search_query' })).status, 400, 'at most 96 texts');
  });

  it('accepts every translated embeddings golden request that the golden answers with success', { timeout: 20_000 }, async () => {
    const dir = join(FIXTURES_ROOT, 'openai-to-bedrock-embeddings');
    let checked = 0;
    for (const name of readdirSync(dir)) {
      if (!existsSync(join(dir, name, 'upstream-request.json'))) continue;
      const status = (JSON.parse(readFileSync(join(dir, name, 'case.json'), 'utf8')) as { status?: number }).status ?? 200;
      const { path } = JSON.parse(readFileSync(join(dir, name, 'upstream-request.meta.json'), 'utf8')) as { path: string };
      const response = await send(path, JSON.parse(readFileSync(join(dir, name, 'upstream-request.json'), 'utf8')));
      assert.equal(response.status, status, `${name}: ${await response.text()}`);
      checked += 1;
    }
    assert.ok(checked >= 6, `only ${checked} golden requests found`);
  });

  it('checks InvokeModel Claude bodies', async () => {
    const missing = await send(`${MODEL_PATH}/invoke`, { max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(missing.status, 400);
    const withModel = await send(`${MODEL_PATH}/invoke`, { anthropic_version: 'bedrock-2023-05-31', model: 'x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(withModel.status, 400);
    const good = await send(`${MODEL_PATH}/invoke`, { anthropic_version: 'bedrock-2023-05-31', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(good.status, 200);
    const json = (await good.json()) as { type: string; content: { text: string }[] };
    assert.equal(json.type, 'message');
    assert.equal(json.content[0]?.text, 'Echo: hi');
  });
});

for (const [pair, validate, minimum] of [
  ['openai-to-bedrock-converse', validateConverseRequest, 10],
  ['openai-to-aws-anthropic', validateInvokeClaudeRequest, 5],
] as const) {
  describe(`translated golden requests are valid for Bedrock (${pair})`, () => {
    const dir = join(FIXTURES_ROOT, pair);
    const cases = existsSync(dir) ? readdirSync(dir).filter((name) => existsSync(join(dir, name, 'upstream-request.json'))) : [];
    it('finds translated requests', () => assert.ok(cases.length >= minimum));
    for (const name of cases) {
      it(name, () => {
        const body: unknown = JSON.parse(readFileSync(join(dir, name, 'upstream-request.json'), 'utf8'));
        assert.equal(validate(body), undefined);
      });
    }
  });
}
