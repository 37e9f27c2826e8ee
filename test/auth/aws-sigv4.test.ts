import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { awsSigV4Headers, setDefaultCredentialChainForTests, signAwsRequest } from '../../src/auth/aws-sigv4.js';
import type { ResolvedBackend } from '../../src/config/load.js';
import { Secret } from '../../src/config/secret.js';
import { verifySigV4 } from '../helpers/sigv4-verify.js';

const KEY_ID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const REGION = 'us-east-1';
const HOST = 'bedrock-runtime.us-east-1.amazonaws.com';
const body = new TextEncoder().encode('{"messages":[{"role":"user","content":[{"text":"hi"}]}]}');

function backend(aws: NonNullable<NonNullable<ResolvedBackend['credentials']>['aws']>): ResolvedBackend {
  return {
    name: 'bedrock',
    schema: 'AWSBedrock',
    endpoint: `https://${HOST}`,
    host: HOST,
    prefix: '/v1',
    headers: { set: {}, remove: [] },
    streamOptions: true,
    credentials: { aws },
  };
}

const staticAws = { region: REGION, accessKeyId: Secret.of(KEY_ID), secretAccessKey: Secret.of(SECRET) };

function received(path: string, set: Record<string, string>, host = HOST, payload = body) {
  return { method: 'POST', path, headers: { ...set, host }, body: payload };
}

describe('awsSigV4Headers', () => {
  it('signs with lower-case headers that verify against the same credentials', async () => {
    const path = `/model/${encodeURIComponent('anthropic.claude-3-5-sonnet-20240620-v1:0')}/converse`;
    assert.equal(path, '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    const { set } = await awsSigV4Headers(backend(staticAws), staticAws, { method: 'POST', path, host: 'client.example', body });
    assert.deepEqual(Object.keys(set).sort(), ['authorization', 'x-amz-content-sha256', 'x-amz-date']);
    assert.match(set['authorization'] ?? '', /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/);
    assert.equal(set['x-amz-content-sha256'], createHash('sha256').update(body).digest('hex'));
    const good = await verifySigV4(received(path, set), { accessKeyId: KEY_ID, secretAccessKey: SECRET, region: REGION });
    assert.deepEqual(good, { ok: true });
    // the client's :authority was not used: verifying over it fails
    const wrongHost = await verifySigV4(received(path, set, 'client.example'), { accessKeyId: KEY_ID, secretAccessKey: SECRET, region: REGION });
    assert.equal(wrongHost.ok, false);
  });

  it('covers the exact body and path: any change breaks the signature', async () => {
    const path = '/model/amazon.nova-pro-v1%3A0/converse-stream';
    const { set } = await awsSigV4Headers(backend(staticAws), staticAws, { method: 'POST', path, host: HOST, body });
    const creds = { accessKeyId: KEY_ID, secretAccessKey: SECRET, region: REGION };
    const otherBody = new TextEncoder().encode('{"messages":[]}');
    assert.equal((await verifySigV4(received(path, set, HOST, otherBody), creds)).ok, false);
    assert.equal((await verifySigV4(received('/model/amazon.nova-pro-v1%3A0/converse', set), creds)).ok, false);
    assert.equal((await verifySigV4(received(path, set), { ...creds, secretAccessKey: 'other' })).ok, false);
    assert.equal((await verifySigV4(received(path, set), { ...creds, region: 'us-west-2' })).ok, false);
  });

  it('signs an ARN model id (":" and "/" escaped per segment)', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0';
    const path = `/model/${encodeURIComponent(arn)}/converse`;
    assert.ok(path.includes('%2F') && path.includes('%3A'));
    const { set } = await awsSigV4Headers(backend(staticAws), staticAws, { method: 'POST', path, host: HOST, body });
    assert.deepEqual(await verifySigV4(received(path, set), { accessKeyId: KEY_ID, secretAccessKey: SECRET, region: REGION }), { ok: true });
  });

  it('double-encodes the canonical path as AWS documents (independent computation)', async () => {
    const date = new Date('2024-06-01T12:00:00Z');
    const path = '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse';
    const headers = await signAwsRequest({ accessKeyId: KEY_ID, secretAccessKey: SECRET }, REGION, { method: 'POST', path, host: HOST, body }, date);
    const payloadHash = createHash('sha256').update(body).digest('hex');
    const canonical = [
      'POST',
      '/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse',
      '',
      `host:${HOST}`,
      `x-amz-content-sha256:${payloadHash}`,
      'x-amz-date:20240601T120000Z',
      '',
      'host;x-amz-content-sha256;x-amz-date',
      payloadHash,
    ].join('\n');
    const scope = `20240601/${REGION}/bedrock/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', '20240601T120000Z', scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
    let key: Buffer = createHmac('sha256', `AWS4${SECRET}`).update('20240601').digest();
    for (const part of [REGION, 'bedrock', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
    const signature = createHmac('sha256', key).update(toSign).digest('hex');
    assert.equal(headers['authorization'], `AWS4-HMAC-SHA256 Credential=${KEY_ID}/${scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${signature}`);
  });

  it('signs a query string', async () => {
    const path = '/model/m/converse?b=2&a=x%20y';
    const { set } = await awsSigV4Headers(backend(staticAws), staticAws, { method: 'POST', path, host: HOST, body });
    assert.deepEqual(await verifySigV4(received(path, set), { accessKeyId: KEY_ID, secretAccessKey: SECRET, region: REGION }), { ok: true });
  });

  it('adds the configured session token; an ambient AWS_SESSION_TOKEN never joins static keys', async () => {
    const saved = process.env['AWS_SESSION_TOKEN'];
    process.env['AWS_SESSION_TOKEN'] = 'ambient-token';
    try {
      const plain = await awsSigV4Headers(backend(staticAws), staticAws, { method: 'POST', path: '/model/m/converse', host: HOST, body });
      assert.equal(plain.set['x-amz-security-token'], undefined);
      const withToken = { ...staticAws, sessionToken: Secret.of('configured-token') };
      const signed = await awsSigV4Headers(backend(withToken), withToken, { method: 'POST', path: '/model/m/converse', host: HOST, body });
      assert.equal(signed.set['x-amz-security-token'], 'configured-token');
      const verdict = await verifySigV4(received('/model/m/converse', signed.set), {
        accessKeyId: KEY_ID,
        secretAccessKey: SECRET,
        sessionToken: 'configured-token',
        region: REGION,
      });
      assert.deepEqual(verdict, { ok: true });
    } finally {
      if (saved === undefined) delete process.env['AWS_SESSION_TOKEN'];
      else process.env['AWS_SESSION_TOKEN'] = saved;
    }
  });

  it('signs each call afresh (new date per attempt)', async () => {
    const first = await signAwsRequest({ accessKeyId: KEY_ID, secretAccessKey: SECRET }, REGION, { method: 'POST', path: '/m', host: HOST, body }, new Date('2024-01-01T00:00:00Z'));
    const second = await signAwsRequest({ accessKeyId: KEY_ID, secretAccessKey: SECRET }, REGION, { method: 'POST', path: '/m', host: HOST, body }, new Date('2024-01-01T00:00:01Z'));
    assert.notEqual(first['authorization'], second['authorization']);
  });
});

describe('default credential chain', () => {
  const restore: Array<() => void> = [];
  after(() => restore.reverse().forEach((undo) => undo()));

  it('uses the chain when no static keys are configured, and caches it per region', async () => {
    let calls = 0;
    restore.push(
      setDefaultCredentialChainForTests((region) => {
        assert.equal(region, REGION);
        let cached: { accessKeyId: string; secretAccessKey: string; sessionToken: string } | undefined;
        return async () => {
          calls++;
          cached ??= { accessKeyId: 'ASIACHAIN', secretAccessKey: 'chain-secret', sessionToken: 'chain-token' };
          return cached;
        };
      }),
    );
    const aws = { region: REGION };
    const { set } = await awsSigV4Headers(backend(aws), aws, { method: 'POST', path: '/model/m/converse', host: HOST, body });
    assert.equal(set['x-amz-security-token'], 'chain-token');
    assert.deepEqual(
      await verifySigV4(received('/model/m/converse', set), { accessKeyId: 'ASIACHAIN', secretAccessKey: 'chain-secret', sessionToken: 'chain-token', region: REGION }),
      { ok: true },
    );
    await awsSigV4Headers(backend(aws), aws, { method: 'POST', path: '/model/m/converse', host: HOST, body });
    assert.equal(calls, 2, 'the provider is asked per call (it memoizes and refreshes itself)');
  });

  it('turns a chain failure into a 401 GatewayError without secrets', async () => {
    restore.push(setDefaultCredentialChainForTests(() => async () => Promise.reject(new Error('Could not load credentials from any providers'))));
    const aws = { region: REGION };
    await assert.rejects(
      awsSigV4Headers(backend(aws), aws, { method: 'POST', path: '/model/m/converse', host: HOST, body }),
      (error: unknown) => error instanceof Error && error.name === 'GatewayError' && /no AWS credentials/.test(error.message) && (error as { status?: number }).status === 401,
    );
  });

  it('the real default chain reads AWS_* environment variables', async () => {
    restore.pop()?.();
    restore.pop()?.();
    const saved = { ...process.env };
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIAENV';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'env-secret';
    process.env['AWS_SESSION_TOKEN'] = 'env-token';
    process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
    delete process.env['AWS_PROFILE'];
    try {
      const aws = { region: 'eu-west-1' };
      const { set } = await awsSigV4Headers(backend(aws), aws, { method: 'POST', path: '/model/m/converse', host: HOST, body });
      assert.deepEqual(
        await verifySigV4(received('/model/m/converse', set), { accessKeyId: 'AKIAENV', secretAccessKey: 'env-secret', sessionToken: 'env-token', region: 'eu-west-1' }),
        { ok: true },
      );
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
