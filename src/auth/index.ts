/**
 * Picks the credential a backend needs and returns the headers that carry it.
 * Client credential headers are removed by the caller whenever a backend has `auth`.
 */
import type { ResolvedBackend } from '../config/load.js';
import { GatewayError } from '../core/errors.js';
import { awsSigV4Headers } from './aws-sigv4.js';
import { gcpAuthHeaders } from './gcp.js';
import type { AuthHeaders, SignableRequest } from './types.js';

/** Headers a client may use to carry its own credential. */
export const CLIENT_CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'proxy-authorization'] as const;

/**
 * What is stripped from the client's request when the backend has `auth`: its credential headers and its
 * cookies (a session for the gateway's own site is no business of the provider's).
 */
export const CLIENT_CONFIDENTIAL_HEADERS = [...CLIENT_CREDENTIAL_HEADERS, 'cookie'] as const;

function required(value: string | undefined, what: string, backend: string): string {
  if (!value) throw new GatewayError('ERR_MISSING_CREDENTIAL', `backend ${backend} has no ${what} configured`, { status: 401 });
  return value;
}

/**
 * The credential headers for one request. Static keys are answered at once (no promise, so a passthrough's upstream
 * answer can go out in the same turn); AWS signing and Google tokens are awaited. A missing key throws.
 */
export function authHeaders(backend: ResolvedBackend, request: SignableRequest): AuthHeaders | Promise<AuthHeaders> {
  const credentials = backend.credentials;
  if (!credentials) return { set: {} };
  if (credentials.apiKey) {
    const key = credentials.apiKey.value;
    // An optional key that is unset: clients bring their own, so nothing is injected.
    return key ? { set: { authorization: `Bearer ${key}` } } : { set: {} };
  }
  if (credentials.anthropicApiKey) return { set: { 'x-api-key': required(credentials.anthropicApiKey.value, 'API key', backend.name) } };
  if (credentials.azureApiKey) return { set: { 'api-key': required(credentials.azureApiKey.value, 'API key', backend.name) } };
  if (credentials.azureAccessToken) {
    return { set: { authorization: `Bearer ${required(credentials.azureAccessToken.value, 'access token', backend.name)}` } };
  }
  if (credentials.googleApiKey) return { set: { 'x-goog-api-key': required(credentials.googleApiKey.value, 'API key', backend.name) } };
  if (credentials.aws) return awsSigV4Headers(backend, credentials.aws, request);
  if (credentials.gcp) return gcpAuthHeaders(backend, credentials.gcp);
  return { set: {} };
}

/** True when the backend injects its own credential (so the client's must not reach it). */
export function backendHasAuth(backend: ResolvedBackend): boolean {
  const credentials = backend.credentials;
  if (!credentials) return false;
  if (credentials.apiKey && !credentials.apiKey.value) return false;
  return true;
}
