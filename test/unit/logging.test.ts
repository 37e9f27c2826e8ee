import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, isCredentialKey, logSecretsOf, redactHeaders, REDACTED } from '../../src/logging.js';

const KEY = 'sk-proj-LEAKCANARY0123456789';

function capture(): { lines: () => Array<Record<string, unknown>>; text: () => string; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { lines, text, stream };
}

describe('createLogger', () => {
  it('never writes a Bearer key from a logged header map, in any shape', () => {
    const out = capture();
    const logger = createLogger({ level: 'debug', destination: out.stream });
    logger.info({ headers: { authorization: `Bearer ${KEY}`, 'x-team': 'ml' } }, 'record');
    logger.info({ request: { headers: [['Authorization', `Bearer ${KEY}`]] } }, 'pairs');
    logger.info({ envoy: { headers: [{ key: 'authorization', raw_value: Buffer.from(`Bearer ${KEY}`) }] } }, 'envoy');
    logger.info({ envoy: { headers: [{ key: 'x-api-key', value: KEY }] } }, 'envoy value');
    logger.info({ headers: new Map([['x-goog-api-key', KEY]]) }, 'map');
    logger.warn({ upstream: { body: `{"error":"Bearer ${KEY} rejected"}` } }, `auth failed for Bearer ${KEY}`);
    logger.error(new Error(`401 with Bearer ${KEY}`));
    logger.error({ err: Object.assign(new Error('boom'), { headers: { cookie: KEY } }) }, 'nested');
    logger.info('format %s', `Bearer ${KEY}`);

    assert.equal(out.lines().length, 9);
    assert.ok(!out.text().includes(KEY), out.text());
    assert.ok(!out.text().includes('LEAKCANARY'));
    const [first] = out.lines();
    assert.deepEqual(first?.['headers'], { authorization: REDACTED, 'x-team': 'ml' });
    assert.equal(first?.['msg'], 'record');
  });

  it('censors credential-named fields anywhere but keeps token counts', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', destination: out.stream });
    logger.info({
      backend: { credentials: { client_secret: 'cs', accessToken: 'at', password: 'pw', apiKey: 'ak' } },
      usage: { inputTokens: 12, max_tokens: 100, total_tokens: 30 },
      aws: { 'x-amz-security-token': 'st', sessionToken: 'st2' },
    });
    const [line] = out.lines();
    assert.deepEqual(line?.['backend'], {
      credentials: { client_secret: REDACTED, accessToken: REDACTED, password: REDACTED, apiKey: REDACTED },
    });
    assert.deepEqual(line?.['usage'], { inputTokens: 12, max_tokens: 100, total_tokens: 30 });
    assert.deepEqual(line?.['aws'], { 'x-amz-security-token': REDACTED, sessionToken: REDACTED });
  });

  it('honours the level, including silent', () => {
    const out = capture();
    createLogger({ level: 'silent', destination: out.stream }).error('nothing');
    const warnOnly = createLogger({ level: 'warn', destination: out.stream });
    warnOnly.info('dropped');
    warnOnly.warn('kept');
    assert.deepEqual(out.lines().map((line) => line['msg']), ['kept']);
  });
});

describe('redactHeaders', () => {
  it('keeps the shape and censors only credential headers', () => {
    assert.deepEqual(redactHeaders({ Authorization: 'Bearer x', 'set-cookie': 'a=b', accept: 'text/event-stream' }), {
      Authorization: REDACTED,
      'set-cookie': REDACTED,
      accept: 'text/event-stream',
    });
    assert.deepEqual(redactHeaders([['proxy-authorization', 'Basic abc'], ['x-trace', '1']]), [
      ['proxy-authorization', REDACTED],
      ['x-trace', '1'],
    ]);
    assert.deepEqual(redactHeaders([{ key: 'api-key', raw_value: Buffer.from('k') }, { key: 'host', value: 'h' }]), [
      { key: 'api-key', raw_value: REDACTED },
      { key: 'host', value: 'h' },
    ]);
  });

  it('classifies names', () => {
    for (const name of ['authorization', 'X-Api-Key', 'api_key', 'refresh_token', 'dbPassword', 'SECRET']) {
      assert.equal(isCredentialKey(name), true, name);
    }
    for (const name of ['content-type', 'inputTokens', 'max_tokens', 'model', 'x-ai-eg-model']) {
      assert.equal(isCredentialKey(name), false, name);
    }
  });

  it("scrubs the config's backend secrets and the values requests in flight hold, in any field or message", () => {
    const out = capture();
    const logger = createLogger({ level: 'debug', destination: out.stream });
    const secrets = logSecretsOf(logger);
    assert.ok(secrets, 'createLogger attaches its secret censor');
    secrets.setConfigured(['configured-backend-key-1']);
    const release = secrets.hold(['ya29.fetched-at-run-time', 'configured-backend-key-1']);
    assert.equal(secrets.liveCount, 1, 'a configured value is not held twice');
    logger.child({ component: 'x' }).warn({ detail: 'echo configured-backend-key-1 and ya29.fetched-at-run-time' }, 'upstream said ya29.fetched-at-run-time');
    logger.error(new Error('boom: configured-backend-key-1'));
    release();
    release();
    assert.equal(secrets.liveCount, 0, 'released once, however often called');
    logger.info('after the request: ya29.fetched-at-run-time');
    const text = out.text();
    assert.ok(!text.includes('configured-backend-key-1'), text);
    assert.equal(text.split('ya29.fetched-at-run-time').length - 1, 1, 'held only while the request runs');
    assert.ok(text.includes(REDACTED));
  });
});
