/**
 * One upstream attempt (router UpstreamRequest): the router's per-attempt header changes on the SHARED
 * downstream header map (auto_host_rewrite, :scheme match_upstream, x-envoy-attempt-count,
 * x-envoy-expected-rq-timeout-ms), then the cluster's upstream filter chain
 * [ext_proc (fresh stream per attempt) -> header_mutation (content-length ADD_IF_ABSENT from
 * %DYNAMIC_METADATA(io.envoy.ai_gateway:content_length)%) -> upstream_codec], then the real HTTP/1 request.
 *
 * With envoy.attemptResponseHeaders (response_header_mode SEND) the attempt's response headers go on the
 * attempt's own stream, a 503 about to be retried included; the router sees the headers (and decides on a retry)
 * only after the answer, with the message timeout running meanwhile. The stream is closed once the answer is in
 * (nothing more to process: Envoy 1.37's stream-close optimisation), or when the attempt is torn down without
 * response headers (reset, connect failure). This is Envoy 1.37+ behaviour: on 1.36 this mode breaks retries on
 * 5xx, which the stand-in does not model.
 */
import * as http from 'node:http';
import { applyHeadersAnswer } from './answers.js';
import { toStruct } from '../../src/server/struct.js';
import type { ExtProcStream } from './ext-proc-stream.js';
import { contentLengthOf, HeaderMap } from './header-map.js';
import { headersToProto } from './proto-values.js';
import { sendsHeaders, upstreamProcessingMode } from './processing-mode.js';
import type { RequestContext } from './request-context.js';
import type { AttemptRecord } from './types.js';

export const METADATA_NAMESPACE = 'io.envoy.ai_gateway';
export const BACKEND_ATTRIBUTES = [
  "xds.upstream_host_metadata.filter_metadata['llm_extproc']['backend']",
  "xds.cluster_metadata.filter_metadata['llm_extproc']['backend']",
];

export type AttemptResult =
  /** headers: the response headers as the upstream filter chain left them (:status first). */
  | { kind: 'response'; response: http.IncomingMessage; headers: HeaderMap; ended: Promise<boolean>; abort(): void }
  | { kind: 'failure'; reason: 'connect_failure' | 'reset' }
  /** A local reply (ext_proc error or immediate response) was sent downstream; never retried. */
  | { kind: 'stopped' };

export async function runAttempt(context: RequestContext, record: AttemptRecord): Promise<AttemptResult> {
  const { options } = context.shared;
  const backend = options.config.backends.get(record.backend);
  const upstreamUrl = options.upstreams[record.backend];
  if (!backend || !upstreamUrl) {
    context.localReply({ status: 503, body: Buffer.from('no healthy upstream'), details: 'no_healthy_upstream' });
    return { kind: 'stopped' };
  }
  const endpoint = new URL(backend.endpoint);
  const headers = context.headers;
  headers.set(':authority', endpoint.host);
  headers.set(':scheme', endpoint.protocol.replace(':', ''));
  if (options.routeTimeoutMs > 0) headers.set('x-envoy-expected-rq-timeout-ms', String(options.routeTimeoutMs));
  headers.set('x-envoy-attempt-count', String(record.attempt));
  let body = context.body;
  let stream: ExtProcStream | undefined;

  if (options.config.file.envoy.upstreamFilter) {
    const attributes = toStruct(Object.fromEntries(BACKEND_ATTRIBUTES.map((key) => [key, record.backend])));
    stream = context.newStream('upstream', upstreamProcessingMode(options.config), record.attempt, attributes);
    const pending = stream.send('request', 'headers', { headers: headersToProto(headers), end_of_stream: body.length === 0 });
    record.extProcStreamId = stream.record?.id;
    const outcome = await pending;
    if (outcome.type === 'stopped' || context.finished) {
      record.failure = 'local_reply';
      return { kind: 'stopped' };
    }
    if (outcome.type === 'answer') {
      const result = applyHeadersAnswer(
        { stream, direction: 'request', headers, count: (name) => context.count(name), upstream: true },
        outcome.response.request_headers,
      );
      if (!result.ok) {
        record.failure = 'local_reply';
        return { kind: 'stopped' };
      }
      if (result.replacedBody !== undefined) body = result.replacedBody;
      // Last exchange for this filter (body NONE, response SKIP): the stream closes now (1.37+).
      if (!sendsHeaders(stream.mode, 'response')) stream.closeMaybeGraceful();
    }
    const contentLength = context.metadata.format(METADATA_NAMESPACE, 'content_length');
    if (contentLength !== undefined && !headers.has('content-length')) headers.set('content-length', contentLength);
  }

  record.requestHeaders = headers.pairs();
  record.requestBody = body;
  const result = await send(context, upstreamUrl, body, record);
  if (!stream) return result;
  if (result.kind !== 'response') {
    // The attempt is torn down without response headers: its stream closes (onDestroy).
    stream.destroy();
    return result;
  }
  return upstreamResponseHeaders(context, stream, result);
}

/**
 * The upstream filter's encodeHeaders, when its mode sends response headers: respH on the attempt's stream, wait
 * (the message timer runs), apply the answer to the response headers, close the stream (nothing more to process).
 */
async function upstreamResponseHeaders(
  context: RequestContext,
  stream: ExtProcStream,
  result: Extract<AttemptResult, { kind: 'response' }>,
): Promise<AttemptResult> {
  if (stream.complete || !sendsHeaders(stream.mode, 'response')) {
    stream.closeMaybeGraceful();
    return result;
  }
  const headers = result.headers;
  const status = Number(headers.get(':status') ?? '0');
  const noBody = status === 204 || status === 304 || context.headers.get(':method') === 'HEAD' || contentLengthOf(headers) === 0;
  const outcome = await stream.send('response', 'headers', { headers: headersToProto(headers), end_of_stream: noBody });
  if (outcome.type === 'stopped' || context.finished) {
    result.abort();
    return { kind: 'stopped' };
  }
  if (outcome.type === 'answer') {
    const applied = applyHeadersAnswer(
      { stream, direction: 'response', headers, count: (name) => context.count(name), upstream: true },
      outcome.response.response_headers,
    );
    if (!applied.ok) {
      result.abort();
      return { kind: 'stopped' };
    }
    // The service never replaces an attempt's response body; the stand-in does not model it.
    if (applied.replacedBody !== undefined) throw new Error('envoy stand-in: CONTINUE_AND_REPLACE in an upstream respH answer is not modelled');
  }
  stream.closeMaybeGraceful();
  return result;
}

function send(context: RequestContext, upstreamUrl: string, body: Buffer, record: AttemptRecord): Promise<AttemptResult> {
  const target = new URL(upstreamUrl);
  const outgoing: Record<string, string | string[]> = {};
  for (const [name, value] of record.requestHeaders) {
    if (name.startsWith(':')) continue;
    const existing = outgoing[name];
    outgoing[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  outgoing['host'] = context.headers.get(':authority') ?? target.host;
  if (outgoing['content-length'] === undefined && body.length > 0) outgoing['transfer-encoding'] = 'chunked';
  // A length that is not the body's would leave the upstream waiting for bytes that never come (or cut the body):
  // what Envoy's codec and the upstream then do is not modelled, so the stand-in fails the request at once.
  const declared = outgoing['content-length'];
  if (typeof declared === 'string' && Number(declared) !== body.length) {
    throw new Error(`envoy stand-in: the upstream request says content-length ${declared}, its body has ${body.length} bytes (not modelled)`);
  }

  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    const request = http.request({
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      method: context.headers.get(':method') ?? 'GET',
      path: context.headers.get(':path') ?? '/',
      headers: outgoing,
      agent: context.shared.agent,
      setHost: false,
    });
    const unregister = context.onAbort(() => request.destroy());
    const settle = (result: AttemptResult): void => {
      if (settled) return;
      settled = true;
      if (result.kind !== 'response') unregister();
      resolve(result);
    };
    request.on('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    request.on('response', (response) => {
      const headers = new HeaderMap();
      headers.set(':status', String(response.statusCode ?? 502));
      for (const [name, value] of HeaderMap.fromRaw(response.rawHeaders)) headers.add(name, value);
      settle({
        kind: 'response',
        response,
        headers,
        ended: watchEnd(response),
        abort: () => {
          unregister();
          request.destroy();
        },
      });
    });
    request.on('error', () => settle({ kind: 'failure', reason: connected ? 'reset' : 'connect_failure' }));
    request.on('close', () => settle({ kind: 'failure', reason: 'reset' }));
    request.end(body);
  });
}

/**
 * How an upstream response ends, watched from the moment it arrives: true when its body was read to the end,
 * false when it was cut (reset, destroyed, error). The router awaits ext_proc answers before it reads the
 * body, and an upstream can close meanwhile: node then destroys the unread response and emits 'close' (and
 * 'error' only if someone listens) right away, so listeners attached after that await would wait forever.
 * Listening here, before any await, means the outcome is never missed. It never starts the body flowing.
 */
function watchEnd(response: http.IncomingMessage): Promise<boolean> {
  return new Promise((resolve) => {
    response.once('end', () => resolve(true));
    response.once('close', () => resolve(response.complete));
    response.once('error', () => resolve(false));
  });
}
