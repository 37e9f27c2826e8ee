/**
 * The upstream request for an OpenAI-compatible backend: the client's bytes, with only `model` (when the backend
 * uses another name) and `stream_options.include_usage` (when usage must be forced) edited in place.
 */
import type { ResolvedBackend } from '../../config/load.js';
import { GatewayError } from '../../core/errors.js';
import { isRecord, safeParseJson } from '../../core/json.js';
import { getTopLevelValue, replaceTopLevelValue, setTopLevelValue } from '../../core/json-patch.js';
import type { Operation, RequestContext, UpstreamRequest } from '../types.js';

const ENDPOINTS: Readonly<Partial<Record<Operation, string>>> = {
  chat: 'chat/completions',
  completion: 'completions',
  embeddings: 'embeddings',
  image_generation: 'images/generations',
};

/** The endpoint suffix for an operation (`chat/completions`, `completions`, `embeddings`, `images/generations`). */
export function openAIEndpoint(operation: Operation): string {
  const endpoint = ENDPOINTS[operation];
  if (endpoint === undefined) throw new GatewayError('ERR_INVALID_REQUEST', `operation ${operation} is not supported by this backend`);
  return endpoint;
}

/** `${prefix}/chat/completions` etc.; an empty prefix gives `/chat/completions`. */
export function openAIPath(backend: ResolvedBackend, operation: Operation): string {
  const prefix = backend.prefix.replace(/\/+$/, '');
  return `${prefix}/${openAIEndpoint(operation)}`;
}

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Sets `stream_options.include_usage` to true, keeping the other stream_options fields (read from the bytes). */
function forceIncludeUsage(raw: Uint8Array): Uint8Array | undefined {
  const options = getTopLevelValue(raw, 'stream_options');
  const current = options === undefined ? undefined : safeParseJson(options);
  if (current?.ok === true && isRecord(current.value)) {
    if (current.value['include_usage'] === true) return raw;
    const patched = setTopLevelValue(decoder.decode(options), 'include_usage', 'true');
    return patched === undefined ? undefined : replaceTopLevelValue(raw, 'stream_options', patched);
  }
  return setTopLevelValue(raw, 'stream_options', '{"include_usage":true}');
}

/**
 * The final upstream body bytes. Reads the raw bytes only (the client's `model` is ctx.requestModel), so a
 * passthrough never parses the whole body.
 */
export function buildOpenAIBody(ctx: RequestContext): Uint8Array {
  const replaceModel = ctx.requestModel !== ctx.upstreamModel;
  const addUsage = ctx.forceIncludeUsage && ctx.stream && ctx.backend.streamOptions;
  let body: Uint8Array | undefined = ctx.rawBody;
  if (replaceModel) body = setTopLevelValue(body, 'model', JSON.stringify(ctx.upstreamModel));
  if (addUsage && body !== undefined) body = forceIncludeUsage(body);
  if (body !== undefined) return body;
  // The scanner only fails on bytes JSON.parse tolerated (a leading BOM): re-serialise as a last resort.
  const copy: Record<string, unknown> = { ...ctx.body };
  if (replaceModel) copy.model = ctx.upstreamModel;
  if (addUsage) copy.stream_options = { ...(isRecord(copy.stream_options) ? copy.stream_options : {}), include_usage: true };
  return new TextEncoder().encode(JSON.stringify(copy));
}

export function buildOpenAIRequest(ctx: RequestContext, path: string): UpstreamRequest {
  return {
    path,
    body: buildOpenAIBody(ctx),
    setHeaders: { 'content-type': 'application/json' },
    removeHeaders: [],
  };
}
