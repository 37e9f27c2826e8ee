/** The Gemini mock checks auth, rejects what Gemini rejects, frames SSE, and accepts every golden request body. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startGeminiMock, type GeminiMock } from './gemini-mock.js';

const VERTEX = '/v1/projects/proj/locations/us-central1/publishers/google/models';
const TOKEN = 'ya29.mock-token';
const KEY = 'AIza-mock-key';

const hello = { contents: [{ role: 'user', parts: [{ text: 'hello' }] }] };

describe('gemini mock', () => {
  let mock: GeminiMock;

  before(async () => {
    mock = await startGeminiMock({ accessToken: TOKEN, apiKey: KEY, projectId: 'proj', region: 'us-central1' });
  });
  after(async () => {
    await mock.close();
  });

  async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
    const response = await fetch(`${mock.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
  }

  async function rejected(body: unknown, pattern: RegExp, model = 'gemini-2.5-flash') {
    const response = await post(`${VERTEX}/${model}:generateContent`, body);
    assert.equal(response.status, 400, response.text);
    const error = (JSON.parse(response.text) as { error: { code: number; status: string; message: string } }).error;
    assert.equal(error.code, 400);
    assert.equal(error.status, 'INVALID_ARGUMENT');
    assert.match(error.message, pattern);
  }

  it('checks the Vertex Bearer token and the project in the path', async () => {
    assert.equal((await post(`${VERTEX}/gemini-2.5-flash:generateContent`, hello, {})).status, 401);
    assert.equal((await post(`${VERTEX}/gemini-2.5-flash:generateContent`, hello, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await post('/v1/projects/other/locations/us-central1/publishers/google/models/m:generateContent', hello)).status, 403);
    const ok = await post(`${VERTEX}/gemini-2.5-flash:generateContent`, hello);
    assert.equal(ok.status, 200);
    assert.match(ok.text, /"echo: hello"/);
  });

  it('checks the Gemini API key, and refuses a stray Authorization header', async () => {
    const path = '/v1beta/models/gemini-2.5-flash:generateContent';
    assert.equal((await post(path, hello, {})).status, 403);
    assert.equal((await post(path, hello, { 'x-goog-api-key': 'nope' })).status, 400);
    assert.equal((await post(path, hello, { 'x-goog-api-key': KEY, authorization: 'Bearer client-key' })).status, 401);
    assert.equal((await post(path, hello, { 'x-goog-api-key': KEY })).status, 200);
    assert.equal(mock.requests.at(-1)?.surface, 'googleai');
  });

  it('answers unknown paths with a Google 404', async () => {
    const response = await post('/v1/chat/completions', hello);
    assert.equal(response.status, 404);
    assert.match(response.text, /NOT_FOUND/);
  });

  it('rejects what Gemini rejects', async () => {
    await rejected('{not json', /Invalid JSON payload/);
    await rejected({ messages: [] }, /Unknown name "messages"/);
    await rejected({ contents: [] }, /contents is not specified/);
    await rejected({ contents: [{ role: 'assistant', parts: [{ text: 'x' }] }] }, /valid role: user, model/);
    await rejected({ contents: [{ role: 'system', parts: [{ text: 'x' }] }] }, /valid role/);
    await rejected({ contents: [{ role: 'user', parts: [] }] }, /parts must not be empty/);
    await rejected({ contents: [{ role: 'user', parts: [{ text: '' }] }] }, /empty text parameter/);
    await rejected({ contents: [{ role: 'user', parts: [{ text: 'x', image_url: 'y' }] }] }, /Unknown name "image_url"/);
    await rejected(
      { contents: [{ role: 'user', parts: [{ text: 'x' }] }, { role: 'user', parts: [{ functionResponse: { name: 'f', response: {} } }] }] },
      /comes immediately after a function call turn/,
    );
    await rejected(
      {
        contents: [
          { role: 'user', parts: [{ text: 'x' }] },
          { role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }, { functionCall: { name: 'g', args: {} } }] },
          { role: 'user', parts: [{ functionResponse: { name: 'f', response: {} } }] },
        ],
      },
      /number of function response parts/,
    );
    await rejected({ contents: [{ role: 'user', parts: [{ functionCall: { name: 'f', args: {} } }] }] }, /only allowed in model turns/);
    await rejected(
      { ...hello, tools: [{ functionDeclarations: [{ name: 'f', parametersJsonSchema: { properties: { a: { $ref: '#/$defs/a' } }, $defs: { a: {} } } }] }] },
      /\$ref is not supported/,
    );
    await rejected({ ...hello, generationConfig: { responseMimeType: 'application/json', responseJsonSchema: { $ref: '#/x' } } }, /\$ref is not supported/);
    await rejected({ ...hello, generationConfig: { max_tokens: 3 } }, /Unknown name "max_tokens"/);
    await rejected({ ...hello, generationConfig: { thinkingConfig: { thinkingLevel: 'low' } } }, /Thinking level is not supported/);
  });

  it('enforces function call ids and thought signatures by model generation', async () => {
    const turn = (call: Record<string, unknown>) => ({
      contents: [
        { role: 'user', parts: [{ text: 'x' }] },
        { role: 'model', parts: [call] },
        { role: 'user', parts: [{ functionResponse: { name: 'f', response: { output: 1 } } }] },
      ],
    });
    await rejected(turn({ functionCall: { name: 'f', args: {}, id: 'c1' } }), /Unknown name "id"/, 'gemini-2.5-flash');
    await rejected(turn({ functionCall: { name: 'f', args: {} } }), /missing a thought_signature/, 'gemini-3-pro-preview');
    await rejected(turn({ functionCall: { name: 'f', args: {} }, thoughtSignature: 'not base64!' }), /Base64 decoding failed/, 'gemini-3-pro-preview');
    const accepted = await post(`${VERTEX}/gemini-3-pro-preview:generateContent`, turn({ functionCall: { name: 'f', args: {}, id: 'c1' }, thoughtSignature: 'c2ln' }));
    assert.equal(accepted.status, 200, accepted.text);
  });

  it('streams SSE events framed with CRLF, text split into words, finish reason and usage last', async () => {
    const response = await post(`${VERTEX}/gemini-2.5-flash:streamGenerateContent?alt=sse`, {
      contents: [{ role: 'user', parts: [{ text: 'one two three' }] }],
    });
    assert.equal(response.status, 200);
    assert.equal(response.type, 'text/event-stream');
    const events = response.text.split('\r\n\r\n').filter(Boolean);
    assert.ok(events.every((event) => event.startsWith('data: ')));
    const parsed = events.map((event) => JSON.parse(event.slice(6)) as { candidates: { content: { parts: { text: string }[] }; finishReason?: string }[]; usageMetadata?: unknown });
    assert.equal(parsed.map((event) => event.candidates[0]?.content.parts[0]?.text).join(''), 'echo: one two three');
    assert.equal(parsed.at(-1)?.candidates[0]?.finishReason, 'STOP');
    assert.ok(parsed.at(-1)?.usageMetadata);
    assert.ok(parsed.length > 3);
  });

  it('accepts every golden Gemini request the translator produces', async () => {
    const root = join(import.meta.dirname, '..', 'fixtures');
    let checked = 0;
    for (const pair of ['openai-to-vertex-gemini', 'openai-to-google-ai']) {
      for (const name of readdirSync(join(root, pair))) {
        const dir = join(root, pair, name);
        if (!existsSync(join(dir, 'upstream-request.json'))) continue;
        const meta = JSON.parse(readFileSync(join(dir, 'upstream-request.meta.json'), 'utf8')) as { path: string };
        const path = meta.path.replace('/projects/my-project/', '/projects/proj/');
        const headers: Record<string, string> = pair === 'openai-to-google-ai' ? { 'x-goog-api-key': KEY } : { authorization: `Bearer ${TOKEN}` };
        const response = await post(path, readFileSync(join(dir, 'upstream-request.json'), 'utf8'), headers);
        assert.equal(response.status, 200, `${pair}/${name}: ${response.text}`);
        checked += 1;
      }
    }
    assert.ok(checked >= 30, `only ${checked} golden requests found`);
  });

  it('answers every translated embeddings golden request as the golden expects (success, or the scripted error)', { timeout: 20_000 }, async () => {
    const root = join(import.meta.dirname, '..', 'fixtures');
    let checked = 0;
    for (const pair of ['openai-to-vertex-embeddings', 'openai-to-google-ai-embeddings']) {
      for (const name of readdirSync(join(root, pair))) {
        const dir = join(root, pair, name);
        if (!existsSync(join(dir, 'upstream-request.json'))) continue;
        const { status = 200 } = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as { status?: number };
        const meta = JSON.parse(readFileSync(join(dir, 'upstream-request.meta.json'), 'utf8')) as { path: string };
        const path = meta.path.replace('/projects/my-project/', '/projects/proj/');
        const headers: Record<string, string> = pair === 'openai-to-google-ai-embeddings' ? { 'x-goog-api-key': KEY } : { authorization: `Bearer ${TOKEN}` };
        const response = await post(path, readFileSync(join(dir, 'upstream-request.json'), 'utf8'), headers);
        // A scripted 429 (quota) is not something the mock decides; every other golden status is.
        assert.equal(response.status, status === 429 ? 200 : status, `${pair}/${name}: ${response.text}`);
        checked += 1;
      }
    }
    assert.ok(checked >= 10, `only ${checked} golden requests found`);
  });

  it('refuses embedding batches past the providers\' limits', { timeout: 10_000 }, async () => {
    const instances = (count: number) => ({ instances: Array.from({ length: count }, (_, index) => ({ content: `t${index}` })) });
    assert.equal((await post(`${VERTEX}/text-embedding-005:predict`, instances(250))).status, 200);
    assert.equal((await post(`${VERTEX}/text-embedding-005:predict`, instances(251))).status, 400);
    assert.equal((await post(`${VERTEX}/gemini-embedding-001:predict`, instances(2))).status, 400);
    const requests = (count: number, model = 'models/gemini-embedding-001') => ({ requests: Array.from({ length: count }, () => ({ model, content: { parts: [{ text: 'x' }] } })) });
    const googleAi = '/v1beta/models/gemini-embedding-001:batchEmbedContents';
    assert.equal((await post(googleAi, requests(100), { 'x-goog-api-key': KEY })).status, 200);
    assert.equal((await post(googleAi, requests(101), { 'x-goog-api-key': KEY })).status, 400);
    assert.equal((await post(googleAi, requests(1, 'models/other'), { 'x-goog-api-key': KEY })).status, 400, 'each request names the model of the path');
  });
});
