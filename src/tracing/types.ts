/**
 * What the processors see of tracing: plain interfaces, no OpenTelemetry import. The composition root
 * (src/service.ts) loads the SDK only when the OTEL_* variables turn tracing on, and passes a `Tracing` in the
 * processor deps; when it is off the deps carry none and the processors skip every call.
 */
import type { TraceConventions } from '../config/schema.js';
import type { SecretScrubber } from '../core/secret-scrubber.js';
import type { TokenUsage } from '../core/usage.js';
import type { HeaderChanges } from '../server/headers.js';

/** The per-request settings from the config (observability.tracing), read when a request starts. */
export interface SpanSettings {
  readonly conventions: TraceConventions;
  readonly captureContent: boolean;
  readonly maxContentChars: number;
}

export interface RequestStart {
  /** The client's request headers (lower-case names): traceparent / tracestate join the caller's trace. */
  readonly headers: ReadonlyMap<string, string>;
  /** gen_ai.operation.name: chat, text_completion, embeddings, generate_content (src/server/endpoints.ts). */
  readonly operationName: string;
  /** performance.now() when the request reached the service. */
  readonly startTime: number;
  /** Configured request headers as span attributes (name -> bounded value). */
  readonly headerAttributes: Readonly<Record<string, string>>;
  readonly settings: SpanSettings;
  /** The service's id of the request (the one its log lines carry). */
  readonly requestId?: string;
}

export interface RequestFacts {
  /** The model the client asked for. */
  readonly model: string;
  /** The parsed request body (parameters; messages only when content capture is on). */
  readonly body: Readonly<Record<string, unknown>>;
  readonly stream: boolean;
}

export interface AttemptStart {
  readonly number: number;
  readonly backend: string;
  /** gen_ai.provider.name of the backend's schema. */
  readonly providerName: string;
  /** The model name sent to the backend. */
  readonly upstreamModel: string;
  /** host[:port] of the backend's endpoint. */
  readonly serverAddress: string;
  readonly serverPort: number;
}

export interface AttemptEnd {
  /** What became of the attempt: response (Envoy forwarded its answer), retried (Envoy moved on to another
   *  attempt), local_reply (the service refused it), abandoned (the request ended before any answer). */
  readonly outcome: 'response' | 'retried' | 'local_reply' | 'abandoned';
  readonly status?: number | undefined;
  readonly errorType?: string | undefined;
  /**
   * Why Envoy retried, as far as the service can tell: status_<code> or reset_or_timeout when the upstream-level
   * filter sees response headers (envoy.attemptResponseHeaders), else envoy_retry_on (unknown).
   */
  readonly retryReason?: string | undefined;
}

export interface RequestEnd {
  /** The status the client got (0 when none was sent). */
  readonly status: number;
  /** Set on failure: an HTTP status, `_OTHER` or `client_disconnect` (as the metrics' error_type). */
  readonly errorType: string | undefined;
  readonly usage: TokenUsage;
  readonly usageEstimated: boolean;
  readonly responseModel: string | undefined;
  /** gen_ai.provider.name of the backend that answered. */
  readonly providerName: string | undefined;
  readonly backend: string | undefined;
  readonly serverAddress: string | undefined;
  readonly serverPort: number | undefined;
  /** performance.now() of the upstream request of the answering attempt, and of the first streamed chunk. */
  readonly attemptStartedAt: number | undefined;
  readonly firstChunkAt: number | undefined;
  readonly attempts: number;
  /**
   * The exchange's credentials (backend and client): captured output text is scrubbed with it as a whole before it
   * is recorded, so a secret an upstream echoed across several stream events never reaches the span.
   */
  readonly scrubber?: Pick<SecretScrubber, 'scrubText' | 'scrubTextPiece'> | undefined;
}

/** One upstream attempt (upstreamFilter: true): a child of the request's span. */
export interface AttemptSpan {
  /** Writes the attempt's trace context (traceparent, tracestate) into the upstream request's headers. */
  inject(headers: HeaderChanges): void;
  /** The attempt's response headers arrived with this status (envoy.attemptResponseHeaders). */
  responseStatus(status: number): void;
  /** Ends the span; later calls do nothing. */
  end(result: AttemptEnd): void;
}

/** The span of one LLM request. Every method is cheap and safe to call in any order; end() is idempotent. */
export interface RequestSpan {
  request(facts: RequestFacts): void;
  startAttempt(attempt: AttemptStart): AttemptSpan;
  /** Router-only mode: writes the request span's context into the upstream request's headers. */
  inject(headers: HeaderChanges): void;
  /** A translated response body (whole) or stream chunk, in the client's format: id and finish reasons. */
  observeOutput(body: Uint8Array, streaming: boolean): void;
  /** Text delivered to the client, kept (capped) when content capture is on. */
  observeText(text: string): void;
  end(result: RequestEnd): void;
}

export interface Tracing {
  startRequest(start: RequestStart): RequestSpan;
  /** Exports what is buffered and stops the exporter. */
  shutdown(): Promise<void>;
}
