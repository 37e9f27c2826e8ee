/**
 * The router-level ext_proc filter, request direction (ext_proc.cc decodeHeaders / decodeData):
 * reqH -> wait (body buffered meanwhile) -> one reqB with the whole body (BUFFERED) or one per chunk
 * (STREAMED, pipelined). The route is picked when the filter releases the headers: after the reqH answer,
 * or after the body answer in BUFFERED mode, so only then can clear_route_cache re-route.
 */
import { applyBufferedBodyAnswer, applyHeadersAnswer, applyStreamedChunkAnswer, type AnswerContext } from './answers.js';
import { expectsBody, readRequestBody } from './body-reader.js';
import type { ExtProcStream } from './ext-proc-stream.js';
import { bodyModeOf, sendsHeaders, shouldRemoveContentLength } from './processing-mode.js';
import { headersToProto } from './proto-values.js';
import type { RequestContext } from './request-context.js';
import { resolveRoute, type Route } from './routing.js';

/** Runs the request phase; true when the request should go on to the rate-limit filter and the router. */
export async function runRouterRequestPhase(context: RequestContext, stream: ExtProcStream): Promise<boolean> {
  const config = context.shared.options.config;
  // HCM computes the route before the filter chain runs, from the client's headers.
  const cachedRoute: Route | undefined = resolveRoute(config, context.headers);
  let routeCleared = false;
  const answers: AnswerContext = {
    stream,
    direction: 'request',
    headers: context.headers,
    count: (name) => context.count(name),
    clearRouteCache: () => (routeCleared = true),
  };
  const release = (): void => {
    context.route = routeCleared ? resolveRoute(config, context.headers) : cachedRoute;
  };

  const hasBody = expectsBody(context.downstream);
  const bodyRead = readRequestBody(context.downstream, context.shared.options.bufferLimitBytes, () =>
    context.localReply({ status: 413, body: Buffer.from('Payload Too Large'), details: 'request_payload_too_large' }),
  );
  let replacedBody: Buffer | undefined;

  if (sendsHeaders(stream.mode, 'request')) {
    const pending = stream.send('request', 'headers', { headers: headersToProto(context.headers), end_of_stream: !hasBody });
    if (!stream.complete && shouldRemoveContentLength(stream.mode, 'request')) context.headers.remove('content-length');
    const outcome = await pending;
    if (outcome.type === 'stopped' || context.finished) return false;
    if (outcome.type === 'answer') {
      const result = applyHeadersAnswer(answers, outcome.response.request_headers);
      if (!result.ok) return false;
      replacedBody = result.replacedBody;
    }
  }

  const mode = stream.complete ? 'NONE' : bodyModeOf(stream.mode, 'request');
  if (mode !== 'BUFFERED' && mode !== 'BUFFERED_PARTIAL') release();

  const read = await bodyRead;
  if (!read.ok || context.finished) return false;
  context.body = replacedBody ?? read.body;
  if (replacedBody !== undefined || !hasBody || stream.complete || mode === 'NONE') {
    if (mode === 'BUFFERED' || mode === 'BUFFERED_PARTIAL') release();
    return true;
  }

  if (mode === 'BUFFERED' || mode === 'BUFFERED_PARTIAL') {
    const outcome = await stream.send('request', 'body', { body: read.body, end_of_stream: true });
    if (outcome.type === 'stopped' || context.finished) return false;
    if (outcome.type === 'answer') {
      const result = applyBufferedBodyAnswer(answers, outcome.response.request_body, read.body, true);
      if (!result.ok) return false;
      context.body = result.body;
    }
    release();
    return true;
  }

  // STREAMED (FULL_DUPLEX_STREAMED is treated the same way): one message per chunk, pipelined, FIFO answers.
  const chunks = read.chunks.length > 0 ? read.chunks : [Buffer.alloc(0)];
  const pending = chunks.map((chunk, index) => ({
    chunk,
    outcome: stream.send('request', 'body', { body: chunk, end_of_stream: index === chunks.length - 1 }),
  }));
  const parts: Buffer[] = [];
  for (const { chunk, outcome: waiting } of pending) {
    const outcome = await waiting;
    if (outcome.type === 'stopped' || context.finished) return false;
    parts.push(outcome.type === 'answer' ? applyStreamedChunkAnswer(answers, outcome.response.request_body, chunk) : chunk);
  }
  context.body = Buffer.concat(parts);
  return true;
}
