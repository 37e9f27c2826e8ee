/**
 * Which values count as a backend's credentials. Some upstreams (proxies, misconfigured servers, hostile ones)
 * echo the request headers they received, in error pages, 2xx bodies or stream events; everything the service
 * passes back to the client is scrubbed of these values (src/core/secret-scrubber.ts), and so are logs.
 *
 * A backend's credentials are every value its `auth` resolves to, every value its `headers.set` adds, and every
 * value the attempt actually sent in an auth header (tokens fetched at run time, SigV4 signatures included).
 */
import type { ResolvedBackend, RuntimeConfig } from '../config/load.js';
import type { Secret } from '../config/secret.js';
import { MIN_SECRET_LENGTH } from '../core/secret-scrubber.js';

const AUTH_SCHEME = /^(?:Bearer|Basic)\s+(\S+)$/i;
/** SigV4 `Authorization`: the access key id in `Credential=` and the `Signature=` value. */
const SIGV4_PARTS = /\b(?:Credential=([^/,\s]+)|Signature=([0-9a-fA-F]+))/g;

/** Results of rememberedSecretValuesOf by their input; bounded. */
const KNOWN_VALUES_LIMIT = 256;
const knownValues = new Map<string, readonly string[]>();

/**
 * secretValuesOf for a backend's own credentials (its config values, the auth headers an attempt sends), remembered
 * by input: a backend's static key gives the same answer on every request, and values that change per request (SigV4
 * signatures, fetched tokens) only cycle the memo, which is emptied when full. Never for a client's credentials: the
 * service keeps nothing of a request once it is over.
 */
export function rememberedSecretValuesOf(headerValues: readonly string[]): readonly string[] {
  // JSON, not a join: no two different lists share a key, whatever characters the values hold.
  const key = JSON.stringify(headerValues);
  let secrets = knownValues.get(key);
  if (secrets === undefined) {
    if (knownValues.size >= KNOWN_VALUES_LIMIT) knownValues.clear();
    secrets = Object.freeze(secretValuesOf(headerValues));
    knownValues.set(key, secrets);
  }
  return secrets;
}

/** The credential values inside header values (`Bearer x` yields `x` too; SigV4 yields its key id and signature). */
export function secretValuesOf(headerValues: Iterable<string>): string[] {
  const secrets = new Set<string>();
  const add = (candidate: string | undefined) => {
    if (candidate && candidate.length >= MIN_SECRET_LENGTH) secrets.add(candidate);
  };
  for (const value of headerValues) {
    add(value);
    add(AUTH_SCHEME.exec(value)?.[1]);
    for (const part of value.matchAll(SIGV4_PARTS)) add(part[1] ?? part[2]);
  }
  // Longest first, so a whole header value is replaced before the token inside it.
  return [...secrets].sort((left, right) => right.length - left.length);
}

/** The secrets a backend's config holds: its auth values and its `headers.set` values. */
export function backendSecretValues(backend: ResolvedBackend): readonly string[] {
  const values: string[] = [];
  const credentials = backend.credentials;
  const take = (secret: Secret | undefined) => {
    const value = secret?.value;
    if (value) values.push(value);
  };
  if (credentials) {
    take(credentials.apiKey);
    take(credentials.anthropicApiKey);
    take(credentials.azureApiKey);
    take(credentials.azureAccessToken);
    take(credentials.googleApiKey);
    take(credentials.aws?.accessKeyId);
    take(credentials.aws?.secretAccessKey);
    take(credentials.aws?.sessionToken);
    take(credentials.gcp?.accessToken);
  }
  values.push(...Object.values(backend.headers.set));
  return rememberedSecretValuesOf(values);
}

/** Every backend secret a config holds (for the log censor). */
export function configSecretValues(config: RuntimeConfig): string[] {
  const all = new Set<string>();
  for (const backend of config.backends.values()) for (const value of backendSecretValues(backend)) all.add(value);
  return [...all];
}
