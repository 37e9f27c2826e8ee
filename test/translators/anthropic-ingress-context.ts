/** RequestContext builder for Anthropic-ingress unit tests: the client speaks the Anthropic Messages API. */
import type { ResolvedBackend } from '../../src/config/load.js';
import type { BackendSchema } from '../../src/config/schema.js';
import type { RequestContext } from '../../src/translators/types.js';
import { testBackend, testContext } from '../helpers/request-context.js';

export interface IngressOptions {
  readonly schema?: BackendSchema;
  /** Exact client bytes (default: JSON.stringify(body)). */
  readonly raw?: string;
  readonly upstreamModel?: string;
  readonly headers?: Record<string, string>;
  readonly backend?: Partial<ResolvedBackend>;
  /** limits.maxStreamEventBytes for the stream decoders (default: none). */
  readonly maxStreamEventBytes?: number;
}

export function ingressContext(body: Record<string, unknown>, options: IngressOptions = {}): RequestContext {
  const backend = testBackend({ name: 'upstream', schema: options.schema ?? 'OpenAI', endpoint: 'https://upstream.test', ...options.backend });
  const requestModel = typeof body.model === 'string' ? body.model : '';
  return testContext(body, {
    clientApi: 'anthropic',
    operation: 'messages',
    rawBody: new TextEncoder().encode(options.raw ?? JSON.stringify(body)),
    backend,
    requestModel,
    upstreamModel: options.upstreamModel ?? requestModel,
    requestHeaders: new Map(Object.entries(options.headers ?? {})),
    ...(options.maxStreamEventBytes === undefined ? {} : { maxStreamEventBytes: options.maxStreamEventBytes }),
  });
}
