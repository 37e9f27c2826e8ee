/**
 * The translator contract: one Translator per (client API, operation, backend schema).
 * Translators are pure and shared; only a StreamTranslator holds state, for one response.
 * Bodies handed to translators are already decoded (no content-encoding).
 */
import type { DecodedSseItem } from '../core/sse.js';
import type { ResolvedBackend } from '../config/load.js';
import type { BackendSchema } from '../config/schema.js';
import type { ClientApi, ErrorShape } from '../core/errors.js';
import type { TokenUsage } from '../core/usage.js';

export type { ClientApi } from '../core/errors.js';
export type Operation = 'chat' | 'responses' | 'completion' | 'embeddings' | 'image_generation' | 'messages' | 'count_tokens' | 'input_tokens';

/** Lower-case header name -> value. */
export type HeaderLookup = ReadonlyMap<string, string>;

export interface RequestContext {
  /** The API the client speaks. */
  readonly clientApi: ClientApi;
  readonly operation: Operation;
  /** The client's original body bytes. Never mutated; every attempt is built from it. */
  readonly rawBody: Uint8Array;
  /** The client's body, parsed. Read-only. */
  readonly body: Readonly<Record<string, unknown>>;
  readonly backend: ResolvedBackend;
  /** `model` as the client sent it. */
  readonly requestModel: string;
  /** The model name the upstream receives (modelNameOverride, else requestModel). */
  readonly upstreamModel: string;
  /** The client asked for a stream. */
  readonly stream: boolean;
  /** Per-model settings from the config (the model's backend entry), for translators that read them. */
  readonly modelOptions?: ModelOptions;
  /** Costs are configured and a streaming client did not ask for usage: ask upstream, hide it from the client. */
  readonly forceIncludeUsage: boolean;
  /** The client's request headers (lower-case names), for translators that read them (anthropic-version, anthropic-beta). */
  readonly requestHeaders?: HeaderLookup;
  readonly now: () => number;
  readonly generateId: () => string;
  /**
   * Largest single SSE event or AWS event-stream frame a stream translator's decoder accepts (the config's
   * limits.maxStreamEventBytes); a larger one makes `push` throw a LimitExceededError. Undefined: no limit.
   */
  readonly maxStreamEventBytes?: number;
}

export interface ModelOptions {
  /** Claude: keep or drop `top_p` when `temperature` is set too (default: by model, see claude-thinking.ts). */
  readonly topPWithTemperature?: 'keep' | 'drop';
  /** Gemini: JSON Schema fields or the OpenAPI subset for tools and structured output (default: by model). */
  readonly geminiSchemaFields?: 'json-schema' | 'openapi';
}

export interface Warning {
  /** e.g. 'unknown_finish_reason', 'unsupported_parameter' */
  readonly kind: string;
  readonly detail: string;
}

export interface UpstreamRequest {
  /** The full upstream `:path`, query included. */
  readonly path: string;
  /** The final body bytes (the client's bytes when only passed through). */
  readonly body: Uint8Array;
  /** Headers to set (lower-case names), e.g. content-type, anthropic-version. */
  readonly setHeaders: Readonly<Record<string, string>>;
  /** Headers to remove. */
  readonly removeHeaders: readonly string[];
  readonly warnings?: readonly Warning[];
}

export interface ResponseResult {
  /** Bytes for the client; undefined means the original body goes through unchanged. */
  readonly body: Uint8Array | undefined;
  readonly usage: TokenUsage | undefined;
  readonly responseModel?: string;
  /** The provider reported no token counts: `usage` was counted locally (written as usage_estimated). */
  readonly usageEstimated?: boolean;
  /** Set when a 2xx response is really a failure (Bedrock without `output`, Gemini blockReason, ...). */
  readonly error?: ErrorShape;
  readonly warnings?: readonly Warning[];
}

export interface ErrorResult {
  /** The error in the client's format (JSON). */
  readonly body: Uint8Array;
  /** Status for the client; defaults to the upstream status. */
  readonly status?: number;
}

export interface StreamStep {
  /** Bytes for the client for this chunk. Returning the very input chunk object means "unchanged". */
  readonly body: Uint8Array;
  /** Cumulative usage so far, if any was reported. */
  readonly usage: TokenUsage | undefined;
  readonly responseModel?: string;
  /** Text delivered to the client in this step (content, reasoning, tool arguments), for local token counting. */
  readonly deliveredText?: string;
  /** The stream carried an error (error event, exception frame). */
  readonly error?: ErrorShape;
  readonly warnings?: readonly Warning[];
  /**
   * The SSE items `body` consists of, in order, with each event's JSON as the translator parsed or built it (the
   * client stream's credential scrubber reads them instead of decoding `body` again). Only when `body` is exactly
   * these items' bytes; the JSON values may be changed by the reader, so they must not be reused.
   */
  readonly events?: readonly DecodedSseItem[];
}

export interface StreamTranslator {
  /** One chunk of the upstream body, split anywhere. */
  push(chunk: Uint8Array): StreamStep;
  /** End of the upstream body: flush, final usage chunk, `data: [DONE]`. */
  end(): StreamStep;
}

export interface Translator {
  /** Builds the upstream request. Throws GatewayError (422) for input the backend cannot take. */
  request(ctx: RequestContext): UpstreamRequest;
  /** Translates a complete, decoded 2xx body. */
  response(ctx: RequestContext, body: Uint8Array, headers: HeaderLookup): ResponseResult;
  /** Translates a complete, decoded non-2xx body into the client's error format. */
  error(ctx: RequestContext, status: number, body: Uint8Array, headers: HeaderLookup): ErrorResult;
  /** A fresh translator for one streamed 2xx response. */
  stream(ctx: RequestContext, headers: HeaderLookup): StreamTranslator;
  /** content-type the client receives for a stream (default text/event-stream). */
  readonly streamContentType?: string;
}

export interface TranslatorKey {
  readonly clientApi: ClientApi;
  readonly operation: Operation;
  readonly schema: BackendSchema;
}
