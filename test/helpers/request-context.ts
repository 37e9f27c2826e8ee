/** RequestContext and backend builders for translator unit tests, with the golden runner's clock and ids. */
import type { ResolvedBackend } from '../../src/config/load.js';
import type { RequestContext } from '../../src/translators/types.js';

/** A resolved backend: prefix /v1, no header edits, stream options on, no credentials unless given. */
export function testBackend(fields: Pick<ResolvedBackend, 'name' | 'schema' | 'endpoint'> & Partial<ResolvedBackend>): ResolvedBackend {
  return { prefix: '/v1', headers: { set: {}, remove: [] }, streamOptions: true, credentials: undefined, host: new URL(fields.endpoint).host, ...fields };
}

/**
 * An OpenAI chat RequestContext for `body` (its exact JSON as the raw bytes), `now` = 1700000000000 and ids
 * "id-1", "id-2", ...; `fields` override anything (client API, operation, models, stream, headers...).
 */
export function testContext(body: Record<string, unknown>, fields: Pick<RequestContext, 'backend'> & Partial<RequestContext>): RequestContext {
  let next = 0;
  const requestModel = fields.requestModel ?? (typeof body.model === 'string' ? body.model : '');
  return {
    clientApi: 'openai',
    operation: 'chat',
    rawBody: new TextEncoder().encode(JSON.stringify(body)),
    body,
    requestModel,
    upstreamModel: requestModel,
    stream: body.stream === true,
    forceIncludeUsage: false,
    now: () => 1700000000000,
    generateId: () => `id-${(next += 1)}`,
    ...fields,
  };
}
