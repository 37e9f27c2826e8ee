/**
 * Prometheus metrics on a dedicated registry. GenAI metrics follow the OpenTelemetry
 * semantic conventions in their Prometheus form, with the bucket boundaries Envoy AI
 * Gateway uses, so dashboards built for it work unchanged. Every label value is
 * bounded: models to the configured names (else "other"), providers to a fixed list,
 * free-form reasons to the first 50 distinct values.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { modelNameOverrides, type RuntimeConfig } from '../config/load.js';
import type { BackendSchema } from '../config/schema.js';
import type { TokenUsage } from '../core/usage.js';
import { SeriesHistogram } from './series-histogram.js';

export const TOKEN_USAGE_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
export const REQUEST_DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
export const TIME_TO_FIRST_TOKEN_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];
export const TIME_PER_OUTPUT_TOKEN_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];

/** Label value for a model (or reason) outside the bounded set. */
export const OTHER = 'other';
/** Longest request-header label value (longer ones are cut). */
export const MAX_HEADER_LABEL_CHARS = 64;
/** How many distinct unknown finish reasons get their own label value. */
export const MAX_FINISH_REASONS = 50;
/** What an unknown finish reason must look like to become a label value. */
const FINISH_REASON_LABEL = /^[A-Za-z][A-Za-z0-9_.-]{0,31}$/;

export type TokenType = 'input' | 'output' | 'cached_input' | 'cache_creation_input' | 'reasoning';

const PROVIDER_NAMES: Record<BackendSchema, string> = {
  OpenAI: 'openai',
  AzureOpenAI: 'azure.openai',
  Anthropic: 'anthropic',
  AWSBedrock: 'aws.bedrock',
  AWSAnthropic: 'aws.anthropic',
  GCPVertexAI: 'gcp.vertex_ai',
  GCPAnthropic: 'gcp.anthropic',
  GoogleAI: 'gcp.gen_ai',
};

/** The gen_ai.provider.name value for a backend schema. */
export function providerNameForSchema(schema: BackendSchema): string {
  return PROVIDER_NAMES[schema];
}

/** What a GenAI metric is about. Model values are bounded by GatewayMetrics. */
export interface GenAiLabels {
  /** gen_ai.operation.name: chat, text_completion, embeddings, generate_content (src/server/endpoints.ts). */
  operationName: string;
  /** From providerNameForSchema. */
  providerName: string;
  /** The model the client asked for. */
  requestModel: string;
  /** The model the provider says answered ('' when not known yet). */
  responseModel: string;
  /** The request's headers (lower-case names): the configured observability.requestHeaders become labels. */
  headers?: ReadonlyMap<string, string>;
}

/** A request header reported as a metric label (observability.requestHeaders). */
export interface HeaderLabel {
  readonly header: string;
  readonly name: string;
  readonly maxValues: number;
}

/** Per-request objects counted by llm_extproc_live_objects. */
export const LIVE_KINDS = ['exchange', 'processor'] as const;
export type LiveKind = (typeof LIVE_KINDS)[number];

const MODEL_LABELS = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model'] as const;

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly contentType: string = this.registry.contentType;

  private headerLabels: readonly HeaderLabel[] = [];
  /** Per header label, the values seen so far (bounded by its maxValues). */
  private headerValues = new Map<string, Set<string>>();
  private genAi = this.genAiHistograms();
  private readonly configReloads = this.counter('llm_extproc_config_reloads_total', 'Config reloads after a file change, by result.', ['result']);
  private readonly unknownFinishReasons = this.counter(
    'llm_extproc_unknown_finish_reasons_total',
    'Finish reasons a translator did not recognise.',
    ['provider', 'reason'],
  );
  private readonly translationWarnings = this.counter(
    'llm_extproc_translation_warnings_total',
    'Request settings a translator could not carry to the provider.',
    ['provider', 'kind'],
  );
  private readonly costClamped = this.counter(
    'llm_extproc_cost_clamped_total',
    'Cost values clamped to a valid number before being written as metadata.',
    ['metadata_key'],
  );
  private readonly usageClamped = this.counter(
    'llm_extproc_usage_clamped_total',
    'Requests whose token usage had a count out of range (negative, not an integer, not a number, above limits.maxTokenCount), clamped before being charged.',
    ['provider'],
  );
  private readonly streamsActive = new Gauge({
    name: 'llm_extproc_streams_active',
    help: 'ext_proc streams currently open.',
    registers: [this.registry],
  });
  /** Per-request objects created and not yet garbage-collected, by kind (a FinalizationRegistry counts them down). */
  private readonly liveCounts = new Map<LiveKind, number>(LIVE_KINDS.map((kind) => [kind, 0]));
  private readonly liveFinalizer = new FinalizationRegistry<LiveKind>((kind) => this.liveCounts.set(kind, (this.liveCounts.get(kind) ?? 1) - 1));
  private readonly liveObjects = new Gauge({
    name: 'llm_extproc_live_objects',
    help: 'Per-request objects (kind: exchange, processor) created and not yet garbage-collected. After the traffic stops and a garbage collection runs, 0.',
    labelNames: ['kind'],
    registers: [this.registry],
    collect: () => {
      for (const [kind, count] of this.liveCounts) this.liveObjects.set({ kind }, count);
    },
  });
  private readonly streamResets = this.counter(
    'llm_extproc_stream_resets_total',
    'ext_proc streams Envoy reset (the gRPC call was cancelled); when="after_half_close" is Envoy\'s default stream close (no ext_proc_graceful_grpc_close), one per request.',
    ['when'],
  );
  private readonly goaways = this.counter(
    'llm_extproc_grpc_goaways_total',
    'HTTP/2 GOAWAY frames received from Envoy on ext_proc connections, by error code (0 is NO_ERROR).',
    ['code'],
  );
  private readonly connectionsClosed = this.counter(
    'llm_extproc_grpc_connections_closed_total',
    'ext_proc connections that ended while the service was serving (not draining): closed by Envoy, or by an error. Many of them, with llm_extproc_stream_resets_total{when="after_half_close"} rising, is Node\'s rapid-reset protection dropping connections under Envoy\'s default stream close.',
    ['by'],
  );
  private readonly errors = this.counter('llm_extproc_errors_total', 'Error answers the service produced itself, by reason (an error code).', ['reason']);
  private readonly buildInfo = new Gauge({
    name: 'llm_extproc_build_info',
    help: 'Always 1; the labels say which llm-extproc and which Node.js run.',
    labelNames: ['version', 'node_version'],
    registers: [this.registry],
  });
  private readonly configInfo = new Gauge({
    name: 'llm_extproc_config_info',
    help: 'Always 1; hash is the first 12 hex digits of the SHA-256 of the config file being served.',
    labelNames: ['hash'],
    registers: [this.registry],
  });
  private readonly configLoadedAt = new Gauge({
    name: 'llm_extproc_config_last_reload_success_timestamp_seconds',
    help: 'When the config being served was loaded (Unix time).',
    registers: [this.registry],
  });
  private readonly configLastReloadOk = new Gauge({
    name: 'llm_extproc_config_last_reload_successful',
    help: '1 when the last attempt to load the config succeeded, 0 when it was rejected (the previous config keeps serving).',
    registers: [this.registry],
  });
  private readonly upstreamAttempts = this.counter(
    'llm_extproc_upstream_attempts_total',
    'Upstream attempts built, by backend; attempt="retry" counts Envoy\'s retries and fallbacks to another backend.',
    ['backend', 'attempt'],
  );
  private readonly retriedAttempts = this.counter(
    'llm_extproc_upstream_retried_attempts_total',
    'Upstream attempts Envoy retried, by the failed attempt\'s backend and reason: status_<code> or reset_or_timeout with envoy.attemptResponseHeaders, else envoy_retry_on.',
    ['backend', 'reason'],
  );
  private processMetrics = false;

  private requestModels: ReadonlySet<string> = new Set();
  private responseModels: ReadonlySet<string> = new Set();
  private readonly finishReasons = new Set<string>();

  /**
   * Model names that may appear as label values. Request models: the configured model
   * names. Response models: those plus the configured modelNameOverride values.
   */
  setKnownModels(requestModels: Iterable<string>, responseModels: Iterable<string> = []): void {
    const requests = new Set(requestModels);
    this.requestModels = requests;
    this.responseModels = new Set([...requests, ...responseModels]);
  }

  /** setKnownModels, and the request-header labels, from a loaded config. */
  setKnownModelsFromConfig(config: RuntimeConfig): void {
    this.setKnownModels(config.models.keys(), modelNameOverrides(config));
    this.setHeaderLabels(config.file.observability.requestHeaders);
  }

  /**
   * The request headers the GenAI metrics carry as labels. A different set of label names rebuilds the four GenAI
   * histograms (their series start again from zero); the same names only update the headers and bounds.
   */
  setHeaderLabels(labels: readonly HeaderLabel[]): void {
    const names = (list: readonly HeaderLabel[]) => list.map((label) => label.name).join(',');
    const rebuild = names(labels) !== names(this.headerLabels);
    this.headerLabels = labels.map((label) => ({ header: label.header.toLowerCase(), name: label.name, maxValues: label.maxValues }));
    if (!rebuild) return;
    this.headerValues = new Map(this.headerLabels.map((label) => [label.name, new Set<string>()]));
    for (const histogram of Object.values(this.genAi)) this.registry.removeSingleMetric((histogram as unknown as { name: string }).name);
    this.genAi = this.genAiHistograms();
  }

  /** prom-client's default process metrics (CPU, memory, event-loop lag, GC, handles) on this registry, once. */
  collectProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  setBuildInfo(version: string, nodeVersion: string = process.version): void {
    this.buildInfo.reset();
    this.buildInfo.set({ version, node_version: nodeVersion }, 1);
  }

  /** A config was loaded and is being served (first load or reload). */
  recordConfigLoaded(hash: string, at: Date = new Date()): void {
    this.configInfo.reset();
    this.configInfo.set({ hash }, 1);
    this.configLoadedAt.set(at.getTime() / 1000);
    this.configLastReloadOk.set(1);
  }

  /** One observation per token type: input and output always, the others when > 0. */
  recordTokens(labels: GenAiLabels, usage: TokenUsage, estimated: boolean): void {
    const model = this.modelValues(labels);
    const headers = this.headerLabelValues(labels);
    const flag = estimated ? 'true' : 'false';
    const observe = (type: TokenType, count: number) => this.genAi.tokenUsage.observe([...model, type, flag, ...headers], count);
    observe('input', usage.inputTokens);
    observe('output', usage.outputTokens);
    if (usage.cachedInputTokens > 0) observe('cached_input', usage.cachedInputTokens);
    if (usage.cacheCreationInputTokens > 0) observe('cache_creation_input', usage.cacheCreationInputTokens);
    if (usage.reasoningTokens > 0) observe('reasoning', usage.reasoningTokens);
  }

  /** errorType: '' for success, else a bounded error class (e.g. '_OTHER', an HTTP status class). */
  recordRequest(labels: GenAiLabels, seconds: number, errorType = ''): void {
    this.genAi.requestDuration.observe([...this.modelValues(labels), errorType, ...this.headerLabelValues(labels)], seconds);
  }

  recordTimeToFirstToken(labels: GenAiLabels, seconds: number): void {
    this.genAi.timeToFirstToken.observe([...this.modelValues(labels), ...this.headerLabelValues(labels)], seconds);
  }

  recordTimePerOutputToken(labels: GenAiLabels, seconds: number): void {
    this.genAi.timePerOutputToken.observe([...this.modelValues(labels), ...this.headerLabelValues(labels)], seconds);
  }

  recordConfigReload(result: 'success' | 'failure'): void {
    this.configReloads.inc({ result });
    if (result === 'failure') this.configLastReloadOk.set(0);
  }

  /**
   * `reason` is the provider's free-form value: only a short word-like value becomes a label of its own (a
   * finish reason is a word such as `end_turn`); anything else, and past MAX_FINISH_REASONS, is "other". The
   * caller drops values that contain a credential first.
   */
  recordUnknownFinishReason(provider: string, reason: string): void {
    let label = FINISH_REASON_LABEL.test(reason) ? reason : OTHER;
    if (!this.finishReasons.has(label) && label !== OTHER) {
      if (this.finishReasons.size >= MAX_FINISH_REASONS) label = OTHER;
      else this.finishReasons.add(reason);
    }
    this.unknownFinishReasons.inc({ provider, reason: label });
  }

  /** kind must come from code (a fixed set), never from request content. */
  recordTranslationWarning(provider: string, kind: string): void {
    this.translationWarnings.inc({ provider, kind });
  }

  recordCostClamped(metadataKey: string): void {
    this.costClamped.inc({ metadata_key: metadataKey });
  }

  /** provider: from providerNameForSchema (a fixed set), or 'unknown'. */
  recordUsageClamped(provider: string): void {
    this.usageClamped.inc({ provider });
  }

  /** Counts `object` as live until it is garbage-collected (llm_extproc_live_objects{kind}). */
  trackLive(kind: LiveKind, object: object): void {
    this.liveCounts.set(kind, (this.liveCounts.get(kind) ?? 0) + 1);
    this.liveFinalizer.register(object, kind);
  }

  /** Live per-request objects by kind (not yet garbage-collected). */
  liveObjectCounts(): Record<LiveKind, number> {
    return Object.fromEntries(this.liveCounts) as Record<LiveKind, number>;
  }

  recordStreamReset(afterHalfClose: boolean): void {
    this.streamResets.inc({ when: afterHalfClose ? 'after_half_close' : 'before_half_close' });
  }

  /** code: the GOAWAY's HTTP/2 error code. */
  recordGoaway(code: number): void {
    this.goaways.inc({ code: String(code) });
  }

  recordConnectionClosed(by: 'peer' | 'error'): void {
    this.connectionsClosed.inc({ by });
  }

  streamOpened(): void {
    this.streamsActive.inc();
  }

  streamClosed(): void {
    this.streamsActive.dec();
  }

  /** backend is a configured backend name (bounded by the config). */
  recordUpstreamAttempt(backend: string, retry: boolean): void {
    this.upstreamAttempts.inc({ backend, attempt: retry ? 'retry' : 'first' });
  }

  /** backend: a configured backend name; reason: retryReasonOf (an HTTP status code or one of three words). */
  recordRetriedAttempt(backend: string, reason: string): void {
    this.retriedAttempts.inc({ backend, reason });
  }

  /** reason must come from code (a fixed set), never from request content. */
  recordError(reason: string): void {
    this.errors.inc({ reason });
  }

  /** The Prometheus exposition text. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  private histogram<T extends string>(name: string, help: string, labelNames: readonly T[], buckets: number[]): SeriesHistogram<T> {
    return new SeriesHistogram({ name, help, labelNames, buckets, registry: this.registry });
  }

  private counter<T extends string>(name: string, help: string, labelNames: readonly T[]): Counter<T> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** The MODEL_LABELS values, in that order. */
  private modelValues(labels: GenAiLabels): string[] {
    return [labels.operationName, labels.providerName, bound(labels.requestModel, this.requestModels), bound(labels.responseModel, this.responseModels)];
  }

  /** The request-header label values, in the order of headerLabels (the last label names of every GenAI histogram). */
  private headerLabelValues(labels: GenAiLabels): string[] {
    return this.headerLabels.length === 0 ? [] : this.headerLabels.map((label) => this.headerValue(label, labels.headers?.get(label.header)));
  }

  /** A header's label value: '' when absent; the first maxValues distinct values, then "other". */
  private headerValue(label: HeaderLabel, value: string | undefined): string {
    if (value === undefined || value === '') return '';
    const seen = this.headerValues.get(label.name);
    if (!seen) return OTHER;
    const text = value.slice(0, MAX_HEADER_LABEL_CHARS);
    if (seen.has(text)) return text;
    if (seen.size >= label.maxValues) return OTHER;
    seen.add(text);
    return text;
  }

  private genAiHistograms() {
    const extra = this.headerLabels.map((label) => label.name);
    return {
      tokenUsage: this.histogram(
        'gen_ai_client_token_usage',
        'Number of tokens used per request, by token type.',
        [...MODEL_LABELS, 'gen_ai_token_type', 'usage_estimated', ...extra],
        TOKEN_USAGE_BUCKETS,
      ),
      requestDuration: this.histogram(
        'gen_ai_server_request_duration_seconds',
        'Time from the upstream request to the end of the response.',
        [...MODEL_LABELS, 'error_type', ...extra],
        REQUEST_DURATION_BUCKETS,
      ),
      timeToFirstToken: this.histogram(
        'gen_ai_server_time_to_first_token_seconds',
        'Time to the first response body chunk of a streaming response.',
        [...MODEL_LABELS, ...extra],
        TIME_TO_FIRST_TOKEN_BUCKETS,
      ),
      timePerOutputToken: this.histogram(
        'gen_ai_server_time_per_output_token_seconds',
        'Time per output token after the first, for streaming responses.',
        [...MODEL_LABELS, ...extra],
        TIME_PER_OUTPUT_TOKEN_BUCKETS,
      ),
    };
  }
}

function bound(model: string, known: ReadonlySet<string>): string {
  return model === '' || known.has(model) ? model : OTHER;
}
