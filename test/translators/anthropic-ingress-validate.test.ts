/**
 * Anthropic ingress validation: what the Messages API refuses is refused by the service with a 400 in
 * Anthropic's error shape, and what it accepts is never refused. Each bad body is checked against the mock
 * Anthropic API's own validator (test/mocks/anthropic-mock-validate.ts, modelled on the real API's 400s) too,
 * and each good body must pass both.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateAnthropicRequest } from '../../src/translators/anthropic-ingress/validate-request.js';
import { validateMessagesBody } from '../mocks/anthropic-mock-validate.js';

type Json = Record<string, unknown>;
const base: Json = { model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] };
const TOOL = { name: 'get_weather', input_schema: { type: 'object', properties: {} } };

/** Bodies the Messages API refuses, with the field the service names. */
const BAD_MESSAGES: ReadonlyArray<{ name: string; body: Json; param: string }> = [
  { name: 'tools as an object', body: { ...base, tools: TOOL }, param: 'tools' },
  { name: 'a tool without a name', body: { ...base, tools: [{ input_schema: { type: 'object' } }] }, param: 'tools.0' },
  { name: 'max_tokens as a string', body: { ...base, max_tokens: 'x' }, param: 'max_tokens' },
  { name: 'max_tokens missing', body: { model: 'claude', messages: [{ role: 'user', content: 'hi' }] }, param: 'max_tokens' },
  { name: 'max_tokens 0', body: { ...base, max_tokens: 0 }, param: 'max_tokens' },
  { name: 'max_tokens 1.5', body: { ...base, max_tokens: 1.5 }, param: 'max_tokens' },
  { name: 'messages not an array', body: { ...base, messages: { role: 'user', content: 'hi' } }, param: 'messages' },
  { name: 'messages missing', body: { model: 'claude', max_tokens: 64 }, param: 'messages' },
  { name: 'a message that is not an object', body: { ...base, messages: ['hi'] }, param: 'messages.0' },
  { name: 'a system role in messages', body: { ...base, messages: [{ role: 'system', content: 'hi' }] }, param: 'messages.0.role' },
  { name: 'content as a number', body: { ...base, messages: [{ role: 'user', content: 5 }] }, param: 'messages.0.content' },
  { name: 'a content block without a type', body: { ...base, messages: [{ role: 'user', content: [{ text: 'hi' }] }] }, param: 'messages.0.content.0' },
  { name: 'temperature as a string', body: { ...base, temperature: 'hot' }, param: 'temperature' },
  { name: 'tool_choice as a string', body: { ...base, tools: [TOOL], tool_choice: 'auto' }, param: 'tool_choice' },
];

/** Bodies the service refuses where the mock has no opinion (it checks fewer fields), with the field named. */
const BAD_SERVICE_ONLY: ReadonlyArray<{ name: string; body: Json; param: string }> = [
  { name: 'stream as a string', body: { ...base, stream: 'yes' }, param: 'stream' },
  { name: 'stop_sequences as a string', body: { ...base, stop_sequences: 'END' }, param: 'stop_sequences' },
  { name: 'system as a number', body: { ...base, system: 5 }, param: 'system' },
  { name: 'metadata as a string', body: { ...base, metadata: 'x' }, param: 'metadata' },
  { name: 'top_k as a float', body: { ...base, top_k: 1.5 }, param: 'top_k' },
];

const BAD_COUNT_TOKENS: ReadonlyArray<{ name: string; body: Json; param: string }> = [
  { name: 'messages: 5', body: { model: 'claude', messages: 5 }, param: 'messages' },
  { name: 'messages missing', body: { model: 'claude' }, param: 'messages' },
  { name: 'tools as an object', body: { model: 'claude', messages: [{ role: 'user', content: 'hi' }], tools: TOOL }, param: 'tools' },
];

/** `mock: false` where the mock API is stricter than the real one (server tools need no input_schema). */
const GOOD_MESSAGES: ReadonlyArray<{ name: string; body: Json; mock?: false }> = [
  { name: 'the minimum', body: base },
  { name: 'every optional field', body: { ...base, system: [{ type: 'text', text: 's' }], tools: [TOOL], tool_choice: { type: 'auto' }, stream: true, stop_sequences: ['END'], metadata: { user_id: 'u' }, thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 4096 } },
  { name: 'temperature and top_k', body: { ...base, temperature: 0.5, top_k: 5 } },
  { name: 'content blocks of kinds the service does not know', body: { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }] }] } },
  { name: 'a server tool', body: { ...base, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, mock: false },
];

describe('validateAnthropicRequest', () => {
  for (const { name, body, param } of BAD_MESSAGES) {
    it(`refuses ${name} (and so does the API)`, () => {
      const problem = validateAnthropicRequest(body, false);
      assert.equal(problem?.param, param, JSON.stringify(problem));
      assert.match(problem?.message ?? '', new RegExp(`^${param.replace(/\./g, '\\.')}: `));
      assert.ok(validateMessagesBody(body, { vertex: false }) !== undefined, 'the mock API refuses it too');
    });
  }
  for (const { name, body, param } of BAD_SERVICE_ONLY) {
    it(`refuses ${name}`, () => assert.equal(validateAnthropicRequest(body, false)?.param, param));
  }
  for (const { name, body, param } of BAD_COUNT_TOKENS) {
    it(`count_tokens: refuses ${name}`, () => assert.equal(validateAnthropicRequest(body, true)?.param, param));
  }
  for (const { name, body, mock } of GOOD_MESSAGES) {
    it(`accepts ${name} (as the API does)`, () => {
      if (mock !== false) assert.equal(validateMessagesBody(body, { vertex: false }), undefined, 'the mock API accepts it');
      assert.equal(validateAnthropicRequest(body, false), undefined);
    });
  }
  it('count_tokens needs no max_tokens; a null optional field is refused, as the API refuses it', () => {
    assert.equal(validateAnthropicRequest({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] }, true), undefined);
    for (const field of ['system', 'tools', 'temperature']) {
      const body = { ...base, [field]: null };
      assert.equal(validateAnthropicRequest(body, false)?.param, field);
      assert.ok(validateMessagesBody(body, { vertex: false }) !== undefined, `the mock API refuses ${field}: null too`);
    }
  });
});
