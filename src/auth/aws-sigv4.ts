/**
 * AWS SigV4 for Bedrock: signs the final upstream request (method, escaped path with query, backend host,
 * SHA-256 of the exact final body). Each call signs afresh, so every attempt gets its own signature.
 *
 * Credentials: the backend's static keys (with only the configured session token: an ambient
 * AWS_SESSION_TOKEN never joins them), else the default Node credential chain (env, SSO, shared files,
 * web identity/IRSA, container/instance metadata), cached and refreshed 5 minutes before expiry.
 *
 * Path escaping: the translator escapes each segment once (`/model/{encodeURIComponent(id)}/converse`,
 * so ':' and '/' in model IDs and ARNs become %3A and %2F). SignatureV4's default `uriEscapePath`
 * escapes that path again for the canonical request, which is the double encoding AWS expects.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
import type { ResolvedAuth, ResolvedBackend } from '../config/load.js';
import { GatewayError } from '../core/errors.js';
import type { AuthHeaders, SignableRequest } from './types.js';

export const AWS_SERVICE = 'bedrock';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

type CredentialProvider = () => Promise<AwsCredentials>;

/** One memoized default-chain provider per region (web identity needs the region for STS). */
const chainProviders = new Map<string, CredentialProvider>();
let chainFactory: (region: string) => CredentialProvider = (region) => {
  // The AWS SDK's credential chain is imported on first use: only configs with Bedrock on the default chain load it.
  let provider: Promise<() => Promise<AwsCredentials>> | undefined;
  return async () => {
    provider ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider({ clientConfig: { region } }));
    return (await provider)();
  };
};

/**
 * The signer and its hash, imported on first signature (start-up of configs without Bedrock does not pay for them).
 * The hash is node:crypto's (@smithy/hash-node, as the AWS SDK for Node uses): a pure-JavaScript SHA-256 over a
 * 6 KB body was ~15 % of a translated Bedrock request's CPU.
 */
type SignerModules = [typeof import('@smithy/signature-v4'), typeof import('@smithy/hash-node')];
let signerModules: Promise<SignerModules> | undefined;
function loadSigner(): Promise<SignerModules> {
  signerModules ??= Promise.all([import('@smithy/signature-v4'), import('@smithy/hash-node')]);
  return signerModules;
}

/** Tests only: replace the default credential chain. Returns a function restoring the original. */
export function setDefaultCredentialChainForTests(factory: (region: string) => CredentialProvider): () => void {
  const previous = chainFactory;
  chainFactory = factory;
  chainProviders.clear();
  return () => {
    chainFactory = previous;
    chainProviders.clear();
  };
}

function staticCredentials(aws: NonNullable<ResolvedAuth['aws']>): AwsCredentials | undefined {
  const accessKeyId = aws.accessKeyId?.value;
  const secretAccessKey = aws.secretAccessKey?.value;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = aws.sessionToken?.value;
  return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
}

async function resolveCredentials(backend: ResolvedBackend, aws: NonNullable<ResolvedAuth['aws']>): Promise<AwsCredentials> {
  const fixed = staticCredentials(aws);
  if (fixed) return fixed;
  let provider = chainProviders.get(aws.region);
  if (!provider) {
    provider = chainFactory(aws.region);
    chainProviders.set(aws.region, provider);
  }
  try {
    return await provider();
  } catch (cause) {
    // The provider's message names the sources it tried; it never contains a secret.
    const detail = cause instanceof Error ? cause.message : 'unknown error';
    throw new GatewayError('ERR_MISSING_CREDENTIAL', `backend ${backend.name}: no AWS credentials available (${detail})`, {
      status: 401,
      cause,
    });
  }
}

/** Splits `/p?a=1&b` into the path and SignatureV4's query map (values kept percent-decoded). */
function splitPath(path: string): { path: string; query: Record<string, string | string[]> } {
  const mark = path.indexOf('?');
  if (mark < 0) return { path, query: {} };
  const query: Record<string, string | string[]> = {};
  for (const pair of path.slice(mark + 1).split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const key = decodeQueryPart(equals < 0 ? pair : pair.slice(0, equals));
    const value = equals < 0 ? '' : decodeQueryPart(pair.slice(equals + 1));
    const existing = query[key];
    if (existing === undefined) query[key] = value;
    else query[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return { path: path.slice(0, mark), query };
}

function decodeQueryPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}

/** Signs with explicit credentials and date; exported so tests and mocks verify with the same code path. */
export async function signAwsRequest(
  credentials: AwsCredentials,
  region: string,
  request: SignableRequest,
  signingDate: Date = new Date(),
): Promise<Record<string, string>> {
  const [{ SignatureV4 }, { Hash }] = await loadSigner();
  const signer = new SignatureV4({ service: AWS_SERVICE, region, credentials, sha256: Hash.bind(null, 'sha256') });
  const { path, query } = splitPath(request.path);
  const signed = await signer.sign(
    {
      method: request.method.toUpperCase(),
      protocol: 'https:',
      hostname: request.host,
      path,
      query,
      headers: { host: request.host },
      body: request.body,
    },
    { signingDate },
  );
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'authorization' || lower.startsWith('x-amz-')) out[lower] = String(value);
  }
  return out;
}

/** The host AWS sees: the backend endpoint's host (default port omitted), never the client's :authority. */
function endpointHost(endpoint: string): string | undefined {
  try {
    return new URL(endpoint).host || undefined;
  } catch {
    return undefined;
  }
}

export async function awsSigV4Headers(
  backend: ResolvedBackend,
  aws: NonNullable<ResolvedAuth['aws']>,
  request: SignableRequest,
): Promise<AuthHeaders> {
  const credentials = await resolveCredentials(backend, aws);
  return { set: await signAwsRequest(credentials, aws.region, { ...request, host: endpointHost(backend.endpoint) ?? request.host }) };
}
