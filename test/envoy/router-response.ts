/**
 * The router-level ext_proc filter, response direction (ext_proc.cc encodeHeaders / encodeData):
 * respH (with :status) -> wait; then the body BUFFERED (whole body, one message; headers held) or STREAMED
 * (one message per upstream chunk, pipelined, answers FIFO; headers go downstream after the respH answer).
 * content-length is stripped only when the mode in force when respH was sent says so: an override to
 * STREAMED in the respH answer does NOT strip it (the server must remove it itself).
 */
import type * as http from 'node:http';
import { applyBufferedBodyAnswer, applyHeadersAnswer, applyStreamedChunkAnswer, type AnswerContext } from './answers.js';
import type { ExtProcStream } from './ext-proc-stream.js';
import { contentLengthOf, HeaderMap, type HeaderPair } from './header-map.js';
import { bodyModeOf, sendsHeaders, sendsTrailers, shouldRemoveContentLength } from './processing-mode.js';
import { headersToProto } from './proto-values.js';
import type { RequestContext } from './request-context.js';

export async function runRouterResponsePhase(
  context: RequestContext,
  stream: ExtProcStream,
  upstream: http.IncomingMessage,
  /** The upstream response headers as the upstream filter chain left them (:status first). */
  upstreamHeaders: HeaderMap,
  /** How the upstream response ended, watched since it arrived (see watchEnd in upstream-attempt.ts). */
  upstreamEnded: Promise<boolean>,
  extraHeaders: readonly HeaderPair[],
): Promise<void> {
  const headers = HeaderMap.fromPairs(upstreamHeaders.pairs());
  headers.set('x-envoy-upstream-service-time', String(Math.round(context.record.timings.upstreamHeaders ?? 0)));
  for (const [name, value] of extraHeaders) headers.set(name, value);
  const declaredLength = contentLengthOf(headers);
  const status = Number(headers.get(':status') ?? '0');
  const noBody = status === 204 || status === 304 || context.headers.get(':method') === 'HEAD' || declaredLength === 0;
  const answers: AnswerContext = { stream, direction: 'response', headers, count: (name) => context.count(name) };
  let replacedBody: Buffer | undefined;

  if (!stream.complete && sendsHeaders(stream.mode, 'response')) {
    const pending = stream.send('response', 'headers', { headers: headersToProto(headers), end_of_stream: noBody });
    if (!stream.complete && shouldRemoveContentLength(stream.mode, 'response')) headers.remove('content-length');
    const outcome = await pending;
    if (outcome.type === 'stopped' || context.finished) return;
    if (outcome.type === 'answer') {
      const result = applyHeadersAnswer(answers, outcome.response.response_headers);
      if (!result.ok) return;
      replacedBody = result.replacedBody;
      const nothingMore = noBody || (bodyModeOf(stream.mode, 'response') === 'NONE' && !sendsTrailers(stream.mode, 'response'));
      if (nothingMore) stream.closeMaybeGraceful();
    }
  }

  if (replacedBody !== undefined || noBody) {
    upstream.resume();
    context.writeHead(headers);
    context.write(replacedBody ?? Buffer.alloc(0));
    context.end();
    return;
  }
  const mode = stream.complete ? 'NONE' : bodyModeOf(stream.mode, 'response');
  if (mode === 'BUFFERED' || mode === 'BUFFERED_PARTIAL') {
    await bufferedBody(context, stream, upstream, upstreamEnded, headers, answers);
    return;
  }
  context.writeHead(headers);
  await streamedBody(context, stream, upstream, upstreamEnded, declaredLength, answers, mode !== 'NONE');
}

async function bufferedBody(
  context: RequestContext,
  stream: ExtProcStream,
  upstream: http.IncomingMessage,
  upstreamEnded: Promise<boolean>,
  headers: HeaderMap,
  answers: AnswerContext,
): Promise<void> {
  const limit = context.shared.options.bufferLimitBytes;
  const chunks: Buffer[] = [];
  let size = 0;
  const complete = await new Promise<boolean>((resolve) => {
    upstream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        upstream.destroy();
        context.localReply({ status: 500, body: Buffer.from('Internal Server Error'), details: 'response_payload_too_large' });
        resolve(false);
        return;
      }
      chunks.push(chunk);
    });
    // Not upstream.on('end' | 'close'): the response may already have closed while the headers were with ext_proc.
    void upstreamEnded.then(resolve);
  });
  if (context.finished) return;
  if (!complete) {
    context.reset('upstream_reset_after_response_started{remote_reset}');
    return;
  }
  let body: Buffer = Buffer.concat(chunks);
  const outcome = await stream.send('response', 'body', { body, end_of_stream: true });
  if (outcome.type === 'stopped' || context.finished) return;
  if (outcome.type === 'answer') {
    const result = applyBufferedBodyAnswer(answers, outcome.response.response_body, body, true);
    if (!result.ok) return;
    body = result.body;
  }
  context.writeHead(headers);
  context.write(body);
  context.end();
}

/** STREAMED: each upstream data event is one pipelined message; the final one carries end_of_stream. */
async function streamedBody(
  context: RequestContext,
  stream: ExtProcStream,
  upstream: http.IncomingMessage,
  upstreamEnded: Promise<boolean>,
  declaredLength: number | undefined,
  answers: AnswerContext,
  processed: boolean,
): Promise<void> {
  let chain: Promise<void> = Promise.resolve();
  let received = 0;
  let sentEndOfStream = false;
  const forwardChunk = (chunk: Buffer, endOfStream: boolean): void => {
    if (!processed || stream.complete) {
      chain = chain.then(() => context.write(chunk));
      return;
    }
    const waiting = stream.send('response', 'body', { body: chunk, end_of_stream: endOfStream });
    chain = chain.then(async () => {
      const outcome = await waiting;
      if (outcome.type === 'stopped' || context.finished) return;
      context.write(outcome.type === 'answer' ? applyStreamedChunkAnswer(answers, outcome.response.response_body, chunk) : chunk);
      if (endOfStream && outcome.type === 'answer') stream.closeMaybeGraceful();
    });
  };
  upstream.on('data', (chunk: Buffer) => {
    received += chunk.length;
    const endOfStream = declaredLength !== undefined && received >= declaredLength;
    if (endOfStream) sentEndOfStream = true;
    forwardChunk(chunk, endOfStream);
  });
  // Not upstream.on('end' | 'close'): the response may already have closed while the headers were with ext_proc.
  const complete = await upstreamEnded;
  if (!complete) {
    await chain;
    context.reset('upstream_reset_after_response_started{remote_reset}');
    return;
  }
  if (!sentEndOfStream) forwardChunk(Buffer.alloc(0), true);
  await chain;
  context.end();
}
