/**
 * GCP Bearer tokens for Vertex AI backends (`auth.gcp`), by precedence:
 * 1. `accessToken`: a static token (a `{file}` secret is re-read when it changes, for externally rotated tokens);
 * 2. `credentialsFile`: a service-account key JSON, exchanged for tokens with google-auth-library (JWT bearer
 *    flow, scope cloud-platform; the file's `token_uri` is honoured). Other credential files (external_account
 *    for workload identity federation, authorized_user) go through GoogleAuth as is;
 * 3. neither: application default credentials (GOOGLE_APPLICATION_CREDENTIALS, read like a credentialsFile; else
 *    gcloud's user credentials or the metadata server, through GoogleAuth).
 * Tokens are cached per backend and refreshed {@link REFRESH_MARGIN_MS} before expiry; concurrent requests share one
 * refresh; a token that is still valid keeps being served if a refresh fails. Failures become GatewayErrors (401 when
 * Google refused the credential, 500 otherwise) whose messages never contain a credential.
 *
 * @see https://cloud.google.com/docs/authentication/application-default-credentials
 * @see https://developers.google.com/identity/protocols/oauth2/service-account#httprest
 */
import { readFile } from 'node:fs/promises';
import type { GoogleAuth, JWT } from 'google-auth-library';
import type { ResolvedAuth, ResolvedBackend } from '../config/load.js';
import { GatewayError } from '../core/errors.js';
import { asString, isRecord, safeParseJson } from '../core/json.js';
import type { AuthHeaders } from './types.js';

type GcpAuth = NonNullable<ResolvedAuth['gcp']>;

/** google-auth-library, imported on first use: only configs with a GCP backend on a credentials file or ADC load it. */
let googleAuthLibrary: Promise<typeof import('google-auth-library')> | undefined;
function loadGoogleAuthLibrary(): Promise<typeof import('google-auth-library')> {
  googleAuthLibrary ??= import('google-auth-library');
  return googleAuthLibrary;
}

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
/** Refresh this long before a token expires. */
export const REFRESH_MARGIN_MS = 5 * 60_000;
/** Assumed lifetime when a credential does not say (Google access tokens live one hour). */
const DEFAULT_LIFETIME_MS = 55 * 60_000;

export interface AccessToken {
  readonly value: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** Where tokens come from; `fetch` always gets a fresh one. */
export interface TokenSource {
  fetch(): Promise<AccessToken>;
}

/** A safe, credential-free reason for a failure from google-auth-library or the file system. */
function describeFailure(error: unknown): { reason: string; refused: boolean } {
  if (GatewayError.isInstance(error)) return { reason: error.message, refused: error.status === 401 };
  const record = isRecord(error) ? error : {};
  const response = isRecord(record.response) ? record.response : undefined;
  if (response && typeof response.status === 'number') {
    const data = isRecord(response.data) ? response.data : undefined;
    const oauthError = asString(data?.error);
    const code = oauthError && /^[a-z_]{1,64}$/.test(oauthError) ? ` (${oauthError})` : '';
    return { reason: `the token endpoint answered HTTP ${response.status}${code}`, refused: response.status >= 400 && response.status < 500 };
  }
  const code = asString(record.code);
  const syscall = asString(record.syscall);
  if (code && syscall && /^[A-Z_]{2,32}$/.test(code)) return { reason: `cannot read the credentials file (${code})`, refused: false };
  if (code && /^[A-Z_]{2,32}$/.test(code)) return { reason: `the token request failed (${code})`, refused: false };
  const message = error instanceof Error ? error.message : '';
  if (/default credentials/i.test(message)) return { reason: 'no application default credentials were found', refused: false };
  return { reason: 'the access token could not be obtained', refused: false };
}

function failure(backend: string, error: unknown): GatewayError {
  const { reason, refused } = describeFailure(error);
  return new GatewayError(refused ? 'ERR_MISSING_CREDENTIAL' : 'ERR_INTERNAL', `GCP credentials for backend "${backend}": ${reason}`, {
    status: refused ? 401 : 500,
  });
}

/** Caches one backend's token and refreshes it before expiry, one refresh at a time. */
export class GcpTokenCache {
  private token: AccessToken | undefined;
  private refreshing: Promise<AccessToken> | undefined;

  constructor(
    private readonly source: TokenSource,
    private readonly now: () => number = Date.now,
    private readonly marginMs = REFRESH_MARGIN_MS,
  ) {}

  async get(): Promise<string> {
    const token = this.token;
    if (token && this.now() < token.expiresAt - this.marginMs) return token.value;
    try {
      return (await this.refresh()).value;
    } catch (error) {
      // a token that has not expired yet is still good
      if (token && this.now() < token.expiresAt) return token.value;
      throw error;
    }
  }

  private refresh(): Promise<AccessToken> {
    this.refreshing ??= this.source
      .fetch()
      .then((fresh) => {
        this.token = fresh;
        return fresh;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }
}

/** google-auth-library always posts to Google's token endpoint; private endpoints and other universes set token_uri. */
function redirectTokenRequests(jwt: JWT, target: URL): void {
  jwt.transporter.interceptors.request.add({
    resolved: async (options) => {
      if (String(options.url) === GOOGLE_TOKEN_URI) options.url = target;
      return options;
    },
  });
}

/** Service-account key file via google-auth-library's JWT client; other credential types via GoogleAuth. */
export function credentialsFileSource(file: string, now: () => number = Date.now): TokenSource {
  let client: Promise<TokenSource> | undefined;
  const load = async (): Promise<TokenSource> => {
    const parsed = safeParseJson(await readFile(file, 'utf8'));
    if (!parsed.ok || !isRecord(parsed.value)) throw new GatewayError('ERR_INTERNAL', `credentials file ${file} is not JSON`);
    const json = parsed.value;
    const { GoogleAuth, JWT } = await loadGoogleAuthLibrary();
    if (json.type !== 'service_account') return googleAuthSource(new GoogleAuth({ keyFile: file, scopes: [CLOUD_PLATFORM_SCOPE] }), now);
    const email = asString(json.client_email);
    const key = asString(json.private_key);
    if (!email || !key) throw new GatewayError('ERR_INTERNAL', `credentials file ${file} has no client_email or private_key`);
    const tokenUri = asString(json.token_uri);
    const keyId = asString(json.private_key_id);
    return {
      fetch: async () => {
        // a fresh client per refresh: GcpTokenCache decides when to refresh, not the library's own token cache
        const jwt = new JWT({ email, key, keyId, scopes: [CLOUD_PLATFORM_SCOPE] });
        if (tokenUri && tokenUri !== GOOGLE_TOKEN_URI) redirectTokenRequests(jwt, new URL(tokenUri));
        const credentials = await jwt.authorize();
        if (!credentials.access_token) throw new GatewayError('ERR_MISSING_CREDENTIAL', 'the token endpoint returned no access token', { status: 401 });
        return { value: credentials.access_token, expiresAt: credentials.expiry_date ?? now() + DEFAULT_LIFETIME_MS };
      },
    };
  };
  return {
    fetch: async () => {
      client ??= load().catch((error: unknown) => {
        client = undefined; // a file fixed later is picked up by the next request
        throw error;
      });
      return (await client).fetch();
    },
  };
}

/** Any GoogleAuth (application default credentials when built without a file). */
export function googleAuthSource(auth: GoogleAuth, now: () => number = Date.now): TokenSource {
  return {
    fetch: async () => {
      const client = await auth.getClient();
      const { token } = await client.getAccessToken();
      if (!token) throw new GatewayError('ERR_MISSING_CREDENTIAL', 'no access token was returned', { status: 401 });
      return { value: token, expiresAt: client.credentials.expiry_date ?? now() + DEFAULT_LIFETIME_MS };
    },
  };
}

/** Application default credentials, through a GoogleAuth built on first use. */
function applicationDefaultSource(): TokenSource {
  let source: Promise<TokenSource> | undefined;
  return {
    fetch: async () => {
      source ??= loadGoogleAuthLibrary().then(({ GoogleAuth }) => googleAuthSource(new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] })));
      return (await source).fetch();
    },
  };
}

const caches = new Map<string, GcpTokenCache>();

function cacheFor(backend: ResolvedBackend, gcp: GcpAuth): GcpTokenCache {
  // ADC's first step is GOOGLE_APPLICATION_CREDENTIALS; reading it here keeps token_uri honoured there too
  const file = gcp.credentialsFile ?? (process.env.GOOGLE_APPLICATION_CREDENTIALS || undefined);
  const key = `${backend.name}\u0000${file ?? '(adc)'}`;
  let cache = caches.get(key);
  if (!cache) {
    const source = file ? credentialsFileSource(file) : applicationDefaultSource();
    cache = new GcpTokenCache(source);
    caches.set(key, cache);
  }
  return cache;
}

/** Forgets every cached token (tests, config reloads). */
export function resetGcpTokenCaches(): void {
  caches.clear();
}

export async function gcpAuthHeaders(backend: ResolvedBackend, gcp: GcpAuth): Promise<AuthHeaders> {
  if (gcp.accessToken) {
    const token = gcp.accessToken.value;
    if (!token) throw new GatewayError('ERR_MISSING_CREDENTIAL', `backend ${backend.name} has no GCP access token configured`, { status: 401 });
    return { set: { authorization: `Bearer ${token}` } };
  }
  try {
    return { set: { authorization: `Bearer ${await cacheFor(backend, gcp).get()}` } };
  } catch (error) {
    throw failure(backend.name, error);
  }
}
