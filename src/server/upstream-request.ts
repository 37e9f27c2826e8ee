/**
 * Builds one upstream attempt from the client's original request: backend choice, translation, per-backend
 * headers and credentials. Every attempt starts from the original body and the client's original headers,
 * so nothing set for an earlier backend reaches a later one.
 */
import { randomUUID } from 'node:crypto';
import { authHeaders, backendHasAuth, CLIENT_CONFIDENTIAL_HEADERS } from '../auth/index.js';
import type { AuthHeaders } from '../auth/types.js';
import type { ResolvedBackend } from '../config/load.js';
import type { ModelBackendRef, ModelConfig } from '../config/schema.js';
import { GatewayError } from '../core/errors.js';
import { lookupTranslator } from '../translators/table.js';
import type { ModelOptions, RequestContext } from '../translators/types.js';
import type { Attempt, Exchange } from './exchange.js';
import { HeaderChanges, isSafeHeaderValue } from './headers.js';
import { thenMaybe } from './processor.js';
import { backendSecretValues, rememberedSecretValuesOf } from './scrub-secrets.js';

/** Lowest priority value first; weighted random within it (weight 0 never chosen). */
export function pickBackendRef(model: ModelConfig, random: () => number = Math.random): ModelBackendRef {
  const eligible = model.backends.filter((ref) => ref.weight > 0);
  const best = Math.min(...eligible.map((ref) => ref.priority));
  const candidates = eligible.filter((ref) => ref.priority === best);
  const total = candidates.reduce((sum, ref) => sum + ref.weight, 0);
  let point = random() * total;
  for (const ref of candidates) {
    point -= ref.weight;
    if (point < 0) return ref;
  }
  return candidates[candidates.length - 1] as ModelBackendRef;
}

/** The model's reference to a backend (for its override), or undefined when the model does not use it. */
export function refForBackend(model: ModelConfig, backendName: string): ModelBackendRef | undefined {
  return model.backends.find((ref) => ref.backend === backendName);
}

export interface BuiltAttempt {
  readonly attempt: Attempt;
  readonly headers: HeaderChanges;
  readonly body: Uint8Array;
  readonly path: string;
}

/** Costs are configured for this request, so usage must be asked for even if the client did not. */
function costsConfigured(exchange: Exchange): boolean {
  return exchange.config.costs.length > 0;
}

/** The model entry's per-backend settings for translators (RequestContext.modelOptions), when it sets any. */
function modelOptionsOf(ref: ModelBackendRef): { modelOptions?: ModelOptions } {
  const options: { -readonly [K in keyof ModelOptions]: ModelOptions[K] } = {};
  if (ref.topPWithTemperature !== undefined) options.topPWithTemperature = ref.topPWithTemperature;
  if (ref.geminiSchemaFields !== undefined) options.geminiSchemaFields = ref.geminiSchemaFields;
  return Object.keys(options).length > 0 ? { modelOptions: options } : {};
}

/**
 * The upstream request for one attempt. Synchronous unless the credential must be awaited (AWS signing, Google
 * tokens), so a passthrough's answer goes out without a turn through the promise queue; a problem throws.
 */
export function buildAttempt(exchange: Exchange, backend: ResolvedBackend, ref: ModelBackendRef): BuiltAttempt | Promise<BuiltAttempt> {
  const request = exchange.request;
  const endpoint = exchange.endpoint;
  if (!request || !endpoint?.operation) throw new GatewayError('ERR_INTERNAL', 'upstream attempt before the request body was read');
  const translator = lookupTranslator(exchange.translators, endpoint.clientApi, endpoint.operation, backend.schema);
  if (!translator) {
    throw new GatewayError('ERR_INVALID_REQUEST', `${endpoint.operationName} is not supported by backend ${backend.name} (schema ${backend.schema})`);
  }
  const ctx: RequestContext = {
    clientApi: endpoint.clientApi,
    operation: endpoint.operation,
    rawBody: request.rawBody,
    // Read on demand: an OpenAI passthrough edits the raw bytes and never needs the parsed body.
    get body() {
      return request.body;
    },
    backend,
    requestModel: request.requestModel,
    upstreamModel: ref.modelNameOverride ?? request.requestModel,
    stream: request.stream,
    ...modelOptionsOf(ref),
    forceIncludeUsage: request.stream && !request.clientWantsUsage && costsConfigured(exchange),
    requestHeaders: exchange.originalHeaders,
    now: Date.now,
    generateId: () => `chatcmpl-${randomUUID().replace(/-/g, '')}`,
    maxStreamEventBytes: exchange.config.file.limits.maxStreamEventBytes,
  };
  const upstream = translator.request(ctx);

  const headers = new HeaderChanges();
  // Retries share one header map: undo what earlier attempts changed, back to the client's values.
  for (const name of exchange.touchedHeaders) {
    const original = exchange.originalHeaders.get(name);
    if (original === undefined) headers.remove(name);
    else headers.set(name, original);
  }
  const touch = (name: string) => exchange.touchHeader(name.toLowerCase());
  if (backendHasAuth(backend)) {
    for (const name of CLIENT_CONFIDENTIAL_HEADERS) {
      if (exchange.originalHeaders.has(name)) {
        headers.remove(name);
        touch(name);
      }
    }
  }
  for (const name of upstream.removeHeaders) {
    headers.remove(name);
    touch(name);
  }
  for (const [name, value] of Object.entries(upstream.setHeaders)) {
    headers.set(name, value);
    touch(name);
  }
  for (const name of backend.headers.remove) {
    headers.remove(name);
    touch(name);
  }
  for (const [name, value] of Object.entries(backend.headers.set)) {
    if (!isSafeHeaderValue(value)) throw new GatewayError('ERR_INTERNAL', `backend ${backend.name} header ${name} has an invalid value`);
    headers.set(name, value);
    touch(name);
  }
  if (!headers.has('content-type')) {
    headers.set('content-type', 'application/json');
    touch('content-type');
  }
  const withAuth = (auth: AuthHeaders): BuiltAttempt => {
    for (const [name, value] of Object.entries(auth.set)) {
      headers.set(name, value);
      touch(name);
    }
    headers.set(':path', upstream.path);
    exchange.attemptCount += 1;
    const secrets = [...new Set([...rememberedSecretValuesOf(Object.values(auth.set)), ...backendSecretValues(backend)])];
    const attempt: Attempt = { number: exchange.attemptCount, backend, ref, translator, ctx, startedAt: performance.now(), secrets };
    return { attempt, headers, body: upstream.body, path: upstream.path };
  };
  const auth = authHeaders(backend, { method: 'POST', path: upstream.path, host: backend.host, body: upstream.body });
  return thenMaybe(auth, withAuth);
}
