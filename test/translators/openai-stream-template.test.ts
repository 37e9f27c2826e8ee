/**
 * The OpenAI pass-through stream reads most chunks without parsing them: a chunk with the same bytes as the last
 * parsed content-only chunk around its content string (OpenAIStreamMapper's template). Pinned here to what parsing
 * every chunk gives: the same bytes out, delivered text, usage, model and end; chunks that differ in any other byte,
 * or whose content needs a JSON escape, are parsed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DecodedSseItem } from '../../src/core/sse.js';
import { OpenAIStreamMapper } from '../../src/translators/openai/openai-stream-mapper.js';
import { testBackend, testContext } from '../helpers/request-context.js';
import { standardSplittings } from '../helpers/chunking.js';

const ctx = () =>
  testContext({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [] }, { backend: testBackend({ name: 'openai', schema: 'OpenAI', endpoint: 'https://api.openai.com' }) });

const event = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}, finish: string | null = null) =>
  event({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_1', ...extra, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });

const PIECES = ['Hello', ' there', ', "quoted"', ' back\\slash', ' new\nline', ' tab\tcontrol', ' é ü 漢字 😀', '', ' plain', ' words'];

/** A stream with template-friendly chunks, chunks that break the template, and the usual ending. */
function stream(): string {
  let text = chunk({ role: 'assistant', content: '' });
  for (const piece of PIECES) text += chunk({ content: piece });
  text += chunk({ reasoning_content: 'thinking' });
  for (const piece of PIECES.slice(0, 3)) text += chunk({ content: piece }, { obfuscation: `pad${piece.length}` });
  text += chunk({ content: ' model' }, { model: 'other-model' });
  text += chunk({ content: 'end' });
  text += chunk({}, {}, 'stop');
  text += event({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 5, completion_tokens: 20, total_tokens: 25 } });
  return `${text}data: [DONE]\n\n`;
}

const EXPECTED_TEXT = `${PIECES.join('')}thinking${PIECES.slice(0, 3).join('')} modelend`;

function run(chunks: readonly Uint8Array[]): { out: string; text: string; usage: unknown; model: string | undefined; hinted: number; items: DecodedSseItem[] } {
  const mapper = new OpenAIStreamMapper(ctx());
  let out = '';
  let text = '';
  let usage: unknown;
  let model: string | undefined;
  let hinted = 0;
  const items: DecodedSseItem[] = [];
  for (const step of [...chunks.map((part) => mapper.push(part)), mapper.end()]) {
    out += Buffer.from(step.body).toString('utf8');
    text += step.deliveredText ?? '';
    usage = step.usage ?? usage;
    model = step.responseModel ?? model;
    for (const item of step.events ?? []) {
      items.push(item);
      if (item.type === 'event' && item.content) hinted += 1;
    }
  }
  return { out, text, usage, model, hinted, items };
}

describe('OpenAI pass-through stream: chunks read without parsing', () => {
  it('gives what parsing every chunk gives, however the stream is split', () => {
    const input = stream();
    for (const splitting of standardSplittings(Buffer.from(input), 4)) {
      const result = run(splitting.chunks);
      assert.equal(result.out, input, `${splitting.name}: the bytes pass through unchanged`);
      assert.equal(result.text, EXPECTED_TEXT, `${splitting.name}: delivered text`);
      assert.deepEqual(result.usage, { inputTokens: 5, outputTokens: 20, totalTokens: 25, cachedInputTokens: 0, cacheCreationInputTokens: 0, reasoningTokens: 0 }, splitting.name);
      assert.equal(result.model, 'gpt-4o-mini-2024-07-18', splitting.name);
      // Each hinted chunk's text is exactly its parsed delta content; everything else was parsed.
      for (const item of result.items) {
        if (item.type !== 'event' || !item.content) continue;
        const parsed = JSON.parse(item.data) as { choices: Array<{ index: number; delta: Record<string, unknown> }> };
        assert.equal(item.content.text, parsed.choices[0]?.delta.content);
        assert.deepEqual(Object.keys(parsed.choices[0]?.delta ?? {}), ['content']);
        assert.equal(item.json, undefined);
      }
      assert.ok(result.hinted >= 5, `${splitting.name}: most content chunks are read by template (${result.hinted})`);
    }
  });

  it('parses a content that needs a JSON escape, and a chunk that differs anywhere else', () => {
    const result = run([Buffer.from(stream())]);
    const hintedTexts = result.items.flatMap((item) => (item.type === 'event' && item.content ? [item.content.text] : []));
    for (const escaped of [', "quoted"', ' back\\slash', ' new\nline', ' tab\tcontrol']) assert.ok(!hintedTexts.includes(escaped), `${JSON.stringify(escaped)} is parsed`);
    assert.ok(!hintedTexts.includes(' model'), 'a chunk with another model is parsed');
    assert.ok(hintedTexts.includes(' é ü 漢字 😀'), 'text that needs no escape is read by template');
  });
});
