/** A RequestContext for Anthropic translator unit tests (deterministic clock and ids). */
import type { ResolvedBackend } from '../../src/config/load.js';
import type { BackendSchema } from '../../src/config/schema.js';
import type { RequestContext } from '../../src/translators/types.js';
import { testBackend, testContext } from '../helpers/request-context.js';

export interface ContextOptions {
  readonly schema?: BackendSchema;
  readonly stream?: boolean;
  readonly forceIncludeUsage?: boolean;
  readonly backend?: Partial<ResolvedBackend>;
  readonly upstreamModel?: string;
}

export function anthropicContext(body: Record<string, unknown>, options: ContextOptions = {}): RequestContext {
  const schema = options.schema ?? 'Anthropic';
  const backend = testBackend({
    name: 'claude',
    schema,
    endpoint: 'https://api.anthropic.com',
    credentials: schema === 'GCPAnthropic' ? { gcp: { projectId: 'proj', region: 'us-east5' } } : undefined,
    ...options.backend,
  });
  const requestModel = typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5';
  return testContext(body, {
    backend,
    requestModel,
    upstreamModel: options.upstreamModel ?? requestModel,
    stream: options.stream ?? body.stream === true,
    forceIncludeUsage: options.forceIncludeUsage ?? false,
  });
}
