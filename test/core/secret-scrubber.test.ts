/**
 * The credential scrubber: which values count (header values, Bearer tokens, SigV4 parts, a backend's auth and
 * `headers.set` values), every form an echo may write them in, and streams: a secret cut across chunks is still
 * replaced, and the output is byte-identical whatever the chunk boundaries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDACTED, SecretScrubber } from '../../src/core/secret-scrubber.js';
import { backendSecretValues, rememberedSecretValuesOf, secretValuesOf } from '../../src/server/scrub-secrets.js';
import { loadTestConfig } from '../helpers/gateway-harness.js';
import { createRandom, splitEvery, standardSplittings } from '../helpers/chunking.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');
const text = (data: Uint8Array) => Buffer.from(data).toString('utf8');

function streamed(scrubber: SecretScrubber, chunks: readonly Uint8Array[]): string {
  const stream = scrubber.stream();
  const out = chunks.map((chunk) => stream.push(chunk));
  out.push(stream.end());
  return Buffer.concat(out).toString('utf8');
}

describe('secretValuesOf', () => {
  it('takes the token out of Bearer values and skips values too short to be unique', () => {
    const secrets = secretValuesOf(['Bearer sk-backend-secret-1234', 'short', 'AKIDEXAMPLE-session-token-xyz']);
    assert.deepEqual([...secrets].sort(), ['AKIDEXAMPLE-session-token-xyz', 'Bearer sk-backend-secret-1234', 'sk-backend-secret-1234'].sort());
  });

  it('takes the access key id and the signature out of a SigV4 Authorization value', () => {
    const value = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE123/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123';
    const secrets = secretValuesOf([value]);
    assert.ok(secrets.includes(value));
    assert.ok(secrets.includes('AKIDEXAMPLE123'));
    assert.ok(secrets.includes('0123456789abcdef0123'));
  });

  it('answers a remembered list as a fresh one, also after the memo was emptied, and never mixes two lists up', () => {
    const list = ['Bearer sk-backend-secret-1234', 'x-extra-header-value-5678'];
    const first = [...rememberedSecretValuesOf(list)];
    assert.deepEqual(first, secretValuesOf(list));
    // Per-request values (signatures) fill the memo past its bound, so it is emptied and the list computed again.
    for (let index = 0; index < 600; index += 1) rememberedSecretValuesOf([`Signature=${String(index).padStart(20, '0')}`]);
    assert.deepEqual([...rememberedSecretValuesOf([...list])], first);
    // Lists that a naive join would confuse.
    const joined = rememberedSecretValuesOf([`${'a'.repeat(12)}\u0000${'b'.repeat(12)}`]);
    const separate = rememberedSecretValuesOf(['a'.repeat(12), 'b'.repeat(12)]);
    assert.deepEqual([...separate].sort(), ['a'.repeat(12), 'b'.repeat(12)]);
    assert.deepEqual([...joined], [`${'a'.repeat(12)}\u0000${'b'.repeat(12)}`]);
  });
});

describe('backendSecretValues', () => {
  it('every auth value and every headers.set value of a backend', async () => {
    const config = await loadTestConfig(`
backends:
  - name: aws
    schema: AWSBedrock
    endpoint: https://bedrock.example
    auth: { aws: { region: us-east-1, accessKeyId: { value: AKIDCONFIGURED }, secretAccessKey: { value: aws-secret-access-key-1 }, sessionToken: { value: aws-session-token-1 } } }
    headers: { set: { x-tenant-token: tenant-token-from-config, x-team: ml } }
  - name: gcp
    schema: GCPVertexAI
    endpoint: https://vertex.example
    auth: { gcp: { projectId: p, region: us-central1, accessToken: { value: ya29.static-token-1 } } }
models: []
`);
    const aws = backendSecretValues(config.backends.get('aws')!);
    for (const value of ['AKIDCONFIGURED', 'aws-secret-access-key-1', 'aws-session-token-1', 'tenant-token-from-config']) assert.ok(aws.includes(value), value);
    assert.ok(!aws.includes('ml'), 'too short to scrub');
    assert.deepEqual(backendSecretValues(config.backends.get('gcp')!), ['ya29.static-token-1']);
  });
});

describe('SecretScrubber.scrub', () => {
  const scrubber = new SecretScrubber(secretValuesOf(['Bearer sk-backend-secret-1234', 'AKIDEXAMPLE-session-token-xyz']));

  it('replaces every occurrence, the whole header value before the token inside it, and keeps JSON valid', () => {
    const echoed = bytes('{"error":{"message":"got authorization: Bearer sk-backend-secret-1234 and sk-backend-secret-1234, token AKIDEXAMPLE-session-token-xyz"}}');
    const scrubbed = text(scrubber.scrub(echoed));
    assert.ok(!scrubbed.includes('sk-backend-secret-1234') && !scrubbed.includes('AKIDEXAMPLE-session-token-xyz'), scrubbed);
    assert.equal(scrubbed.match(/\[REDACTED\]/g)?.length, 3);
    assert.ok(scrubbed.includes(`authorization: ${REDACTED} and`), 'the whole Bearer value went at once');
    assert.doesNotThrow(() => JSON.parse(scrubbed));
  });

  it('returns the very same bytes when nothing matches, or when there are no secrets', () => {
    const clean = bytes('{"error":{"message":"rate limited"}}');
    assert.equal(scrubber.scrub(clean), clean);
    const echoed = bytes('sk-backend-secret-1234');
    assert.equal(new SecretScrubber([]).scrub(echoed), echoed);
    assert.equal(new SecretScrubber(['short']).scrub(bytes('short')).toString(), 'short');
  });

  it('finds JSON-escaped, \\/-escaped and URL-encoded forms', () => {
    const secret = 'tok/with"quote+plus=';
    const forms = new SecretScrubber([secret]);
    for (const form of [secret, JSON.stringify(secret).slice(1, -1), JSON.stringify(secret).slice(1, -1).replaceAll('/', '\\/'), encodeURIComponent(secret)]) {
      assert.equal(text(forms.scrub(bytes(`[${form}]`))), `[${REDACTED}]`, form);
    }
  });

  it('scrubText and containedIn work on strings', () => {
    assert.equal(scrubber.scrubText('x AKIDEXAMPLE-session-token-xyz y'), `x ${REDACTED} y`);
    assert.equal(scrubber.containedIn('x AKIDEXAMPLE-session-token-xyz'), true);
    assert.equal(scrubber.containedIn('AKIDEXAMPLE-session'), false);
  });
});

describe('StreamScrubber', () => {
  const secrets = ['sk-ant-backend-secret-aaaa', 'Bearer sk-ant-backend-secret-aaaa', 'aaaa-overlapping-aaaa', 'ya29.token'];
  const scrubber = new SecretScrubber(secrets);
  const document = bytes(
    [
      'data: {"text":"sk-ant-backend-secret-aaaa"}\n\n',
      'data: {"h":"Bearer sk-ant-backend-secret-aaaa, sk-ant-backend-secret-aa"}\n\n',
      'data: {"near-miss":"ya29.toke", "overlap":"aaaa-overlapping-aaaa-overlapping-aaaa"}\n\n',
      'data: {"unicode":"héllo ✓ ya29.token✓"}\n\n',
      'data: [DONE] ya29.tok',
    ].join(''),
  );
  const expected = text(scrubber.scrub(document));

  it('the whole-body result has no secret and keeps the near misses', () => {
    for (const secret of secrets) assert.ok(!expected.includes(secret), secret);
    assert.ok(expected.includes('ya29.toke"') && expected.endsWith('ya29.tok'), expected);
    assert.ok(expected.includes('sk-ant-backend-secret-aa"'), 'a proper prefix at a value end is kept');
  });

  it('gives the same bytes whatever the chunk boundaries (every byte, random cuts)', () => {
    for (const splitting of standardSplittings(document, 20)) {
      assert.equal(streamed(scrubber, splitting.chunks), expected, splitting.name);
    }
    for (let size = 2; size <= 40; size += 1) assert.equal(streamed(scrubber, splitEvery(document, size)), expected, `every ${size}`);
  });

  it('holds back at most the longest secret less one byte, and only what could still be a secret', () => {
    const stream = scrubber.stream();
    const longest = Math.max(...secrets.map((secret) => Buffer.byteLength(secret)));
    for (const chunk of splitEvery(document, 5)) {
      stream.push(chunk);
      assert.ok(stream.heldBytes < longest, `held ${stream.heldBytes}`);
    }
    const plain = bytes('data: nothing secret here\n\n');
    const fresh = scrubber.stream();
    assert.equal(fresh.push(plain), plain, 'a chunk with no possible secret start goes out as is (same object)');
    assert.equal(fresh.heldBytes, 0);
    assert.equal(text(fresh.push(bytes('x sk-ant-'))), 'x ');
    assert.equal(fresh.heldBytes, 'sk-ant-'.length);
    assert.equal(text(fresh.end()), 'sk-ant-');
  });

  it('random secrets in random text, cut anywhere: the stream equals the whole', () => {
    const random = createRandom(42);
    const alphabet = 'ab-/"\\';
    for (let round = 0; round < 200; round += 1) {
      const pick = (length: number) => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      const roundSecrets = [pick(8), pick(9), pick(12)];
      const roundScrubber = new SecretScrubber(roundSecrets);
      const parts: string[] = [];
      for (let index = 0; index < 20; index += 1) parts.push(random() < 0.3 ? (roundSecrets[index % 3] as string) : pick(1 + Math.floor(random() * 10)));
      const body = bytes(parts.join(''));
      const whole = text(roundScrubber.scrub(body));
      for (const secret of roundSecrets) assert.ok(!whole.includes(secret), `round ${round}: ${secret} in ${whole}`);
      for (const splitting of standardSplittings(body, 3)) assert.equal(streamed(roundScrubber, splitting.chunks), whole, `round ${round} ${splitting.name}`);
    }
  });
});
