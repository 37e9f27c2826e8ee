/**
 * The router filter: attempts with retries (retry_on connect-failure, 5xx, retriable-status-codes 429;
 * retry_priority previous_priorities). A retried attempt's response is dropped;
 * the last attempt's response (or failure) is what goes downstream.
 */
import type * as http from 'node:http';
import type { HeaderMap } from './header-map.js';
import type { RequestContext } from './request-context.js';
import { pickTarget, priorityCount, type Route } from './routing.js';
import type { AttemptRecord } from './types.js';
import { runAttempt } from './upstream-attempt.js';

export type ForwardResult =
  | { kind: 'response'; response: http.IncomingMessage; headers: HeaderMap; ended: Promise<boolean>; attempt: AttemptRecord; abort(): void }
  | { kind: 'stopped' };

const RESET_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: ';

export async function forward(context: RequestContext, route: Route): Promise<ForwardResult> {
  const { options } = context.shared;
  const numRetries = options.numRetries ?? Math.max(priorityCount(route) - 1, 0);
  const attempted = new Set<number>();
  for (let attemptNumber = 1; ; attemptNumber += 1) {
    const target = pickTarget(route, attempted, context.shared.random);
    attempted.add(target.priority);
    const record: AttemptRecord = {
      attempt: attemptNumber,
      backend: target.backend,
      status: undefined,
      failure: undefined,
      requestHeaders: [],
      requestBody: undefined,
      extProcStreamId: undefined,
    };
    context.record.attempts.push(record);
    const result = await runAttempt(context, record);
    if (result.kind === 'stopped' || context.finished) {
      if (result.kind === 'response') result.abort();
      if (result.kind === 'response') record.status = result.response.statusCode;
      else if (!record.failure) {
        record.failure = context.record.responseCodeDetails === 'upstream_response_timeout' ? 'timeout' : 'local_reply';
      }
      return { kind: 'stopped' };
    }
    const retriesLeft = attemptNumber <= numRetries;
    if (result.kind === 'failure') {
      record.failure = result.reason;
      const retriable = result.reason === 'connect_failure' ? options.retryOn.connectFailure : options.retryOn.fiveXx;
      if (retriable && retriesLeft) continue;
      const reason = result.reason === 'connect_failure' ? 'connection_failure' : 'connection_termination';
      context.localReply({
        status: 503,
        body: Buffer.from(`${RESET_BODY}${reason.replace('_', ' ')}`),
        details: `upstream_reset_before_response_started{${reason}}`,
      });
      return { kind: 'stopped' };
    }
    record.status = result.response.statusCode ?? 0;
    // The retry decision reads the headers as the upstream filter chain left them.
    const status = Number(result.headers.get(':status') ?? '0');
    const retriable = (options.retryOn.fiveXx && status >= 500) || options.retryOn.statusCodes.includes(status);
    if (retriable && retriesLeft) {
      result.response.resume();
      result.abort();
      continue;
    }
    context.record.timings.upstreamHeaders = context.elapsed();
    return { kind: 'response', response: result.response, headers: result.headers, ended: result.ended, attempt: record, abort: result.abort };
  }
}
