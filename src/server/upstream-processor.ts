/**
 * The upstream-level processor: one per upstream attempt. Envoy tells it which backend it picked (endpoint or
 * cluster metadata, as request attributes); it builds that backend's request from the client's original body
 * and headers, and answers CONTINUE_AND_REPLACE with the new headers and body.
 */
import { GatewayError, errorBodyFor } from '../core/errors.js';
import type { ProcessingRequest, ProcessingResponse, Struct } from './ext-proc-types.js';
import type { ResolvedBackend } from '../config/load.js';
import type { Exchange, ParsedRequest } from './exchange.js';
import { answer, gatewayErrorReply, immediateJson, internalErrorReply } from './responses.js';
import { reportServiceError, serviceErrorOf } from './error-report.js';
import { exchangeIdFromMetadata } from './router-request.js';
import { buildAttempt, refForBackend, type BuiltAttempt } from './upstream-request.js';
import { recoverMaybe, thenMaybe, type MaybePromise, type ProcessorDeps, type StreamEnd, type StreamProcessor } from './processor.js';
import { providerNameForSchema } from '../metrics/metrics.js';
import { serverOf } from './observe.js';
import { readHeaderMap } from './headers.js';

export const EXT_PROC_ATTRIBUTES_KEY = 'envoy.filters.http.ext_proc';
export const HOST_BACKEND_ATTRIBUTE = "xds.upstream_host_metadata.filter_metadata['llm_extproc']['backend']";
export const CLUSTER_BACKEND_ATTRIBUTE = "xds.cluster_metadata.filter_metadata['llm_extproc']['backend']";

/** The backend name from the request attributes; endpoint metadata wins over cluster metadata. */
export function backendFromAttributes(attributes: Record<string, Struct> | undefined): string | undefined {
  const fields = attributes?.[EXT_PROC_ATTRIBUTES_KEY]?.fields;
  const host = fields?.[HOST_BACKEND_ATTRIBUTE]?.stringValue;
  if (host) return host;
  return fields?.[CLUSTER_BACKEND_ATTRIBUTE]?.stringValue || undefined;
}

/** A stream is upstream-level when its first message carries the backend attributes. */
export function isUpstreamStream(message: ProcessingRequest): boolean {
  return backendFromAttributes(message.attributes) !== undefined;
}

/** Why Envoy retried an attempt, from what the upstream-level filter saw of it. */
export type RetryReason = `status_${number}` | 'status_other' | 'reset_or_timeout' | 'envoy_retry_on';

/**
 * The reason for retrying the exchange's latest attempt. With envoy.attemptResponseHeaders, Envoy hands every
 * attempt's response headers to its stream and awaits the answer before it decides on a retry, so when the next
 * attempt starts the service knows: the status of the failed attempt's headers, or none at all (the attempt was
 * reset or timed out before any). Without the setting (Envoy 1.36) it cannot tell: envoy_retry_on.
 */
export function retryReasonOf(exchange: Exchange): RetryReason {
  if (!exchange.config.file.envoy.attemptResponseHeaders) return 'envoy_retry_on';
  const status = exchange.attemptResponseStatus;
  if (status === undefined) return 'reset_or_timeout';
  // Bounded for the metric's label: an HTTP status code, anything else is one value.
  return Number.isInteger(status) && status >= 100 && status <= 599 ? `status_${status}` : 'status_other';
}

export class UpstreamProcessor implements StreamProcessor {
  /** The exchange and attempt number this stream's request headers built (one stream per attempt). */
  private exchange: Exchange | undefined;
  private attemptNumber: number | undefined;

  constructor(private readonly deps: ProcessorDeps) {}

  handle(message: ProcessingRequest): MaybePromise<ProcessingResponse | undefined> {
    if (message.observability_mode) return undefined;
    const exchangeId = exchangeIdFromMetadata(message.metadata_context?.filter_metadata);
    const exchange = exchangeId ? this.deps.registry.get(exchangeId) : undefined;
    const report = (response: ProcessingResponse | undefined): ProcessingResponse | undefined => {
      const serviceError = serviceErrorOf(response);
      if (serviceError) reportServiceError(this.deps, exchange, serviceError);
      return response;
    };
    return thenMaybe(this.answerFor(message, exchange, exchangeId), report);
  }

  private answerFor(message: ProcessingRequest, exchange: Exchange | undefined, exchangeId: string | undefined): MaybePromise<ProcessingResponse | undefined> {
    if (message.request === 'response_headers') {
      this.observeResponseHeaders(message);
      return answer('response_headers');
    }
    if (message.request !== 'request_headers') {
      // Upstream-level filters send request headers, and response headers with envoy.attemptResponseHeaders;
      // answer anything else unchanged.
      return message.request ? answer(message.request) : undefined;
    }
    if (!exchange) {
      this.deps.logger.error({ exchangeId }, 'upstream-level stream without a router-level exchange (check metadata_options.forwarding_namespaces)');
      return immediateJson(500, errorBodyFor('openai', { status: 500, message: 'llm-extproc: upstream request has no router state', code: 'internal_error' }), { details: 'llm_extproc_no_exchange' });
    }
    return recoverMaybe(
      () => this.buildAnswer(exchange, backendFromAttributes(message.attributes) ?? ''),
      (error) => this.failed(exchange, error),
    );
  }

  /** The attempt could not be built: a local reply in the client's format. */
  private failed(exchange: Exchange, error: unknown): ProcessingResponse {
    exchange.localReply = true;
    exchange.localReplyStatus = GatewayError.isInstance(error) ? error.status : 500;
    exchange.attemptSpan?.end({ outcome: 'local_reply', status: exchange.localReplyStatus, errorType: String(exchange.localReplyStatus) });
    const api = exchange.endpoint?.clientApi ?? 'openai';
    if (GatewayError.isInstance(error)) return gatewayErrorReply(api, error);
    // The cause, for the developers; the error answer itself is logged at warn and counted by handle().
    this.deps.logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error), exchange: exchange.id }, 'upstream translation failed');
    return internalErrorReply(api);
  }

  /** Synchronous unless the attempt's credential is awaited (buildAttempt). */
  private buildAnswer(exchange: Exchange, backendName: string): MaybePromise<ProcessingResponse> {
    const request = exchange.request;
    if (!request) throw new GatewayError('ERR_INTERNAL', 'upstream attempt before the request body was processed');
    const backend = exchange.config.backends.get(backendName);
    if (!backend) throw new GatewayError('ERR_INTERNAL', `Envoy chose backend "${backendName}", which the config does not define`);
    const ref = refForBackend(request.model, backendName) ?? { backend: backendName, priority: 0, weight: 1 };
    // A later attempt: Envoy gave up on the previous one.
    const previous = exchange.attempt;
    const retryReason = previous ? retryReasonOf(exchange) : undefined;
    if (previous && retryReason) this.deps.metrics.recordRetriedAttempt(previous.backend.name, retryReason);
    this.startAttemptSpan(exchange, retryReason, backend.name, providerNameForSchema(backend.schema), ref.modelNameOverride ?? request.requestModel, backend.endpoint);
    exchange.attemptResponseStatus = undefined;
    return thenMaybe(buildAttempt(exchange, backend, ref), (built) => this.attemptAnswer(exchange, request, backend, built));
  }

  /** The answer for a built attempt: it becomes the exchange's current attempt. */
  private attemptAnswer(exchange: Exchange, request: ParsedRequest, backend: ResolvedBackend, built: BuiltAttempt): ProcessingResponse {
    if (exchange.attemptSpan) {
      exchange.attemptSpan.inject(built.headers);
      // Retries share one header map: the next attempt puts the client's values back before writing its own.
      for (const name of TRACE_CONTEXT_HEADERS) exchange.touchHeader(name);
    }
    exchange.startAttempt(built.attempt);
    this.exchange = exchange;
    this.attemptNumber = built.attempt.number;
    this.deps.metrics.recordUpstreamAttempt(backend.name, built.attempt.number > 1);
    exchange.usage = undefined;
    exchange.responseModel = undefined;
    // The client's bytes unchanged (an OpenAI passthrough): no body_mutation, so Envoy sends the attempt's copy of
    // the body it holds rather than a second copy from here (contract §2.3). Its content-length is set all the same:
    // the header map is shared by the attempts, and an earlier attempt that replaced the body left its own length.
    const unchanged = built.body === request.rawBody;
    if (unchanged) {
      built.headers.set('content-length', String(built.body.length));
      exchange.touchHeader('content-length');
    }
    return answer('request_headers', {
      replace: true,
      headers: built.headers,
      body: unchanged ? undefined : built.body,
      // CONTINUE_AND_REPLACE with a body drops content-length; the header_mutation filter restores it from here.
      metadata: { content_length: built.body.length, backend_name: backend.name, model_name_override: built.attempt.ctx.upstreamModel },
    });
  }

  /**
   * This attempt's response headers (envoy.attemptResponseHeaders): their status goes on the attempt's span, and
   * stays on the exchange for the retry reason should Envoy retry. Only while this attempt is the latest one.
   */
  private observeResponseHeaders(message: ProcessingRequest): void {
    const exchange = this.exchange;
    if (!exchange || exchange.attempt?.number !== this.attemptNumber) return;
    const status = Number(readHeaderMap(message.response_headers?.headers).get(':status') ?? '0');
    exchange.attemptResponseStatus = status;
    exchange.attemptSpan?.responseStatus(status);
  }

  /** Ends the previous attempt's span (Envoy moved on: it was retried) and starts this one's, under the request's. */
  private startAttemptSpan(exchange: Exchange, retryReason: RetryReason | undefined, backend: string, providerName: string, upstreamModel: string, endpoint: string): void {
    if (!exchange.span) return;
    exchange.attemptSpan?.end({ outcome: 'retried', status: exchange.attemptResponseStatus, errorType: 'retried', retryReason: retryReason ?? 'envoy_retry_on' });
    const server = serverOf(endpoint);
    exchange.attemptSpan = exchange.span.startAttempt({
      number: exchange.attemptCount + 1,
      backend,
      providerName,
      upstreamModel,
      serverAddress: server.address,
      serverPort: server.port,
    });
  }

  close(_reason: StreamEnd): void {}
}

/** Headers the W3C trace-context propagator writes. */
const TRACE_CONTEXT_HEADERS = ['traceparent', 'tracestate'];

