/**
 * GCP auth: static tokens, service-account files exchanged at a local mock OAuth endpoint (token_uri), caching,
 * refresh before expiry, single-flight refresh, and failures that never leak a credential.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ResolvedBackend } from '../../src/config/load.js';
import { Secret } from '../../src/config/secret.js';
import { credentialsFileSource, gcpAuthHeaders, GcpTokenCache, REFRESH_MARGIN_MS, resetGcpTokenCaches } from '../../src/auth/gcp.js';
import { GatewayError } from '../../src/core/errors.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const CLIENT_EMAIL = 'gateway@my-project.iam.gserviceaccount.com';
const KEY_ID = 'key-123';

interface OAuthMock {
  server: Server;
  url: string;
  requests: number;
  assertions: string[];
  /** Status to answer with (200 issues a token). */
  status: number;
  expiresIn: number;
  /** Delay before answering, to let concurrent callers pile up. */
  delayMs: number;
}

function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Checks the JWT bearer assertion like Google does: RS256 over header.payload with the account's public key. */
function checkAssertion(assertion: string): string | undefined {
  const [header, payload, signature] = assertion.split('.');
  if (!header || !payload || !signature) return 'malformed assertion';
  const validSignature = verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'));
  if (!validSignature) return 'bad signature';
  const head = decodeSegment(header);
  const claims = decodeSegment(payload);
  if (head.alg !== 'RS256') return 'bad header';
  if (claims.iss !== CLIENT_EMAIL || typeof claims.scope !== 'string' || !claims.scope.includes('cloud-platform')) return 'bad claims';
  if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number' || claims.exp <= claims.iat) return 'bad times';
  return undefined;
}

async function startOAuthMock(): Promise<OAuthMock> {
  const mock: OAuthMock = { server: createServer(), url: '', requests: 0, assertions: [], status: 200, expiresIn: 3600, delayMs: 0 };
  mock.server.on('request', (request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => {
      mock.requests += 1;
      const form = new URLSearchParams(text);
      const assertion = form.get('assertion') ?? '';
      mock.assertions.push(assertion);
      const problem =
        request.method !== 'POST' || request.url !== '/token' ? 'wrong endpoint'
        : form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' ? 'wrong grant'
        : checkAssertion(assertion);
      const answer = () => {
        response.setHeader('content-type', 'application/json');
        if (problem || mock.status !== 200) {
          response.statusCode = problem ? 400 : mock.status;
          response.end(JSON.stringify({ error: 'invalid_grant', error_description: `Invalid JWT: ${problem ?? 'rejected'} ${assertion}` }));
          return;
        }
        response.end(JSON.stringify({ access_token: `tok-${mock.requests}`, expires_in: mock.expiresIn, token_type: 'Bearer' }));
      };
      setTimeout(answer, mock.delayMs);
    });
  });
  await new Promise<void>((resolve) => mock.server.listen(0, '127.0.0.1', resolve));
  mock.url = `http://127.0.0.1:${(mock.server.address() as AddressInfo).port}/token`;
  return mock;
}

function backendWith(gcp: NonNullable<NonNullable<ResolvedBackend['credentials']>['gcp']>, name = 'vertex'): ResolvedBackend {
  return {
    name,
    schema: 'GCPVertexAI',
    endpoint: 'https://us-central1-aiplatform.googleapis.com',
    host: 'us-central1-aiplatform.googleapis.com',
    prefix: '/v1',
    headers: { set: {}, remove: [] },
    streamOptions: true,
    credentials: { gcp },
  };
}

function rejectsWith(status: number, pattern: RegExp, secrets: readonly string[]) {
  return (error: unknown) => {
    assert.ok(GatewayError.isInstance(error), `expected a GatewayError, got ${String(error)}`);
    assert.equal(error.status, status);
    assert.match(error.message, pattern);
    for (const secret of secrets) assert.ok(!error.message.includes(secret), 'the message must not contain a credential');
    return true;
  };
}

describe('gcp auth', () => {
  let mock: OAuthMock;
  let dir: string;
  let keyFile: string;

  before(async () => {
    mock = await startOAuthMock();
    dir = mkdtempSync(join(tmpdir(), 'gcp-auth-'));
    keyFile = join(dir, 'sa.json');
    writeFileSync(
      keyFile,
      JSON.stringify({
        type: 'service_account',
        project_id: 'my-project',
        private_key_id: KEY_ID,
        private_key: privateKey,
        client_email: CLIENT_EMAIL,
        token_uri: mock.url,
      }),
    );
  });

  after(async () => {
    await new Promise<void>((resolve) => mock.server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    resetGcpTokenCaches();
    mock.requests = 0;
    mock.assertions = [];
    mock.status = 200;
    mock.expiresIn = 3600;
    mock.delayMs = 0;
  });

  it('sends a static access token as a Bearer header without calling Google', async () => {
    const headers = await gcpAuthHeaders(backendWith({ projectId: 'p', region: 'r', accessToken: Secret.of('ya29.static') }), {
      projectId: 'p',
      region: 'r',
      accessToken: Secret.of('ya29.static'),
    });
    assert.deepEqual(headers, { set: { authorization: 'Bearer ya29.static' } });
    assert.equal(mock.requests, 0);
  });

  it('answers 401 for an empty static token', async () => {
    const gcp = { projectId: 'p', region: 'r', accessToken: Secret.of('') };
    await assert.rejects(gcpAuthHeaders(backendWith(gcp), gcp), rejectsWith(401, /no GCP access token/, []));
  });

  it('exchanges a signed JWT at the token_uri of the key file and caches the token', async () => {
    const gcp = { projectId: 'p', region: 'r', credentialsFile: keyFile };
    const first = await gcpAuthHeaders(backendWith(gcp), gcp);
    assert.deepEqual(first, { set: { authorization: 'Bearer tok-1' } });
    assert.equal(mock.requests, 1);
    assert.equal(checkAssertion(mock.assertions[0] ?? ''), undefined);
    const second = await gcpAuthHeaders(backendWith(gcp), gcp);
    assert.deepEqual(second, first);
    assert.equal(mock.requests, 1, 'the cached token is reused');
    // another backend has its own cache
    await gcpAuthHeaders(backendWith(gcp, 'other'), gcp);
    assert.equal(mock.requests, 2);
  });

  it('uses GOOGLE_APPLICATION_CREDENTIALS when no credential is configured', async () => {
    const previous = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = keyFile;
    try {
      const gcp = { projectId: 'p', region: 'r' };
      assert.deepEqual(await gcpAuthHeaders(backendWith(gcp), gcp), { set: { authorization: 'Bearer tok-1' } });
    } finally {
      if (previous === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = previous;
    }
  });

  it('refreshes a token once it is within the refresh margin, with one request for concurrent callers', async () => {
    let offset = 0;
    const cache = new GcpTokenCache(credentialsFileSource(keyFile), () => Date.now() + offset);
    assert.equal(await cache.get(), 'tok-1');
    offset = 3600_000 - REFRESH_MARGIN_MS - 60_000; // one minute before the margin: still cached
    assert.equal(await cache.get(), 'tok-1');
    assert.equal(mock.requests, 1);
    offset = 3600_000 - REFRESH_MARGIN_MS + 60_000; // inside the margin: refresh
    mock.delayMs = 30;
    const tokens = await Promise.all(Array.from({ length: 5 }, () => cache.get()));
    assert.deepEqual(tokens, Array(5).fill('tok-2'));
    assert.equal(mock.requests, 2, 'concurrent callers share one refresh');
  });

  it('keeps serving a still-valid token when a refresh fails, and fails once it has expired', async () => {
    let offset = 0;
    const cache = new GcpTokenCache(credentialsFileSource(keyFile), () => Date.now() + offset);
    assert.equal(await cache.get(), 'tok-1');
    mock.status = 401;
    offset = 3600_000 - 60_000;
    assert.equal(await cache.get(), 'tok-1');
    offset = 3600_000 + 60_000;
    await assert.rejects(cache.get());
  });

  it('answers 401 without leaking the key or the assertion when Google refuses the credential', async () => {
    mock.status = 401;
    const gcp = { projectId: 'p', region: 'r', credentialsFile: keyFile };
    await assert.rejects(gcpAuthHeaders(backendWith(gcp), gcp), (error: unknown) =>
      rejectsWith(401, /backend "vertex".*HTTP 401 \(invalid_grant\)/, ['PRIVATE KEY', ...mock.assertions.filter(Boolean)])(error),
    );
    assert.ok(mock.assertions.length > 0);
  });

  it('answers 500 for an unreadable or invalid credentials file', async () => {
    const missing = { projectId: 'p', region: 'r', credentialsFile: join(dir, 'missing.json') };
    await assert.rejects(gcpAuthHeaders(backendWith(missing), missing), rejectsWith(500, /cannot read the credentials file \(ENOENT\)/, []));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"type":"service_account","private_key":');
    const invalid = { projectId: 'p', region: 'r', credentialsFile: broken };
    await assert.rejects(gcpAuthHeaders(backendWith(invalid), invalid), rejectsWith(500, /not JSON/, []));
    const incomplete = join(dir, 'incomplete.json');
    writeFileSync(incomplete, JSON.stringify({ type: 'service_account', private_key: privateKey }));
    const partial = { projectId: 'p', region: 'r', credentialsFile: incomplete };
    await assert.rejects(gcpAuthHeaders(backendWith(partial), partial), rejectsWith(500, /no client_email/, ['PRIVATE KEY']));
  });
});
