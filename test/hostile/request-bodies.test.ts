/**
 * Hostile request bodies end to end (client -> Envoy stand-in -> llm-extproc -> mock upstream), in both
 * upstreamFilter modes: every malformed body gets a clear OpenAI error with the right status and param, nothing
 * reaches the upstream, the metadata still carries numeric costs, and the service keeps serving. Odd-but-valid
 * bodies (BOM, duplicate keys, vendor fields, huge strings) pass through byte-for-byte except the model.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { startOpenAIMock, type OpenAIMock } from '../mocks/openai-mock.js';
import {
  assertAnthropicError,
  assertNumericCosts,
  assertOpenAIError,
  assertStillServing,
  BODY_LIMIT,
  hostileConfig,
  lastRecord,
  MAIN_KEY,
  postChat,
  rawRequest,
  waitForEmptyRegistry,
} from './hostile-helpers.js';

const HI = [{ role: 'user', content: 'hi' }];
const nestedArrays = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);
const nestedObjects = (levels: number): string => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

interface BadCase {
  name: string;
  body: string | Buffer;
  status: number;
  param?: string;
  message?: RegExp;
}

const BAD: BadCase[] = [
  { name: 'truncated JSON', body: '{"model":"gpt-test","messages":[{"role":', status: 400, message: /invalid JSON/ },
  { name: 'a bare string', body: '"gpt-test"', status: 400, message: /JSON object/ },
  { name: 'JSON null', body: 'null', status: 400, message: /JSON object/ },
  { name: 'whitespace only', body: '   \n ', status: 400 },
  { name: 'trailing garbage', body: `${JSON.stringify({ model: 'gpt-test', messages: HI })}}}`, status: 400, message: /invalid JSON/ },
  {
    name: 'invalid UTF-8 inside a string',
    body: Buffer.concat([Buffer.from('{"model":"gpt-test","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}]}')]),
    status: 400,
    message: /UTF-8/,
  },
  { name: 'an overlong UTF-8 encoding of "/"', body: Buffer.concat([Buffer.from('{"model":"gpt-test'), Buffer.from([0xc0, 0xaf]), Buffer.from('","messages":[]}')]), status: 400, message: /UTF-8/ },
  { name: '100k levels of nested arrays as the body', body: nestedArrays(100_000), status: 400, message: /nested deeper/ },
  { name: '100k levels of nested arrays in a vendor field', body: `{"model":"gpt-test","messages":[{"role":"user","content":"hi"}],"x_vendor":${nestedArrays(100_000)}}`, status: 400, message: /nested deeper/ },
  { name: '100k levels of nested arrays in content', body: `{"model":"gpt-test","messages":[{"role":"user","content":${nestedArrays(100_000)}}]}`, status: 400, message: /nested deeper/ },
  { name: '30k levels of nested objects in a tool schema', body: `{"model":"gpt-test","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${nestedObjects(30_000)}}}]}`, status: 400, message: /nested deeper/ },
  { name: 'model is a number', body: '{"model":42,"messages":[]}', status: 400, param: 'model' },
  { name: 'model is a float', body: '{"model":1e308,"messages":[]}', status: 400, param: 'model' },
  { name: 'model is null', body: '{"model":null,"messages":[]}', status: 400, param: 'model' },
  { name: 'model is an object', body: '{"model":{"name":"gpt-test"},"messages":[]}', status: 400, param: 'model' },
  { name: 'model is an array', body: '{"model":["gpt-test"],"messages":[]}', status: 400, param: 'model' },
  { name: 'model is true', body: '{"model":true,"messages":[]}', status: 400, param: 'model' },
  { name: 'model is missing', body: '{"messages":[]}', status: 400, param: 'model' },
  { name: 'model is empty', body: '{"model":"","messages":[]}', status: 400, param: 'model' },
  { name: 'model is unknown', body: '{"model":"gpt-nope","messages":[]}', status: 404, param: 'model' },
  { name: 'model differs only in case', body: '{"model":"GPT-TEST","messages":[]}', status: 404, param: 'model' },
  { name: 'model with a trailing space', body: '{"model":"gpt-test ","messages":[]}', status: 404, param: 'model' },
  { name: 'model in non-ASCII', body: JSON.stringify({ model: 'gpt-テスト-😀', messages: [] }), status: 404, param: 'model' },
  { name: 'stream is a string', body: JSON.stringify({ model: 'gpt-test', messages: HI, stream: 'true' }), status: 400, param: 'stream' },
  { name: 'stream is 1', body: JSON.stringify({ model: 'gpt-test', messages: HI, stream: 1 }), status: 400, param: 'stream' },
  { name: 'stream is an object', body: JSON.stringify({ model: 'gpt-test', messages: HI, stream: {} }), status: 400, param: 'stream' },
  // Bulky nested strings are not parsed in the router phase (their outline is): each is still checked as JSON.parse would.
  { name: 'a raw newline inside a long message (over 16 KiB)', body: `{"model":"gpt-test","messages":[{"role":"user","content":"${'a'.repeat(20_000)}\n${'b'.repeat(600)}"}]}`, status: 400, message: /invalid JSON/ },
  { name: 'a raw NUL at the end of a long message', body: `{"model":"gpt-test","messages":[{"role":"user","content":"${'a'.repeat(1200)}\u0000"}]}`, status: 400, message: /invalid JSON/ },
  { name: 'an unknown escape (\\x) inside a long message', body: `{"model":"gpt-test","messages":[{"role":"user","content":"${'a'.repeat(600)}\\x41"}]}`, status: 400, message: /invalid JSON/ },
  { name: 'a short \\u escape inside a long message', body: `{"model":"gpt-test","messages":[{"role":"user","content":"${'a'.repeat(600)}\\u12G4"}]}`, status: 400, message: /invalid JSON/ },
  { name: 'an unterminated long message', body: `{"model":"gpt-test","messages":[{"role":"user","content":"${'a'.repeat(600)}}]}`, status: 400, message: /invalid JSON/ },
  { name: 'duplicate model keys, the last unknown', body: '{"model":"gpt-test","model":"gpt-nope","messages":[]}', status: 404, param: 'model' },
];

for (const upstreamFilter of [true, false]) {
  describe(`hostile request bodies (upstreamFilter: ${upstreamFilter})`, () => {
    let gw: Gateway;
    let mock: OpenAIMock;

    before(async () => {
      mock = await startOpenAIMock();
      gw = await startGateway({ configYaml: hostileConfig({ upstreamFilter }), env: { MAIN_KEY }, upstreams: { main: mock.url, open: mock.url } });
    });
    after(async () => {
      await gw.close();
      await mock.close();
    });

    for (const bad of BAD) {
      it(`${bad.name} -> ${bad.status} in OpenAI error JSON, nothing sent upstream`, async () => {
        const sentBefore = mock.requests.length;
        const response = await postChat(gw, bad.body);
        const error = assertOpenAIError(response, bad.status, bad.message);
        if (bad.param !== undefined) assert.equal(error['param'], bad.param);
        assert.equal(mock.requests.length, sentBefore, 'the upstream never saw the request');
        assertNumericCosts(await lastRecord(gw));
      });
    }

    it('a very long model name: 404 with a bounded message (no echo of 100 KB)', async () => {
      const response = await postChat(gw, JSON.stringify({ model: 'm'.repeat(100_000), messages: HI }));
      const error = assertOpenAIError(response, 404);
      assert.ok((error['message'] as string).length < 400, `message of ${(error['message'] as string).length} chars`);
      assert.ok(response.body.length < 1000);
    });

    it('a model with control characters: 404, escaped in the JSON body, never a header', async () => {
      const model = 'gpt\u0000\r\nx-injected: yes\r\n\u001b[31m';
      const response = await postChat(gw, JSON.stringify({ model, messages: HI }));
      const error = assertOpenAIError(response, 404);
      assert.ok((error['message'] as string).includes(model), 'the name is carried intact, JSON-escaped');
      assert.equal(response.headers['x-injected'], undefined);
      const record = await lastRecord(gw);
      assert.ok(!record.routedHeaders.some(([name]) => name === 'x-injected'));
      assert.ok(!record.routedHeaders.some(([name, value]) => name === 'x-ai-eg-model' && value.includes('\n')));
    });

    it('an empty body with content-length 0 -> 400 missing body', async () => {
      const response = await rawRequest(gw.url, { path: '/v1/chat/completions', body: '', headers: { 'content-type': 'application/json', 'content-length': '0' } });
      assertOpenAIError(response, 400, /body is required/);
      assertNumericCosts(await lastRecord(gw));
    });

    it('an empty chunked body -> 400', async () => {
      const response = await rawRequest(gw.url, { path: '/v1/chat/completions', body: '', chunked: true, headers: { 'content-type': 'application/json' } });
      assertOpenAIError(response, 400);
    });

    it('a declared content-length over limits.maxRequestBodyBytes -> 413 before the body is read', async () => {
      const body = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'x'.repeat(BODY_LIMIT) }] });
      const sentBefore = mock.requests.length;
      const response = await postChat(gw, body);
      assertOpenAIError(response, 413, /exceeds the limit/);
      assert.equal(mock.requests.length, sentBefore);
      const record = await lastRecord(gw);
      assertNumericCosts(record);
      assert.equal(record.streams[0]?.sent.length, 1, 'answered at the request headers');
    });

    it('a chunked body over the limit (no content-length) -> 413 from the body check', async () => {
      const body = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'y'.repeat(BODY_LIMIT + 10) }] });
      const response = await rawRequest(gw.url, { path: '/v1/chat/completions', body, chunked: true, headers: { 'content-type': 'application/json' } });
      assertOpenAIError(response, 413, /exceeds the limit/);
      assertNumericCosts(await lastRecord(gw));
    });

    it('a body exactly at the limit is accepted', async () => {
      const skeleton = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: '' }] });
      const body = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'z'.repeat(BODY_LIMIT - skeleton.length) }] });
      assert.equal(Buffer.byteLength(body), BODY_LIMIT);
      const response = await postChat(gw, body);
      assert.equal(response.status, 200, response.text.slice(0, 200));
    });

    it('a huge string (200 KB of one "word") passes through whole', async () => {
      const content = 'q'.repeat(200_000);
      const response = await postChat(gw, JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content }] }));
      assert.equal(response.status, 200);
      const upstream = mock.requests.at(-1)?.json as { messages?: Array<{ content?: string }> } | undefined;
      assert.equal(upstream?.messages?.[0]?.content, content);
    });

    it('`messages` of the wrong type is the upstream’s call on the passthrough path: forwarded unchanged', async () => {
      const body = '{"model":"open-model","messages":"hi"}';
      const response = await postChat(gw, body);
      assert.equal(response.status, 200);
      assert.equal(mock.requests.at(-1)?.body.toString(), body);
    });

    it('stream: null is the default (OpenAI allows null)', async () => {
      const response = await postChat(gw, JSON.stringify({ model: 'gpt-test', messages: HI, stream: null }));
      assert.equal(response.status, 200, response.text.slice(0, 200));
      assert.ok(JSON.parse(response.text).choices);
    });

    it('duplicate model keys: the last wins and every occurrence is rewritten (no parser differential upstream)', async () => {
      const response = await postChat(gw, '{"model":"gpt-nope","model":"gpt-test","messages":[{"role":"user","content":"hi"}]}');
      assert.equal(response.status, 200);
      const sent = mock.requests.at(-1)?.body.toString() ?? '';
      assert.equal(sent.match(/"model":"gpt-test-upstream"/g)?.length, 2, sent);
      assert.ok(!sent.includes('gpt-nope'));
    });

    it('a UTF-8 BOM is tolerated and the upstream gets parseable JSON', async () => {
      const response = await postChat(gw, `\ufeff${JSON.stringify({ model: 'gpt-test', messages: HI })}`);
      assert.equal(response.status, 200, response.text.slice(0, 200));
      const sent = mock.requests.at(-1)?.body;
      assert.ok(sent);
      assert.equal(sent[0], 0x7b, 'the upstream body starts with "{"');
      assert.equal((JSON.parse(sent.toString()) as { model: string }).model, 'gpt-test-upstream');
    });

    it('unknown vendor fields, odd spacing and number spellings reach the upstream byte-for-byte (only the model changes)', async () => {
      const body =
        '{ "model" : "gpt-test",\n "messages":[{"role":"user","content":"h\\u00e9 \\ud83d\\ude00 é"}],' +
        '"top_k": 1.0e2, "x_vendor": {"nested": [1, 2.50, null, "é", {"deep": [true]}]}, "seed": -0, "logit_bias": {"50256": -100} }';
      const response = await postChat(gw, body);
      assert.equal(response.status, 200, response.text.slice(0, 200));
      const sent = mock.requests.at(-1)?.body.toString('utf8');
      assert.equal(sent, body.replace('"gpt-test"', '"gpt-test-upstream"'));
    });

    it('nesting at 100 levels (under the limit) is accepted', async () => {
      const response = await postChat(gw, `{"model":"gpt-test","messages":[{"role":"user","content":"hi"}],"x_vendor":${nestedArrays(100)}}`);
      assert.equal(response.status, 200);
    });

    it('GET on a POST endpoint -> 405 with allow; a non-JSON content-type -> 400', async () => {
      const get = await rawRequest(gw.url, { method: 'GET', path: '/v1/chat/completions' });
      assertOpenAIError(get, 405);
      assert.equal(get.headers['allow'], 'POST');
      const form = await rawRequest(gw.url, { path: '/v1/chat/completions', body: 'model=gpt-test', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assertOpenAIError(form, 400, /content-type/);
    });

    it('Anthropic-format endpoints answer the same hostile input in Anthropic error JSON', async () => {
      const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
      assertAnthropicError(await rawRequest(gw.url, { path: '/anthropic/v1/messages', body: '{"model":', headers }), 400);
      assertAnthropicError(await rawRequest(gw.url, { path: '/anthropic/v1/messages', body: '{"model":"nope","max_tokens":5,"messages":[]}', headers }), 404);
      assertAnthropicError(await rawRequest(gw.url, { path: '/anthropic/v1/messages/count_tokens', body: `{"model":"gpt-test","messages":${nestedArrays(50_000)}}`, headers }), 400);
      assertAnthropicError(await rawRequest(gw.url, { path: '/anthropic/v1/messages', body: 'x'.repeat(BODY_LIMIT + 1), headers }), 413);
    });

    it('a 200 KB single-"word" count_tokens body is counted without stalling (bounded tokenizer work)', async () => {
      const headers = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
      for (const filler of [' ', 'z', '.']) {
        const body = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: filler.repeat(200_000) }] });
        const response = await rawRequest(gw.url, { path: '/anthropic/v1/messages/count_tokens', body, headers });
        assert.equal(response.status, 200, response.text.slice(0, 200));
        assert.ok((JSON.parse(response.text) as { input_tokens: number }).input_tokens > 0);
      }
    });

    it('after all of that the service still serves and holds no exchange', async () => {
      await assertStillServing(gw);
      await gw.envoy.settled();
      await waitForEmptyRegistry(gw);
    });
  });
}
