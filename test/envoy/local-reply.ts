/**
 * Local replies (sendLocalReply): ext_proc errors, immediate responses, 413/429/404/503 from Envoy itself.
 * Contract §7: status below 200 becomes 200; a body gets content-type text/plain, then the answer's
 * `headers` are applied under the configured (default) mutation rules, failures only logged.
 */
import type { HeaderMutation, ImmediateResponse } from '../../src/server/ext-proc-types.js';
import { applyHeaderMutation } from './header-mutation.js';
import { HeaderMap, type HeaderPair } from './header-map.js';
import { replaceWhitespace, statusCodeToNumber, toBuffer } from './proto-values.js';
import type { CounterName } from './types.js';

export interface LocalReply {
  status: number;
  body: Buffer;
  /** %RESPONSE_CODE_DETAILS% (whitespace already replaced). */
  details: string;
  /** ImmediateResponse.headers. */
  headers?: HeaderMutation;
  /** Set instead of text/plain (direct_response routes configured with a JSON content-type). */
  contentType?: string;
  /** Headers the filter adds (x-envoy-ratelimited, x-ratelimit-*). */
  extraHeaders?: HeaderPair[];
  /** Response flags (%RESPONSE_FLAGS%), e.g. RL for a rate-limited request; local_reply_config filters on them. */
  flags?: string[];
}

export function immediateToLocalReply(immediate: ImmediateResponse): LocalReply {
  const status = statusCodeToNumber(immediate.status?.code);
  return {
    status: status >= 200 ? status : 200,
    body: toBuffer(immediate.body),
    details: replaceWhitespace(immediate.details ?? ''),
    headers: immediate.headers,
  };
}

export function localReplyHeaders(reply: LocalReply, count: (name: CounterName) => void): HeaderMap {
  const headers = new HeaderMap();
  headers.set(':status', String(reply.status));
  headers.set('content-length', String(reply.body.length));
  if (reply.body.length > 0) headers.set('content-type', reply.contentType ?? 'text/plain');
  for (const [name, value] of reply.extraHeaders ?? []) headers.add(name, value);
  if (reply.headers) {
    // Failures are only logged by Envoy; the reply still goes out.
    applyHeaderMutation(reply.headers, headers, { replacingMessage: false, skipContentLength: false, count });
  }
  return headers;
}

/** The catch-all route's direct_response: 404 in OpenAI error JSON. */
export function routeNotFoundReply(): LocalReply {
  const body = JSON.stringify({
    error: {
      message:
        'No matching route found. It is likely because the model specified in your request is not configured in the Gateway.',
      type: 'invalid_request_error',
      param: null,
      code: 'model_not_found',
    },
  });
  return { status: 404, body: Buffer.from(body), details: 'direct_response', contentType: 'application/json' };
}
