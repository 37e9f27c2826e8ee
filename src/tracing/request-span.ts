/**
 * The span of one LLM request, and its attempt spans, over an OpenTelemetry Tracer handed in by the composition
 * root (never the global one). The parent is the trace context of the request's own headers (traceparent,
 * tracestate: the caller's, or Envoy's when Envoy traces); the context passed on to the provider is written into
 * the upstream request through the ext_proc header mutation. A span that is not sampled costs one object: nothing
 * is computed for it.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import { deliveredTextOf } from '../server/delivered-text.js';
import type { HeaderChanges } from '../server/headers.js';
import { ResponseFacts } from './response-facts.js';
import type { AttemptEnd, AttemptSpan, AttemptStart, RequestEnd, RequestFacts, RequestSpan, RequestStart, SpanSettings, Tracing } from './types.js';
import { attemptEndAttributes, COMMON, FIRST_CHUNK_EVENT, vocabularyFor, type Vocabulary } from './vocabulary.js';

const HEADER_GETTER = {
  keys: (carrier: ReadonlyMap<string, string>) => [...carrier.keys()],
  get: (carrier: ReadonlyMap<string, string>, key: string) => carrier.get(key.toLowerCase()),
};

/** Writes what the propagator injects into a header change (and nothing else). */
function injectInto(propagator: TextMapPropagator, context: Context, headers: HeaderChanges): void {
  const carrier: Record<string, string> = {};
  propagator.inject(context, carrier, { set: (target, key, value) => (target[key.toLowerCase()] = value) });
  for (const [name, value] of Object.entries(carrier)) headers.set(name, value);
}

/** Header names the propagator writes (the upstream request's headers the service may change). */
export function propagatedHeaders(propagator: TextMapPropagator): string[] {
  return propagator.fields().map((name) => name.toLowerCase());
}

class Attempt implements AttemptSpan {
  private ended = false;

  constructor(
    private readonly span: Span,
    private readonly propagator: TextMapPropagator,
  ) {}

  inject(headers: HeaderChanges): void {
    injectInto(this.propagator, trace.setSpan(ROOT_CONTEXT, this.span), headers);
  }

  responseStatus(status: number): void {
    if (this.ended || !this.span.isRecording()) return;
    if (status > 0) this.span.setAttribute(COMMON.httpStatus, status);
  }

  end(result: AttemptEnd): void {
    if (this.ended) return;
    this.ended = true;
    if (this.span.isRecording()) {
      this.span.setAttributes(attemptEndAttributes(result));
      if (result.errorType !== undefined) this.span.setStatus({ code: SpanStatusCode.ERROR, message: result.retryReason ?? result.errorType });
    }
    this.span.end();
  }
}

class LlmRequestSpan implements RequestSpan {
  private readonly context: Context;
  private readonly recording: boolean;
  private readonly vocabulary: Vocabulary;
  private readonly facts = new ResponseFacts();
  private model: string | undefined;
  private text = '';
  private ended = false;

  constructor(
    private readonly span: Span,
    private readonly tracer: Tracer,
    private readonly propagator: TextMapPropagator,
    private readonly start: RequestStart,
  ) {
    this.context = trace.setSpan(ROOT_CONTEXT, span);
    this.recording = span.isRecording();
    this.vocabulary = vocabularyFor(start.settings);
  }

  private get settings(): SpanSettings {
    return this.start.settings;
  }

  request(facts: RequestFacts): void {
    this.model = facts.model;
    if (!this.recording) return;
    this.span.updateName(`${this.start.operationName} ${facts.model}`);
    this.span.setAttributes(this.vocabulary.request(facts, this.settings));
  }

  startAttempt(attempt: AttemptStart): AttemptSpan {
    const span = this.tracer.startSpan(
      `attempt ${attempt.number} ${attempt.backend}`,
      { kind: SpanKind.CLIENT, attributes: this.recording ? this.vocabulary.attempt(attempt) : {} },
      this.context,
    );
    return new Attempt(span, this.propagator);
  }

  inject(headers: HeaderChanges): void {
    injectInto(this.propagator, this.context, headers);
  }

  observeOutput(body: Uint8Array, streaming: boolean): void {
    if (!this.recording || this.ended) return;
    if (streaming) {
      this.facts.chunk(body);
      return;
    }
    this.facts.document(body);
    if (this.settings.captureContent) this.observeText(deliveredTextOf(body));
  }

  observeText(text: string): void {
    if (!this.recording || !this.settings.captureContent || this.text.length > this.settings.maxContentChars) return;
    this.text += text;
  }

  /**
   * The captured text without credentials. Capture stops past maxContentChars, so a capped text may end in the first
   * part of a secret whose rest was never captured: that tail is dropped too.
   */
  private scrubbedText(scrubber: RequestEnd['scrubber']): string {
    if (scrubber === undefined) return this.text;
    return this.text.length > this.settings.maxContentChars ? scrubber.scrubTextPiece(this.text).out : scrubber.scrubText(this.text);
  }

  end(result: RequestEnd): void {
    if (this.ended) return;
    this.ended = true;
    if (this.recording) {
      this.span.setAttributes(this.vocabulary.end(result, this.facts, { model: this.model, operationName: this.start.operationName }));
      if (this.settings.captureContent && this.text !== '') this.span.setAttributes(this.vocabulary.output(this.scrubbedText(result.scrubber), this.facts.finishReasons, this.settings));
      if (result.firstChunkAt !== undefined) this.span.addEvent(FIRST_CHUNK_EVENT, result.firstChunkAt);
      if (result.errorType !== undefined) this.span.setStatus({ code: SpanStatusCode.ERROR, message: result.errorType });
    }
    this.span.end();
  }
}

/** Tracing over a tracer and a propagator (see src/tracing/sdk.ts for where they come from). */
export function createTracing(
  tracer: Tracer,
  propagator: TextMapPropagator,
  shutdown: () => Promise<void>,
  /** Settings the environment imposes over the config's (content capture, conventions). */
  overrides: Partial<SpanSettings> = {},
): Tracing {
  return {
    startRequest(requested) {
      const start: RequestStart = { ...requested, settings: { ...requested.settings, ...overrides } };
      const parent = propagator.extract(ROOT_CONTEXT, start.headers, HEADER_GETTER);
      const span = tracer.startSpan(
        start.operationName,
        { kind: SpanKind.CLIENT, startTime: start.startTime },
        parent,
      );
      if (span.isRecording()) {
        span.setAttributes(vocabularyFor(start.settings).start(start));
        if (start.requestId !== undefined) span.setAttribute(COMMON.requestId, start.requestId);
      }
      return new LlmRequestSpan(span, tracer, propagator, start);
    },
    shutdown,
  };
}
