/** The request-side caps (messages, tools, content parts, max output tokens), unit level. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigSchema, type ModelConfig } from '../../src/config/schema.js';
import { GatewayError } from '../../src/core/errors.js';
import { outlineJson } from '../../src/core/json-outline.js';
import { checkRequestLimits, countContentParts } from '../../src/server/request-limits.js';

const limits = { ...ConfigSchema.parse({}).limits, maxMessages: 3, maxTools: 2, maxContentParts: 4, maxOutputTokens: 1000 };
const model: ModelConfig = { name: 'm', backends: [{ backend: 'b', priority: 0, weight: 1 }] };
const user = (content: unknown) => ({ role: 'user', content });

function refusal(body: Record<string, unknown>, forModel: ModelConfig = model): GatewayError | undefined {
  try {
    checkRequestLimits(body, limits, forModel);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    return error;
  }
}

describe('countContentParts', () => {
  it('counts content arrays, nested tool_result content, system blocks, and input/prompt arrays; strings count 0', () => {
    assert.equal(countContentParts({ messages: [user('text'), user([{ type: 'text', text: 'a' }, { type: 'image_url' }])] }), 2);
    assert.equal(countContentParts({ messages: [user([{ type: 'tool_result', content: [{ type: 'text' }, { type: 'text' }] }])] }), 3);
    assert.equal(countContentParts({ system: [{ type: 'text' }, { type: 'text' }], messages: [] }), 2);
    assert.equal(countContentParts({ input: ['a', 'b', 'c'] }), 3);
    assert.equal(countContentParts({ prompt: ['a', 'b'] }), 2);
    assert.equal(countContentParts({ input: 'one string', messages: 'not an array' }), 0);
  });
});

describe('checkRequestLimits', () => {
  it('accepts a request exactly at every cap', () => {
    const body = { messages: [user([1, 2]), user([3, 4]), user('x')], tools: [{}], functions: [{}], max_tokens: 1000, max_completion_tokens: 1000 };
    assert.equal(refusal(body), undefined);
  });

  it('refuses too many messages, tools (tools + functions) and content parts with 400 and its own code', () => {
    const messages = refusal({ messages: [user('a'), user('b'), user('c'), user('d')] });
    assert.equal(messages?.code, 'ERR_TOO_MANY_MESSAGES');
    assert.equal(messages?.status, 400);
    assert.equal(messages?.param, 'messages');
    assert.match(messages?.message ?? '', /4 messages; this gateway accepts at most 3/);
    assert.equal(refusal({ messages: [], tools: [{}, {}], functions: [{}] })?.code, 'ERR_TOO_MANY_TOOLS');
    assert.equal(refusal({ messages: [user([1, 2, 3]), user([4, 5])] })?.code, 'ERR_TOO_MANY_CONTENT_PARTS');
  });

  it('counts Responses input items as messages, and their content arrays as parts', { timeout: 10_000 }, () => {
    const item = (content: unknown) => ({ type: 'message', role: 'user', content });
    assert.equal(countContentParts({ input: [item('a'), item([{ type: 'input_text' }, { type: 'input_image' }])] }), 4);
    assert.equal(refusal({ input: [item('a'), item('b'), item('c')] }), undefined);
    const tooMany = refusal({ input: [item('a'), item('b'), { type: 'function_call' }, { type: 'function_call_output' }] });
    assert.equal(tooMany?.code, 'ERR_TOO_MANY_MESSAGES');
    assert.equal(tooMany?.param, 'input');
    assert.equal(refusal({ input: [item([1, 2, 3, 4])] })?.code, 'ERR_TOO_MANY_CONTENT_PARTS');
  });

  it('refuses max_tokens, max_completion_tokens or max_output_tokens above the maximum', () => {
    for (const field of ['max_tokens', 'max_completion_tokens', 'max_output_tokens']) {
      const error = refusal({ messages: [], [field]: 5e9 });
      assert.equal(error?.code, 'ERR_MAX_TOKENS_TOO_LARGE', field);
      assert.equal(error?.status, 400);
      assert.equal(error?.param, field);
      assert.match(error?.message ?? '', /accepts at most 1000 output tokens/);
    }
  });

  it("a model's own maxOutputTokens overrides the global one, either way", () => {
    assert.equal(refusal({ max_tokens: 600 }, { ...model, maxOutputTokens: 500 })?.code, 'ERR_MAX_TOKENS_TOO_LARGE');
    assert.equal(refusal({ max_tokens: 5000 }, { ...model, maxOutputTokens: 8192 }), undefined);
  });

  it('leaves values that are not numbers to the translators and the upstream', () => {
    assert.equal(refusal({ max_tokens: 'x', messages: {} }), undefined);
  });
});

describe('checkRequestLimits on the outline the router phase reads', () => {
  it('gives the verdict the whole body gives (long strings cut to "" change no count, number or type)', () => {
    const text = (seed: string) => `${seed} ${'lorem ipsum '.repeat(40)}`;
    const bodies: Array<Record<string, unknown>> = [
      { messages: [user(text('a')), user([{ type: 'text', text: text('b') }, { type: 'image_url', image_url: { url: text('c') } }])] },
      { messages: [user(text('a')), user(text('b')), user(text('c')), user(text('d'))] },
      { messages: [user([{ type: 'tool_result', content: [{ type: 'text', text: text('x') }, { type: 'text', text: text('y') }] }, { type: 'text', text: text('z') }])] },
      { input: [text('embed one'), text('two'), text('three'), text('four'), text('five')] },
      { input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: text('r') }] }], max_output_tokens: 2000 },
      { messages: [user(text('q'))], tools: [{ type: 'function', function: { name: 'f', description: text('d') } }, {}, {}], max_tokens: 5 },
      { messages: [user(text('q'))], max_completion_tokens: 1001 },
    ];
    for (const body of bodies) {
      const outline = JSON.parse(outlineJson(Buffer.from(JSON.stringify(body))) as string) as Record<string, unknown>;
      assert.notDeepEqual(outline, body, 'the outline cut something');
      assert.equal(refusal(outline)?.code, refusal(body)?.code, JSON.stringify(body).slice(0, 80));
      assert.equal(countContentParts(outline), countContentParts(body));
    }
  });
});
