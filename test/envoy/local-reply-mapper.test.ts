/**
 * The generated local_reply_config (src/envoy/local-reply.ts) as the stand-in applies it: Envoy's own error replies
 * become JSON in the client's error shape, the service's own replies are left alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localReplyConfig } from '../../src/envoy/local-reply.js';
import { mapLocalReply, type LocalReplyFacts } from './local-reply-mapper.js';

const config = localReplyConfig(true);
const base: LocalReplyFacts = { status: 503, details: 'no_healthy_upstream', body: 'no healthy upstream', path: '/v1/chat/completions', method: 'POST', flags: [], metadata: {} };
const mapped = (facts: Partial<LocalReplyFacts>) => {
  const result = mapLocalReply(config, { ...base, ...facts });
  return result && { contentType: result.contentType, body: JSON.parse(result.body) as unknown };
};

describe('local_reply_config in the stand-in', () => {
  it("gives OpenAI clients OpenAI's error shape", () => {
    assert.deepEqual(mapped({}), {
      contentType: 'application/json',
      body: { error: { message: 'envoy: no healthy upstream (no_healthy_upstream)', type: 'server_error', code: 'no_healthy_upstream' } },
    });
  });

  it("gives Anthropic clients Anthropic's, by path before the service saw the request and by metadata after it rewrote the path", () => {
    assert.deepEqual(mapped({ status: 413, details: 'request_payload_too_large', body: 'Payload Too Large', path: '/anthropic/v1/messages' }), {
      contentType: 'application/json',
      body: { type: 'error', error: { type: 'request_too_large', message: 'envoy: Payload Too Large (request_payload_too_large)' } },
    });
    const rewritten = { path: '/model/x/converse', metadata: { 'io.envoy.ai_gateway': { client_api: 'anthropic' } } };
    assert.deepEqual(mapped({ ...rewritten, status: 504, details: 'upstream_response_timeout', body: 'upstream request timeout' }), {
      contentType: 'application/json',
      body: { type: 'error', error: { type: 'timeout_error', message: 'envoy: upstream request timeout (upstream_response_timeout)' } },
    });
    assert.deepEqual((mapped({ ...rewritten, status: 500, details: 'ext_proc_error_gRPC_error_13' })?.body as { error: { type: string } }).error.type, 'api_error');
    assert.equal((mapped({ path: '/model/x/converse', metadata: { 'io.envoy.ai_gateway': { client_api: 'openai' } } })?.body as { type?: string }).type, undefined);
  });

  it('answers a spent token budget in the client shape', () => {
    const anthropic = mapped({ status: 429, details: 'request_rate_limited', body: '', flags: ['RL'], path: '/anthropic/v1/messages' });
    assert.deepEqual((anthropic?.body as { type: string; error: { type: string } }).error.type, 'rate_limit_error');
    assert.equal((anthropic?.body as { type: string }).type, 'error');
    const openai = mapped({ status: 429, details: 'request_rate_limited', body: '', flags: ['RL'] });
    assert.equal((openai?.body as { error: { code: string } }).error.code, 'rate_limit_exceeded');
  });

  it("leaves the service's own replies and the 404 route alone", () => {
    assert.equal(mapped({ status: 422, details: 'llm_extproc_invalid_request_body', body: '{}' }), undefined);
    assert.equal(mapped({ status: 404, details: 'direct_response', body: '{}' }), undefined);
  });
});
