/**
 * Golden fixtures: test/fixtures/<pair>/<case>/ (layout in the common test conventions).
 * `runFixture` runs one case through its registered translator and returns every golden file's expected text,
 * keyed by file name, so the runner can compare them with the files on disk or write them (UPDATE_GOLDEN=1).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedAuth, ResolvedBackend } from '../../src/config/load.js';
import type { BackendSchema } from '../../src/config/schema.js';
import { Secret } from '../../src/config/secret.js';
import { decodeBody, createStreamDecoder } from '../../src/core/content-decoding.js';
import { GatewayError, type ClientApi } from '../../src/core/errors.js';
import type { TokenUsage } from '../../src/core/usage.js';
import { findShippedTranslator } from './components.js';
import type { ModelOptions, Operation, RequestContext, Translator, Warning } from '../../src/translators/types.js';
import { encodeEventStream, parseEventStreamJsonl } from './aws-eventstream.js';
import { concatBytes, splitWhole } from './chunking.js';
import zlib from 'node:zlib';

export const FIXTURES_ROOT = join(import.meta.dirname, '..', 'fixtures');
export const FIXED_NOW = 1700000000000;

export interface CaseConfig {
  readonly operation: Operation;
  readonly schema: BackendSchema;
  readonly clientApi?: ClientApi;
  readonly stream?: boolean;
  readonly backend?: Record<string, unknown>;
  readonly upstreamModel?: string;
  readonly forceIncludeUsage?: boolean;
  /** Upstream status; non-2xx runs the error translation. Default 200. */
  readonly status?: number;
  readonly responseHeaders?: Record<string, string>;
  /** The client's request headers (RequestContext.requestHeaders), e.g. anthropic-version, anthropic-beta. */
  readonly requestHeaders?: Record<string, string>;
  /** Compress the upstream response with this encoding and decode it as the processor does (gzip, deflate, br). */
  readonly responseEncoding?: 'gzip' | 'deflate' | 'br';
  /** Per-model settings from the config (RequestContext.modelOptions). */
  readonly modelOptions?: ModelOptions;
}

export interface FixtureCase {
  readonly pair: string;
  readonly name: string;
  readonly dir: string;
  readonly config: CaseConfig;
}

/** Every case directory (one holding case.json) under the fixtures root, sorted. */
export function listFixtureCases(root = FIXTURES_ROOT): FixtureCase[] {
  if (!existsSync(root)) return [];
  const cases: FixtureCase[] = [];
  for (const pair of readdirSync(root).sort()) {
    const pairDir = join(root, pair);
    if (!statSync(pairDir).isDirectory()) continue;
    for (const name of readdirSync(pairDir).sort()) {
      const dir = join(pairDir, name);
      const file = join(dir, 'case.json');
      if (!existsSync(file)) continue;
      cases.push({ pair, name, dir, config: JSON.parse(readFileSync(file, 'utf8')) as CaseConfig });
    }
  }
  return cases;
}

function secretsOf(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if ('value' in value && typeof value.value === 'string' && Object.keys(value).length === 1) return Secret.of(value.value);
  if ('env' in value || 'file' in value) return Secret.of('test-secret');
  return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, secretsOf(entry)]));
}

/** A ResolvedBackend as the config loader would build it, from case.json's `backend` overrides. */
export function buildBackend(config: CaseConfig): ResolvedBackend {
  const overrides = config.backend ?? {};
  const backend = {
    name: 'backend',
    endpoint: 'https://example.test',
    prefix: '/v1',
    headers: { set: {}, remove: [] },
    streamOptions: true,
    ...overrides,
    schema: config.schema,
  } as Omit<ResolvedBackend, 'credentials' | 'host'>;
  const credentials = overrides.auth === undefined ? undefined : (secretsOf(overrides.auth) as ResolvedAuth);
  return { ...backend, credentials, host: new URL(backend.endpoint).host };
}

function clientApiOf(fixture: FixtureCase): ClientApi {
  if (fixture.config.clientApi) return fixture.config.clientApi;
  return fixture.pair.startsWith('anthropic-') ? 'anthropic' : 'openai';
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const entry of Object.values(value)) deepFreeze(entry);
    Object.freeze(value);
  }
  return value;
}

/** A fresh RequestContext (ids restart at id-1), as the processor builds it. */
export function buildContext(fixture: FixtureCase): RequestContext {
  const rawBody = new Uint8Array(readFileSync(join(fixture.dir, 'request.json')));
  // Frozen: a translator must never modify the client's body (every fallback attempt is built from it).
  const body = deepFreeze(JSON.parse(new TextDecoder().decode(rawBody)) as Record<string, unknown>);
  const requestModel = typeof body.model === 'string' ? body.model : '';
  let counter = 0;
  return {
    clientApi: clientApiOf(fixture),
    operation: fixture.config.operation,
    rawBody,
    body,
    backend: buildBackend(fixture.config),
    requestModel,
    upstreamModel: fixture.config.upstreamModel ?? requestModel,
    stream: fixture.config.stream ?? body.stream === true,
    forceIncludeUsage: fixture.config.forceIncludeUsage ?? false,
    ...(fixture.config.modelOptions ? { modelOptions: fixture.config.modelOptions } : {}),
    ...(fixture.config.requestHeaders
      ? { requestHeaders: new Map(Object.entries(fixture.config.requestHeaders).map(([name, value]) => [name.toLowerCase(), value])) }
      : {}),
    now: () => FIXED_NOW,
    generateId: () => `id-${(counter += 1)}`,
  };
}

export function translatorFor(fixture: FixtureCase): Translator {
  const ctx = buildContext(fixture);
  const translator = findShippedTranslator(ctx.clientApi, ctx.operation, fixture.config.schema);
  if (!translator) throw new Error(`no translator registered for ${ctx.clientApi}/${ctx.operation}/${fixture.config.schema}`);
  return translator;
}

type UpstreamBody = { kind: 'stream' | 'buffered'; bytes: Uint8Array } | undefined;

function compress(bytes: Uint8Array, encoding: CaseConfig['responseEncoding']): Uint8Array {
  if (encoding === 'gzip') return zlib.gzipSync(bytes);
  if (encoding === 'deflate') return zlib.deflateSync(bytes);
  if (encoding === 'br') return zlib.brotliCompressSync(bytes);
  return bytes;
}

/** The upstream response bytes as they come off the wire (compressed when responseEncoding is set). */
export function upstreamBodyOf(fixture: FixtureCase): UpstreamBody {
  const file = (name: string) => join(fixture.dir, name);
  const status = fixture.config.status ?? 200;
  const streamFiles = ['response.sse', 'response.eventstream.jsonl'].filter((name) => existsSync(file(name)));
  const plainFiles = ['response.json', 'response.txt'].filter((name) => existsSync(file(name)));
  let found: UpstreamBody;
  if (status >= 200 && status < 300 && streamFiles.length > 0) {
    const name = streamFiles[0] as string;
    const raw = readFileSync(file(name));
    const bytes = name.endsWith('.jsonl') ? encodeEventStream(parseEventStreamJsonl(raw.toString('utf8'))) : new Uint8Array(raw);
    found = { kind: 'stream', bytes };
  } else {
    const name = plainFiles[0] ?? streamFiles[0];
    if (name !== undefined) found = { kind: 'buffered', bytes: new Uint8Array(readFileSync(file(name))) };
  }
  return found && { kind: found.kind, bytes: compress(found.bytes, fixture.config.responseEncoding) };
}

function pretty(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function jsonOrText(bytes: Uint8Array): unknown {
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function uniqueWarnings(warnings: readonly Warning[]): Warning[] {
  const seen = new Map<string, Warning>();
  for (const warning of warnings) seen.set(`${warning.kind}\u0000${warning.detail}`, warning);
  return [...seen.values()];
}

/** Golden file name -> expected content. */
export type GoldenFiles = Record<string, string>;

/** Runs the request phase and the response phase; stream bodies are fed in the given chunks. */
export async function runFixture(fixture: FixtureCase, split: (bytes: Uint8Array) => Uint8Array[] = splitWhole): Promise<GoldenFiles> {
  const translator = translatorFor(fixture);
  const ctx = buildContext(fixture);
  const files: GoldenFiles = {};
  try {
    const upstream = translator.request(ctx);
    const bodyText = new TextDecoder().decode(upstream.body);
    const parsed = jsonOrText(upstream.body);
    if (typeof parsed === 'string') files['upstream-request.txt'] = bodyText;
    else files['upstream-request.json'] = pretty(parsed);
    files['upstream-request.meta.json'] = pretty({
      path: upstream.path,
      setHeaders: upstream.setHeaders,
      removeHeaders: upstream.removeHeaders,
      ...(upstream.warnings && upstream.warnings.length > 0 ? { warnings: uniqueWarnings(upstream.warnings) } : {}),
    });
  } catch (error) {
    if (!GatewayError.isInstance(error)) throw error;
    files['request-error.json'] = pretty({ status: error.status, code: error.code, message: error.message, param: error.param ?? null });
    return files;
  }

  const upstream = upstreamBodyOf(fixture);
  if (upstream === undefined) return files;
  const status = fixture.config.status ?? 200;
  const headers = new Map(Object.entries(fixture.config.responseHeaders ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  const encoding = fixture.config.responseEncoding;

  if (status < 200 || status >= 300) {
    const body = await decodeBody(encoding, upstream.bytes);
    const result = translator.error(ctx, status, body, headers);
    files['error.json'] = pretty({ status: result.status ?? status, body: jsonOrText(result.body) });
    return files;
  }

  if (upstream.kind === 'buffered') {
    const body = await decodeBody(encoding, upstream.bytes);
    const result = translator.response(ctx, body, headers);
    files['client-response.json'] = pretty(jsonOrText(result.body ?? body));
    files['usage.json'] = pretty(result.usage ?? null);
    files['response.meta.json'] = pretty({
      responseModel: result.responseModel ?? null,
      passthrough: result.body === undefined,
      ...(result.usageEstimated ? { usageEstimated: true } : {}),
      ...(result.error ? { error: result.error } : {}),
      ...(result.warnings && result.warnings.length > 0 ? { warnings: uniqueWarnings(result.warnings) } : {}),
    });
    return files;
  }

  const streamTranslator = translator.stream(ctx, headers);
  const decoder = createStreamDecoder(encoding);
  const out: Uint8Array[] = [];
  let usage: TokenUsage | undefined;
  let responseModel: string | undefined;
  let deliveredText = '';
  let firstError: unknown;
  const warnings: Warning[] = [];
  const feed = (chunk: Uint8Array | undefined) => {
    const step = chunk === undefined ? streamTranslator.end() : streamTranslator.push(chunk);
    out.push(step.body === chunk ? chunk : step.body);
    usage = step.usage ?? usage;
    responseModel = step.responseModel ?? responseModel;
    deliveredText += step.deliveredText ?? '';
    firstError ??= step.error;
    warnings.push(...(step.warnings ?? []));
  };
  for (const piece of split(upstream.bytes)) feed(await decoder.push(piece));
  const rest = await decoder.end();
  if (rest.length > 0) feed(rest);
  feed(undefined);
  files['client-stream.sse'] = new TextDecoder().decode(concatBytes(out));
  files['usage.json'] = pretty(usage ?? null);
  files['response.meta.json'] = pretty({
    responseModel: responseModel ?? null,
    deliveredText,
    ...(firstError ? { error: firstError } : {}),
    ...(warnings.length > 0 ? { warnings: uniqueWarnings(warnings) } : {}),
  });
  return files;
}
