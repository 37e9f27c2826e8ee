/**
 * One HTTP exchange's state: created by the router-level stream, read by the upstream-level streams of the
 * same request (one per attempt), freed when the router stream ends. Keyed by an id the service generates.
 */
import { randomUUID } from 'node:crypto';
import type { ResolvedBackend, RuntimeConfig } from '../config/load.js';
import type { ModelBackendRef, ModelConfig } from '../config/schema.js';
import type { TokenCounter } from '../costs/index.js';
import { SecretScrubber } from '../core/secret-scrubber.js';
import type { TokenUsage } from '../core/usage.js';
import type { LogSecrets } from '../logging.js';
import { CLIENT_CONFIDENTIAL_HEADERS } from '../auth/index.js';
import { secretValuesOf } from './scrub-secrets.js';
import type { TranslatorTable } from '../translators/table.js';
import type { RequestContext, Translator } from '../translators/types.js';
import type { AttemptSpan, RequestSpan } from '../tracing/types.js';
import type { Endpoint } from './endpoints.js';

export interface Attempt {
  readonly number: number;
  readonly backend: ResolvedBackend;
  readonly ref: ModelBackendRef;
  readonly translator: Translator;
  readonly ctx: RequestContext;
  readonly startedAt: number;
  /** Credential values of this attempt's backend and the auth headers it sent. */
  readonly secrets: readonly string[];
}

export interface ParsedRequest {
  readonly rawBody: Uint8Array;
  /** The whole body, parsed on first read (the router phase reads its outline; a passthrough never parses it). */
  readonly body: Readonly<Record<string, unknown>>;
  readonly requestModel: string;
  readonly model: ModelConfig;
  readonly stream: boolean;
  /** The client asked for usage in the stream (stream_options.include_usage). */
  readonly clientWantsUsage: boolean;
}

export class Exchange {
  readonly id = randomUUID();
  readonly startedAt = performance.now();
  /** The client's request headers as the router-level filter saw them (lower-case names). */
  originalHeaders = new Map<string, string>();
  path = '';
  endpoint: Endpoint | undefined;
  request: ParsedRequest | undefined;
  attempt: Attempt | undefined;
  attemptCount = 0;
  /** Header names upstream attempts have set or removed (a handful, so an array); see touchHeader. */
  private readonly touched: string[] = [];
  /** The service answered this request itself (never translate a local reply twice). */
  localReply = false;
  /** Status of the service's own error reply, for the request metric's error_type. */
  localReplyStatus: number | undefined;
  /** Reserved cost values (metadata key -> tokens) written in the request phase. */
  reserved: Record<string, number> = {};
  usage: TokenUsage | undefined;
  responseModel: string | undefined;
  firstChunkAt: number | undefined;
  /** Tokens of the text delivered to the client, for when the backend reports no usage. */
  outputCounter: TokenCounter | undefined;
  /** Input tokens counted locally from the request, when the backend reported none. */
  estimatedInputTokens: number | undefined;
  /** The same from the first ROUGH_INPUT_CHARS counted exactly, the rest extrapolated: for running figures. */
  roughInputTokens: number | undefined;
  /** The translator counted the usage locally (the provider reported none). */
  usageEstimated = false;
  /**
   * The translated stream reached its end without an error: the usage the backend reported last is final. Until
   * then a reported output count may be provisional (Claude's message_start says 1).
   */
  streamCompleted = false;
  finished = false;
  /** An error answer of the service's own was logged and counted (once per exchange). */
  errorReported = false;
  /** The router-level stream ended: the exchange is no longer in the registry. */
  private closed = false;
  /** Credentials of every attempt so far (a response may come from any of them); a few values, so an array. */
  private readonly secretValues: string[] = [];
  private scrubberCache: SecretScrubber | undefined;
  private readonly releases: Array<() => void> = [];
  /** The status the client got: the upstream's, or the service's own reply's. */
  responseStatus: number | undefined;
  /** The request's span, when tracing is on and the path is an LLM operation. */
  span: RequestSpan | undefined;
  /** The span of the latest upstream attempt (upstreamFilter: true). */
  attemptSpan: AttemptSpan | undefined;
  /**
   * The HTTP status of the latest attempt's response headers, as the upstream-level filter saw them before Envoy
   * decided on a retry (envoy.attemptResponseHeaders only); undefined while none arrived.
   */
  attemptResponseStatus: number | undefined;

  constructor(
    readonly config: RuntimeConfig,
    /** The service's translators (from the composition root), for every attempt of this exchange. */
    readonly translators: TranslatorTable,
    /** The log's censor: it scrubs this exchange's credentials while the exchange runs. */
    private readonly logSecrets?: LogSecrets,
  ) {}

  /** Header names upstream attempts have set or removed; a later attempt restores or removes them. */
  get touchedHeaders(): readonly string[] {
    return this.touched;
  }

  /** Remembers a header an attempt set or removed (lower-case name), once. */
  touchHeader(name: string): void {
    if (!this.touched.includes(name)) this.touched.push(name);
  }

  /** Makes `attempt` the current one; its credentials are scrubbed from the response and from the log. */
  startAttempt(attempt: Attempt): void {
    this.attempt = attempt;
    let added = false;
    for (const value of attempt.secrets) {
      if (this.secretValues.includes(value)) continue;
      this.secretValues.push(value);
      added = true;
    }
    if (!added) return;
    this.scrubberCache = undefined;
    const release = this.logSecrets?.hold(attempt.secrets);
    if (!release) return;
    if (this.closed) release();
    else this.releases.push(release);
  }

  /** Scrubs every credential any attempt of this exchange carried. */
  get scrubber(): SecretScrubber {
    this.scrubberCache ??= scrubberFor(this.secretValues);
    return this.scrubberCache;
  }

  /**
   * For free text from the upstream that goes to a log line or a metric label: the backend credentials and the
   * client's own (its credential headers and cookies), which the client may see but an operator must not.
   */
  get textScrubber(): SecretScrubber {
    const clientValues: string[] = [];
    for (const name of CLIENT_CONFIDENTIAL_HEADERS) {
      const value = this.originalHeaders.get(name);
      if (value === undefined) continue;
      clientValues.push(value);
      // Each cookie's value on its own, too.
      if (name === 'cookie') for (const pair of value.split(';')) clientValues.push(pair.slice(pair.indexOf('=') + 1).trim());
    }
    return new SecretScrubber([...this.secretValues, ...secretValuesOf(clientValues)]);
  }

  /** The router-level stream ended: stop holding this exchange's secrets for the log. */
  close(): void {
    this.closed = true;
    for (const release of this.releases.splice(0)) release();
  }
}

/** Scrubbers shared by exchanges with the same credentials (mostly a backend's configured key); bounded. */
const SHARED_SCRUBBERS_LIMIT = 64;
const sharedScrubbers = new Map<string, SecretScrubber>();

/**
 * The scrubber for a set of credentials. Building one (every value's escaped forms, sorted, as bytes) cost about as
 * much as the rest of a passthrough request's own work; scrubbers are immutable, so exchanges share them. Values
 * that change per request (SigV4 signatures) only cycle the cache, which is emptied when full.
 */
function scrubberFor(values: readonly string[]): SecretScrubber {
  const key = values.join('\u0000');
  let scrubber = sharedScrubbers.get(key);
  if (scrubber === undefined) {
    if (sharedScrubbers.size >= SHARED_SCRUBBERS_LIMIT) sharedScrubbers.clear();
    scrubber = new SecretScrubber(values);
    sharedScrubbers.set(key, scrubber);
  }
  return scrubber;
}

/** Exchanges in flight, by internal id. Holds nothing beyond the requests in flight. */
export class ExchangeRegistry {
  private readonly exchanges = new Map<string, Exchange>();

  add(exchange: Exchange): void {
    this.exchanges.set(exchange.id, exchange);
  }

  get(id: string): Exchange | undefined {
    return this.exchanges.get(id);
  }

  delete(id: string): void {
    this.exchanges.delete(id);
  }

  get size(): number {
    return this.exchanges.size;
  }
}
