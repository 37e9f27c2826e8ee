/** RequestContext builder for Anthropic-ingress unit tests: the client speaks the Anthropic Messages API. */
import type { ResolvedBackend } from '../../src/config/load.js';
import type { BackendSchema } from '../../src/config/schema.js';
import type { RequestContext } from '../../src/translators/types.js';

export interface IngressOptions {
  readonly schema?: BackendSchema;
  /** Exact client bytes (default: JSON.stringify(body)). */
  readonly raw?: string;
  readonly upstreamModel?: string;
  readonly headers?: Record<string, string>;
  readonly backend?: Partial<ResolvedBackend>;
}

export function ingressContext(body: Record<string, unknown>, options: IngressOptions = {}): RequestContext {
  const schema = options.schema ?? 'OpenAI';
  const backend: ResolvedBackend = {
    name: 'upstream',
    schema,
    endpoint: 'https://upstream.test',
    prefix: '/v1',
    headers: { set: {}, remove: [] },
    streamOptions: true,
    credentials: undefined,
    ...options.backend,
  };
  const requestModel = typeof body.model === 'string' ? body.model : '';
  let next = 0;
  return {
    clientApi: 'anthropic',
    operation: 'messages',
    rawBody: new TextEncoder().encode(options.raw ?? JSON.stringify(body)),
    body,
    backend,
    requestModel,
    upstreamModel: options.upstreamModel ?? requestModel,
    stream: body.stream === true,
    forceIncludeUsage: false,
    requestHeaders: new Map(Object.entries(options.headers ?? {})),
    now: () => 1700000000000,
    generateId: () => `id-${(next += 1)}`,
  };
}
