/**
 * Server-side SigV4 check for mocks: recomputes the signature of a received request with
 * @smithy/signature-v4 and the credentials the mock expects, as AWS would.
 */
import { createHash } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export interface ReceivedRequest {
  readonly method: string;
  /** The raw request target as received (already percent-encoded). */
  readonly path: string;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array;
}

export interface ExpectedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly region: string;
  readonly service?: string;
  /** Host the signature must be computed over (default: the received host header). */
  readonly host?: string;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

const AUTH_PATTERN = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/;

function parseQuery(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(search)) {
    const existing = query[key];
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

export async function verifySigV4(request: ReceivedRequest, expected: ExpectedCredentials): Promise<VerifyResult> {
  const authorization = request.headers['authorization'];
  if (!authorization) return { ok: false, reason: 'missing authorization header' };
  const match = AUTH_PATTERN.exec(authorization);
  if (!match) return { ok: false, reason: 'malformed authorization header' };
  const [, accessKeyId, , region, service, signedHeaderList, signature] = match;
  const service0 = expected.service ?? 'bedrock';
  if (accessKeyId !== expected.accessKeyId) return { ok: false, reason: 'unknown access key id' };
  if (region !== expected.region) return { ok: false, reason: `credential scope region ${region}` };
  if (service !== service0) return { ok: false, reason: `credential scope service ${service}` };
  const amzDate = request.headers['x-amz-date'];
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) return { ok: false, reason: 'missing x-amz-date' };
  if ((request.headers['x-amz-security-token'] ?? undefined) !== expected.sessionToken) {
    return { ok: false, reason: 'security token mismatch' };
  }
  const bodyHash = createHash('sha256').update(request.body).digest('hex');
  const claimedHash = request.headers['x-amz-content-sha256'];
  if (claimedHash !== undefined && claimedHash !== bodyHash) return { ok: false, reason: 'x-amz-content-sha256 does not match the body' };

  const signedHeaders = (signedHeaderList as string).split(';');
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) return { ok: false, reason: 'host and x-amz-date must be signed' };
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    // the signer adds these itself (the payload hash from the body we received)
    if (name === 'x-amz-date' || name === 'x-amz-security-token' || name === 'x-amz-content-sha256') continue;
    const value = name === 'host' ? (expected.host ?? request.headers['host']) : request.headers[name];
    if (value === undefined) return { ok: false, reason: `signed header ${name} missing` };
    headers[name] = value;
  }
  const mark = request.path.indexOf('?');
  const path = mark < 0 ? request.path : request.path.slice(0, mark);
  const query = mark < 0 ? {} : parseQuery(request.path.slice(mark + 1));
  const signer = new SignatureV4({
    service: service0,
    region: expected.region,
    credentials: { accessKeyId: expected.accessKeyId, secretAccessKey: expected.secretAccessKey, sessionToken: expected.sessionToken },
    sha256: Sha256,
    applyChecksum: claimedHash !== undefined,
  });
  const date = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const resigned = await signer.sign(
    { method: request.method, protocol: 'https:', hostname: headers['host'] ?? '', path, query, headers, body: request.body },
    { signingDate: date },
  );
  const expectedAuth = String(resigned.headers['authorization'] ?? '');
  const expectedSignature = expectedAuth.slice(expectedAuth.lastIndexOf('=') + 1);
  if (expectedSignature !== signature) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}
