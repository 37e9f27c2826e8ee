/**
 * Applying ext_proc answers to the HTTP stream (processor_state.cc handleHeadersResponse /
 * handleBodyResponse, contract §2.3, §4, §5).
 */
import type { BodyMutation, BodyResponse, CommonResponse, HeadersResponse } from '../../src/server/ext-proc-types.js';
import type { ExtProcStream } from './ext-proc-stream.js';
import { applyHeaderMutation } from './header-mutation.js';
import type { HeaderMap } from './header-map.js';
import { shouldRemoveContentLength, type Direction } from './processing-mode.js';
import { toBuffer } from './proto-values.js';
import type { CounterName } from './types.js';

export interface AnswerContext {
  stream: ExtProcStream;
  direction: Direction;
  headers: HeaderMap;
  count(name: CounterName): void;
  /** Router-level request direction only: called when clear_route_cache takes effect. */
  clearRouteCache?: () => void;
  /** Upstream filters ignore clear_route_cache (counter clear_route_cache_upstream_ignored). */
  upstream?: boolean;
}

/** MutationUtils::applyBodyMutations. */
export function applyBodyMutation(mutation: BodyMutation, body: Buffer): Buffer {
  if (mutation.mutation === 'body' || (mutation.mutation === undefined && mutation.body !== undefined)) {
    return toBuffer(mutation.body);
  }
  if (mutation.clear_body) return Buffer.alloc(0);
  return body;
}

function clearRouteCache(context: AnswerContext, common: CommonResponse): void {
  if (context.direction !== 'request') return;
  if (context.upstream) {
    if (common.clear_route_cache) context.count('clear_route_cache_upstream_ignored');
    return;
  }
  if (!common.header_mutation) {
    if (common.clear_route_cache) context.count('clear_route_cache_ignored');
    return;
  }
  if (common.clear_route_cache) context.clearRouteCache?.();
}

function mutateHeaders(context: AnswerContext, common: CommonResponse, replacing: boolean): boolean {
  if (!common.header_mutation) return true;
  const result = applyHeaderMutation(common.header_mutation, context.headers, {
    replacingMessage: replacing,
    skipContentLength: shouldRemoveContentLength(context.stream.mode, context.direction),
    count: context.count,
  });
  if (!result.ok) context.stream.fail(result.message);
  return result.ok;
}

export type HeadersAnswerResult = { ok: false } | { ok: true; replacedBody: Buffer | undefined };

/**
 * A headers answer. CONTINUE_AND_REPLACE with a body_mutation replaces (or creates) the body, removes
 * content-length, and ends body and trailer processing for the direction.
 */
export function applyHeadersAnswer(context: AnswerContext, answer: HeadersResponse | undefined): HeadersAnswerResult {
  const common = answer?.response ?? {};
  const replacing = common.status === 'CONTINUE_AND_REPLACE';
  if (!mutateHeaders(context, common, replacing)) return { ok: false };
  clearRouteCache(context, common);
  if (!replacing) return { ok: true, replacedBody: undefined };
  let replacedBody: Buffer | undefined;
  if (common.body_mutation) {
    context.headers.remove('content-length');
    replacedBody = applyBodyMutation(common.body_mutation, Buffer.alloc(0));
  }
  context.stream.setBodyModeNone(context.direction);
  return { ok: true, replacedBody };
}

export type BodyAnswerResult = { ok: false } | { ok: true; body: Buffer };

/**
 * A BUFFERED body answer while the headers are held: header_mutation applies, then the content-length check
 * (a body_mutation against a present content-length, clear_body counting as 0), then the body mutation.
 */
export function applyBufferedBodyAnswer(
  context: AnswerContext,
  answer: BodyResponse | undefined,
  body: Buffer,
  headersHeld: boolean,
): BodyAnswerResult {
  const common = answer?.response ?? {};
  if (headersHeld && !mutateHeaders(context, common, false)) return { ok: false };
  let result = body;
  if (common.body_mutation) {
    const declared = headersHeld ? context.headers.get('content-length') : undefined;
    const mutatedSize = common.body_mutation.body === undefined ? 0 : toBuffer(common.body_mutation.body).length;
    if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) !== mutatedSize) {
      context.stream.fail('mismatch between content length and the length of the mutated body');
      return { ok: false };
    }
    result = applyBodyMutation(common.body_mutation, body);
  }
  clearRouteCache(context, common);
  return { ok: true, body: result };
}

/** A STREAMED chunk answer: body replaces the chunk, clear_body drops it, header_mutation is ignored. */
export function applyStreamedChunkAnswer(context: AnswerContext, answer: BodyResponse | undefined, chunk: Buffer): Buffer {
  const common = answer?.response ?? {};
  clearRouteCache(context, common);
  return common.body_mutation ? applyBodyMutation(common.body_mutation, chunk) : chunk;
}
