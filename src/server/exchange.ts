/**
 * One HTTP exchange's state: created by the router-level stream, read by the upstream-level streams of the
 * same request (one per attempt), freed when the router stream ends. Keyed by an id the service generates.
 */
import { randomUUID } from 'node:crypto';
import type { ResolvedBackend, RuntimeConfig } from '../config/load.js';
import type { ModelBackendRef, ModelConfig } from '../config/schema.js';
import type { TokenCounter } from '../costs/index.js';
import type { TokenUsage } from '../core/usage.js';
import type { TranslatorTable } from '../translators/table.js';
import type { RequestContext, Translator } from '../translators/types.js';
import type { Endpoint } from './endpoints.js';

export interface Attempt {
  readonly number: number;
  readonly backend: ResolvedBackend;
  readonly ref: ModelBackendRef;
  readonly translator: Translator;
  readonly ctx: RequestContext;
  readonly startedAt: number;
  /** Credential values this attempt injected (scrubbed from upstream error bodies). */
  readonly secrets?: readonly string[];
}

export interface ParsedRequest {
  readonly rawBody: Uint8Array;
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
  /** Header names upstream attempts have set or removed; a later attempt restores or removes them. */
  readonly touchedHeaders = new Set<string>();
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
  estimatedInputTokens: number | undefined;
  finished = false;
  /** An error answer of the service's own was logged and counted (once per exchange). */
  errorReported = false;

  constructor(
    readonly config: RuntimeConfig,
    /** The service's translators (from the composition root), for every attempt of this exchange. */
    readonly translators: TranslatorTable,
  ) {}
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
