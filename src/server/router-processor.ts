/**
 * The router-level processor: one per downstream request. Owns the Exchange, registers it for the
 * upstream-level streams, and frees it when its stream ends, whatever way it ends.
 */
import { GatewayError } from '../core/errors.js';
import type { ProcessingRequest, ProcessingResponse } from './ext-proc-types.js';
import { Exchange } from './exchange.js';
import { LARGE_BODY_BYTES } from './heap-growth.js';
import { readHeaderMap } from './headers.js';
import { answer, internalErrorReply, type MetadataValues } from './responses.js';
import { reportServiceError, serviceErrorOf } from './error-report.js';
import { effectiveUsage, recordMetrics, usageMetadata, zeroCosts, type ChargedUsage } from './accounting.js';
import type { ClampReason } from '../costs/index.js';
import { onRequestBody, onRequestHeaders } from './router-request.js';
import { ResponseSide } from './router-response.js';
import type { MaybePromise, ProcessorDeps, StreamEnd, StreamProcessor } from './processor.js';
import type { Warning } from '../translators/types.js';
import { OTHER, providerNameForSchema } from '../metrics/metrics.js';
import { logSecretsOf } from '../logging.js';
import { endSpans, headerAttributes, logCompletion } from './observe.js';

/** Running usage is written at most this often during a stream (and always at its end). */
const RUNNING_METADATA_INTERVAL_MS = 50;

/** Both have the same keys with the same values (metadata values are numbers, strings, booleans or undefined). */
function sameValues(left: MetadataValues, right: MetadataValues): boolean {
  let keys = 0;
  for (const key in left) {
    if (left[key] !== right[key]) return false;
    keys += 1;
  }
  for (const _ in right) keys -= 1;
  return keys === 0;
}

export class RouterProcessor implements StreamProcessor {
  private readonly exchange: Exchange;
  /** Made by the first response message: a stream held open while the upstream answers does not carry it. */
  private responseSide: ResponseSide | undefined;
  private lastRunningAt = 0;
  private lastRunning: MetadataValues | undefined;
  /** Out-of-range usage was logged and counted (once per exchange). */
  private clampReported = false;
  /** Set while this exchange's large request body keeps V8's heap growing factor raised. */
  private releaseHeapGrowth: (() => void) | undefined;
  /** A cost above limits.maxTokenCount was logged (once per exchange). */
  private costCapReported = false;
  /** CEL and typed costs clamped to a valid number are counted; one above the ceiling is also logged, once. */
  private onClamp(metadataKey: string, reason: ClampReason): void {
    this.deps.metrics.recordCostClamped(metadataKey);
    // One warning per request: a clamped usage count was already logged.
    if (reason !== 'too_large' || this.costCapReported || this.clampReported) return;
    this.costCapReported = true;
    this.deps.logger.warn(
      { requestId: this.exchange.id, metadataKey, ceiling: this.exchange.config.file.limits.maxTokenCount },
      'cost above limits.maxTokenCount was capped (usage_clamped)',
    );
  }

  constructor(
    private readonly deps: ProcessorDeps,
    /** The gRPC call's trace context (tracing on only): the parent when the request headers carry none. */
    private readonly callTraceContext?: ReadonlyMap<string, string>,
  ) {
    this.exchange = new Exchange(deps.configStore.current, deps.translators, logSecretsOf(deps.logger));
    deps.registry.add(this.exchange);
    deps.metrics.trackLive('exchange', this.exchange);
  }

  private get response(): ResponseSide {
    this.responseSide ??= new ResponseSide(this.exchange, {
      finish: (errorType) => this.finish(errorType),
      running: () => this.running(),
      warn: (warnings) => this.warn(warnings),
      serviceError: (error) => reportServiceError(this.deps, this.exchange, error),
    });
    return this.responseSide;
  }

  handle(message: ProcessingRequest): MaybePromise<ProcessingResponse | undefined> {
    if (message.observability_mode) return undefined;
    let dispatched: MaybePromise<ProcessingResponse>;
    try {
      dispatched = this.dispatch(message);
    } catch (error) {
      return this.internalError(error, message);
    }
    if (dispatched instanceof Promise) {
      return dispatched.then(
        (response) => this.answered(response),
        (error: unknown) => this.internalError(error, message),
      );
    }
    return this.answered(dispatched);
  }

  /** An answer on its way out: an error the service answered itself is reported, and recorded once. */
  private answered(response: ProcessingResponse): ProcessingResponse {
    const serviceError = serviceErrorOf(response);
    if (serviceError) {
      reportServiceError(this.deps, this.exchange, serviceError);
      this.exchange.responseStatus ??= serviceError.status;
      if (!this.exchange.finished) {
        // The service answered an error itself: still one request metric, with its status as error_type.
        this.exchange.finished = true;
        this.record(this.charged(), String(serviceError.status));
      }
    }
    return response;
  }

  /** The end of the exchange, once: metrics, spans, the completion log line. */
  private record(charged: ChargedUsage, errorType: string | undefined): void {
    recordMetrics(this.exchange, this.deps.metrics, charged, errorType);
    endSpans(this.exchange, charged, errorType);
    if (this.exchange.config.file.observability.completionLog) logCompletion(this.deps.logger, this.exchange, charged, errorType);
  }

  /** Starts the request's span for an LLM operation (tracing on only). */
  private startSpan(headers: Map<string, string>): void {
    const tracing = this.deps.tracing;
    const endpoint = this.exchange.endpoint;
    if (!tracing || !endpoint?.operation || endpoint.local) return;
    const observability = this.exchange.config.file.observability;
    // The request's own traceparent (the caller's, or Envoy's) first; else the context Envoy gave the ext_proc call.
    const parent = headers.has('traceparent') || !this.callTraceContext ? headers : this.callTraceContext;
    this.exchange.span = tracing.startRequest({
      headers: parent,
      operationName: endpoint.operationName,
      startTime: this.exchange.startedAt,
      headerAttributes: headerAttributes(observability.requestHeaders, headers),
      settings: observability.tracing,
      requestId: this.exchange.id,
    });
  }

  private dispatch(message: ProcessingRequest): MaybePromise<ProcessingResponse> {
    switch (message.request) {
      case 'request_headers': {
        const headers = readHeaderMap(message.request_headers?.headers);
        const answered = onRequestHeaders(this.exchange, headers, message.request_headers?.end_of_stream === true);
        this.startSpan(headers);
        return answered;
      }
      case 'request_body': {
        const body = message.request_body?.body ?? new Uint8Array(0);
        if (body.length >= LARGE_BODY_BYTES && this.releaseHeapGrowth === undefined) this.releaseHeapGrowth = this.deps.heapGrowth?.hold();
        const answered = onRequestBody(this.exchange, body);
        // Synchronous with the upstream filter, where each attempt is counted by its own stream. Router-only mode
        // builds the one attempt here, and waits for its credential.
        if (!(answered instanceof Promise)) return answered;
        return answered.then((response) => {
          const attempt = this.exchange.attempt;
          if (attempt && !this.exchange.config.file.envoy.upstreamFilter) this.deps.metrics.recordUpstreamAttempt(attempt.backend.name, false);
          return response;
        });
      }
      case 'response_headers':
        return this.response.onHeaders(readHeaderMap(message.response_headers?.headers), message.response_headers?.end_of_stream === true);
      case 'response_body': {
        const chunk = message.response_body?.body ?? new Uint8Array(0);
        const end = message.response_body?.end_of_stream === true;
        return this.response.isStreaming ? this.response.onStreamChunk(chunk, end) : this.response.onBufferedBody(chunk);
      }
      case 'request_trailers':
        return answer('request_trailers');
      case 'response_trailers':
        return answer('response_trailers', { metadata: this.finish(undefined) });
      default:
        throw new GatewayError('ERR_INTERNAL', `unexpected ext_proc message ${String(message.request)}`);
    }
  }

  private internalError(error: unknown, message: ProcessingRequest): ProcessingResponse {
    // The cause, for the developers; the error answer itself is logged at warn and counted by handle().
    this.deps.logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error), phase: message.request, exchange: this.exchange.id }, 'processing failed');
    const api = this.exchange.endpoint?.clientApi ?? 'openai';
    this.exchange.localReply = true;
    let metadata: MetadataValues | undefined;
    try {
      metadata = this.exchange.finished ? undefined : this.finish('_OTHER');
    } catch {
      // Accounting itself failed: still leave every cost key as a number for the rate-limit filter.
      metadata = zeroCosts(this.exchange);
    }
    return internalErrorReply(api, metadata);
  }

  /** Final metadata (every cost key a number) and metrics, once. */
  private finish(errorType: string | undefined): MetadataValues {
    const charged = this.charged();
    const metadata = usageMetadata(this.exchange, charged, (key, reason) => this.onClamp(key, reason));
    if (!this.exchange.finished) {
      this.exchange.finished = true;
      if (this.exchange.request) this.record(charged, errorType);
      else endSpans(this.exchange, charged, errorType);
    }
    return metadata;
  }

  private running(): MetadataValues | undefined {
    const now = performance.now();
    if (now - this.lastRunningAt < RUNNING_METADATA_INTERVAL_MS) return undefined;
    // The interval runs from the last check, not the last change: unchanged usage is not recomputed on every chunk.
    this.lastRunningAt = now;
    const metadata = usageMetadata(this.exchange, this.charged(true), (key, reason) => this.onClamp(key, reason));
    if (this.lastRunning !== undefined && sameValues(metadata, this.lastRunning)) return undefined;
    this.lastRunning = metadata;
    return metadata;
  }

  /** The usage to charge; the first time a count had to be clamped, one warning and one count. */
  private charged(running = false): ChargedUsage {
    const charged = effectiveUsage(this.exchange, running);
    if (charged.clamped && !this.clampReported) {
      this.clampReported = true;
      const attempt = this.exchange.attempt;
      this.deps.metrics.recordUsageClamped(attempt ? providerNameForSchema(attempt.backend.schema) : 'unknown');
      const reported = this.exchange.usage;
      this.deps.logger.warn(
        {
          requestId: this.exchange.id,
          model: this.exchange.request?.requestModel,
          backend: attempt?.backend.name,
          reported: reported ? { input: reported.inputTokens, output: reported.outputTokens, total: reported.totalTokens } : undefined,
          ceiling: this.exchange.config.file.limits.maxTokenCount,
        },
        'token usage out of range was clamped (usage_clamped)',
      );
    }
    return charged;
  }

  private warn(warnings: readonly Warning[] | undefined): void {
    if (!warnings || warnings.length === 0) return;
    const attempt = this.exchange.attempt;
    const provider = attempt ? providerNameForSchema(attempt.backend.schema) : 'unknown';
    // Details quote the upstream's own values, which an echoing upstream may fill with credentials.
    const scrubber = this.exchange.textScrubber;
    for (const warning of warnings) {
      if (warning.kind === 'unknown_finish_reason') {
        const reason = rawReason(warning.detail);
        this.deps.metrics.recordUnknownFinishReason(provider, scrubber.containedIn(reason) ? OTHER : reason);
      } else {
        this.deps.metrics.recordTranslationWarning(provider, warning.kind);
      }
      if (this.deps.logger.isLevelEnabled('debug')) this.deps.logger.debug({ exchange: this.exchange.id, kind: warning.kind, detail: scrubber.scrubText(warning.detail) }, 'translation warning');
    }
  }

  close(reason: StreamEnd): void {
    this.responseSide?.abandon();
    if (!this.exchange.finished && this.exchange.request && (!this.exchange.localReply || this.exchange.localReplyStatus !== undefined)) {
      this.exchange.finished = true;
      // The stream ended before the response did: the client went away, or the upstream was reset.
      this.deps.logger.debug({ exchange: this.exchange.id, reason }, 'exchange ended before the response finished');
      const errorType = this.exchange.localReplyStatus !== undefined ? String(this.exchange.localReplyStatus) : 'client_disconnect';
      this.record(this.charged(), errorType);
    }
    // A span still open (the stream ended before the request body, or after a local reply): it ends here.
    if (this.exchange.span) endSpans(this.exchange, effectiveUsage(this.exchange), this.exchange.responseStatus === undefined ? 'client_disconnect' : undefined);
    this.deps.registry.delete(this.exchange.id);
    this.exchange.close();
    this.releaseHeapGrowth?.();
  }
}

/** The provider's own reason from a warning detail: the first quoted value (`stop_reason "x" reported as …`), else the detail. */
function rawReason(detail: string): string {
  const quoted = /"((?:[^"\\]|\\.)*)"/.exec(detail);
  return quoted?.[1] ?? detail;
}
