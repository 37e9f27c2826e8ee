/**
 * The config file's shape. This is the product's interface: extend it compatibly, never rename.
 * Validation of cross-references (model -> backend, duplicate names, secrets) lives in load.ts.
 */
import { z } from 'zod';
import { isCredentialKey } from '../logging.js';

export const SCHEMAS = [
  'OpenAI',
  'AzureOpenAI',
  'Anthropic',
  'AWSBedrock',
  'AWSAnthropic',
  'GCPVertexAI',
  'GCPAnthropic',
  'GoogleAI',
] as const;
export type BackendSchema = (typeof SCHEMAS)[number];

export const COST_TYPES = [
  'InputToken',
  'CachedInputToken',
  'CacheCreationInputToken',
  'OutputToken',
  'ReasoningToken',
  'TotalToken',
  'CEL',
] as const;
export type CostType = (typeof COST_TYPES)[number];

/** A secret is read from the environment, a file, or given inline. */
export const SecretSchema = z.union([
  /** optional: an unset variable leaves the credential empty (clients bring their own key) instead of failing. */
  z.object({ env: z.string().min(1), optional: z.boolean().optional() }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
  z.object({ value: z.string().min(1) }).strict(),
]);
export type SecretRef = z.infer<typeof SecretSchema>;

const HeaderName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid HTTP header name');

const AwsAuthSchema = z
  .object({
    /** AWS region, e.g. us-east-1. */
    region: z.string().min(1),
    /** Access key id; with secretAccessKey, else the default credential chain. */
    accessKeyId: SecretSchema.optional(),
    /** Secret access key. */
    secretAccessKey: SecretSchema.optional(),
    /** Session token for temporary credentials. */
    sessionToken: SecretSchema.optional(),
  })
  .strict();

const GcpAuthSchema = z
  .object({
    /** Google Cloud project id. */
    projectId: z.string().min(1),
    /** Google Cloud region, e.g. us-central1. */
    region: z.string().min(1),
    /** An OAuth2 access token (a {file} secret is re-read when it changes). */
    accessToken: SecretSchema.optional(),
    /** Service-account or workload-identity credentials file; neither this nor accessToken: application default credentials. */
    credentialsFile: z.string().min(1).optional(),
  })
  .strict();

export const AuthSchema = z
  .object({
    /** Authorization: Bearer <key> */
    apiKey: SecretSchema.optional(),
    /** x-api-key: <key> */
    anthropicApiKey: SecretSchema.optional(),
    /** api-key: <key> */
    azureApiKey: SecretSchema.optional(),
    /** Authorization: Bearer <token> for Azure (Entra ID); a {file} secret is re-read when it changes. */
    azureAccessToken: SecretSchema.optional(),
    /** x-goog-api-key: <key> (GoogleAI) */
    googleApiKey: SecretSchema.optional(),
    /** AWS SigV4 signing (AWSBedrock, AWSAnthropic); without keys the default credential chain is used. */
    aws: AwsAuthSchema.optional(),
    /** Google Cloud OAuth2 (GCPVertexAI, GCPAnthropic): project, region and token source. */
    gcp: GcpAuthSchema.optional(),
  })
  .strict();
export type AuthConfig = z.infer<typeof AuthSchema>;

export const BackendSchemaZ = z
  .object({
    /** Unique name; models refer to it, and metadata reports it as backend_name. */
    name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-"'),
    /** The API the backend speaks; llm-extproc translates client requests to it. */
    schema: z.enum(SCHEMAS),
    /** Where Envoy sends this backend's traffic: scheme://host[:port] */
    endpoint: z
      .string()
      .regex(/^https?:\/\/[^/\s?#]+$/, 'must be scheme://host[:port] with no path'),
    /** OpenAI-style path prefix. */
    prefix: z.string().regex(/^(\/[^\s?#]*)?$/, 'must start with "/"').default('/v1'),
    /** Azure OpenAI api-version, or the anthropic_version for AWSAnthropic/GCPAnthropic. */
    apiVersion: z.string().min(1).optional(),
    /** Credentials llm-extproc adds (at most one method); without auth, client credential headers pass through. */
    auth: AuthSchema.optional(),
    /** Request headers to set or remove for this backend. */
    headers: z
      .object({
        /** Headers to set, overwriting what the client sent. */
        set: z.record(HeaderName, z.string()).default({}),
        /** Headers to remove. */
        remove: z.array(HeaderName).default([]),
      })
      .strict()
      .default({ set: {}, remove: [] }),
    /** Set false for OpenAI-compatible servers that reject stream_options. */
    streamOptions: z.boolean().default(true),
  })
  .strict();
export type BackendConfig = z.infer<typeof BackendSchemaZ>;

export const ModelBackendRefSchema = z
  .object({
    /** Name of a backend. */
    backend: z.string().min(1),
    /** Model name sent to this backend instead of the client's. */
    modelNameOverride: z.string().min(1).optional(),
    /** Fallback order: lower first; a higher priority is tried when the lower ones fail. */
    priority: z.number().int().min(0).default(0),
    /** Share of traffic within its priority; 0 takes the backend out. */
    weight: z.number().int().min(0).default(1),
    /**
     * Claude models: send `top_p` together with `temperature` (keep) or only `temperature` (drop). Default: drop for
     * the models documented to refuse the pair (Claude 4.5 and later), keep for the others.
     */
    topPWithTemperature: z.enum(['keep', 'drop']).optional(),
    /**
     * Gemini models: tool parameters and structured output as JSON Schema (`parametersJsonSchema`,
     * `responseJsonSchema`) or in the OpenAPI subset (`parameters`, `responseSchema`). Default: openapi for ids
     * naming Gemini 1.x or 2.0, json-schema for the others.
     */
    geminiSchemaFields: z.enum(['json-schema', 'openapi']).optional(),
  })
  .strict();
export type ModelBackendRef = z.infer<typeof ModelBackendRefSchema>;

export const ModelSchema = z
  .object({
    /** What clients put in "model". */
    name: z.string().min(1),
    /** Backends serving the model. */
    backends: z.array(ModelBackendRefSchema).min(1),
    /** Largest max_tokens (max_completion_tokens, max_output_tokens) a request for this model may ask for; overrides limits.maxOutputTokens. */
    maxOutputTokens: z.number().int().positive().optional(),
  })
  .strict();
export type ModelConfig = z.infer<typeof ModelSchema>;

export const CostSchema = z
  .object({
    /** Dynamic metadata key the number is written under. */
    metadataKey: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier'),
    /** What is counted. */
    type: z.enum(COST_TYPES),
    /** CEL expression, for type CEL. */
    cel: z.string().min(1).optional(),
    /** Limit this cost to these models (client model names). */
    models: z.array(z.string().min(1)).optional(),
    /** Limit this cost to these backends. */
    backends: z.array(z.string().min(1)).optional(),
    /** Write <metadataKey>_reserve in the request phase and settle at the end. */
    reserve: z.boolean().default(false),
  })
  .strict();
export type CostConfig = z.infer<typeof CostSchema>;

/** An Envoy duration: seconds with an "s" suffix ("30s", "0.5s"), as Envoy's YAML takes it. */
const DURATION_HINT = 'expected a duration in seconds such as "30s" or "0.5s"';
export const EnvoyDuration = z.string({ invalid_type_error: DURATION_HINT }).regex(/^\d{1,6}(\.\d{1,9})?s$/, DURATION_HINT);

/** Seconds in an EnvoyDuration string. */
export function envoyDurationSeconds(text: string): number {
  return Number(text.slice(0, -1));
}

/** Envoy's retry_on conditions (x-envoy-retry-on values) that make sense for LLM traffic. */
export const ENVOY_RETRY_ON = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'refused-stream',
  'retriable-4xx',
  'retriable-status-codes',
  'envoy-ratelimited',
] as const;

/** Span attribute vocabularies (observability.tracing.conventions). */
export const TRACE_CONVENTIONS = ['genai', 'openinference'] as const;
export type TraceConventions = (typeof TRACE_CONVENTIONS)[number];

/** Labels the GenAI metrics have already (a request-header label must not take one of these names). */
const RESERVED_LABELS: ReadonlySet<string> = new Set([
  'gen_ai_operation_name',
  'gen_ai_provider_name',
  'gen_ai_request_model',
  'gen_ai_response_model',
  'gen_ai_token_type',
  'usage_estimated',
  'error_type',
  'le',
  'quantile',
]);

export const ConfigSchema = z
  .object({
    /** Providers Envoy can send traffic to. */
    backends: z.array(BackendSchemaZ).default([]),
    /** Model names clients may request, each with its backends in fallback order. */
    models: z.array(ModelSchema).default([]),
    /** Usage numbers written as Envoy dynamic metadata (namespace io.envoy.ai_gateway) for rate limits and access logs. */
    costs: z.array(CostSchema).default([]),
    /** How llm-extproc is attached to Envoy, and the Envoy config `llm-extproc envoy` generates. */
    envoy: z
      .object({
        /** true: translate per upstream attempt (dual attachment); false: router-level only. */
        upstreamFilter: z.boolean().default(true),
        /**
         * Needs Envoy 1.37 or later. true: the upstream-level ext_proc filter also sends each attempt's response
         * headers (response_header_mode SEND), so attempt spans carry the attempt's status and why it was retried
         * (status_503, reset_or_timeout). On Envoy 1.36 an upstream ext_proc filter that processes response headers
         * breaks retries on 5xx, so it is off by default. Needs upstreamFilter: true.
         */
        attemptResponseHeaders: z.boolean().default(false),
        // The fields below only shape the Envoy config `llm-extproc envoy` generates (src/envoy/).
        /** Port of the Envoy listener that clients call. */
        listenPort: z.number().int().min(1).max(65535).default(10000),
        /** Address the Envoy listener binds. */
        listenAddress: z.string().min(1).default('0.0.0.0'),
        /** Port of Envoy's admin interface, which always binds 127.0.0.1. */
        adminPort: z.number().int().min(1).max(65535).default(9901),
        /** Where Envoy reaches llm-extproc: host:port or unix:/path (the --extproc flag overrides it). */
        extProcAddress: z.string().min(1).default('127.0.0.1:1063'),
        /** ext_proc message_timeout: how long Envoy waits for each answer; at least 10s (Envoy's 200 ms default times out MB-sized bodies). */
        messageTimeout: EnvoyDuration.refine((text) => envoyDurationSeconds(text) >= 10, 'must be at least 10s').default('30s'),
        /** Envoy retry_on conditions that fall back to the next attempt (next priority). */
        retryOn: z.array(z.enum(ENVOY_RETRY_ON)).default(['connect-failure', 'refused-stream', 'reset', '5xx', 'retriable-status-codes']),
        /** Upstream statuses retried when retryOn has retriable-status-codes (429: the provider is rate limiting). */
        retriableStatusCodes: z.array(z.number().int().min(100).max(599)).default([429]),
        /** Retries after the first attempt. */
        numRetries: z.number().int().min(0).max(10).default(2),
        /**
         * Time allowed for each attempt until the response starts (ignored once bytes reached the client). A
         * non-streamed call sends nothing until it finishes, so this must exceed the longest generation; lower it
         * only for streaming-only routes, as a first-token failover.
         */
        perTryTimeout: EnvoyDuration.default('600s'),
        /** Route timeout for the whole response, retries included; 0s disables it (long generations). */
        requestTimeout: EnvoyDuration.default('0s'),
        /**
         * Route idle timeout: an attempt with no bytes for this long is reset (and retried before the first byte).
         * It also runs while a non-streamed call generates, so keep it above the longest generation.
         */
        streamIdleTimeout: EnvoyDuration.default('600s'),
        /** CA bundle Envoy uses to verify https backends. */
        caFile: z.string().min(1).default('/etc/ssl/certs/ca-certificates.crt'),
        /** Token budgets with Envoy's rate-limit filter and envoyproxy/ratelimit; absent: no rate-limit filter. */
        rateLimit: z
          .object({
            /** Rate-limit domain (the `domain:` of the envoyproxy/ratelimit config). */
            domain: z.string().min(1).default('llm-extproc'),
            /** Request header naming the tenant; a request without it is charged to the shared per-model budget. */
            tenantHeader: HeaderName.default('x-tenant-id'),
            /** true: answer 500 when the rate-limit service fails; false: let the request through. */
            failureModeDeny: z.boolean().default(false),
            /** Where Envoy reaches the rate-limit service (gRPC): host:port or unix:/path (the --ratelimit flag overrides it). */
            address: z.string().min(1).default('127.0.0.1:8081'),
            /** Time Envoy waits for the rate-limit service in the request phase. */
            timeout: EnvoyDuration.default('0.1s'),
          })
          .strict()
          .optional(),
        /** OpenTelemetry tracing in Envoy itself (an OTLP/gRPC collector); absent: Envoy does not trace. */
        tracing: z
          .object({
            /** Where Envoy sends its spans (OTLP over gRPC): host:port or unix:/path. */
            address: z.string().min(1),
            /** service.name of Envoy's spans. */
            serviceName: z.string().min(1).default('llm-gateway-envoy'),
            /** Share of requests Envoy starts a trace for, in percent (a client's sampled traceparent is always followed). */
            samplingPercent: z.number().min(0).max(100).default(100),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({ upstreamFilter: true }),
    /** Traces, request-header labels and the per-request log line (OTEL_* variables turn tracing itself on). */
    observability: z
      .object({
        /** What goes into the span of each LLM request (the tracer itself is configured by OTEL_* variables). */
        tracing: z
          .object({
            /** Attribute vocabulary: OpenTelemetry GenAI conventions, or OpenInference (Phoenix, Arize). LLM_EXTPROC_TRACE_CONVENTIONS overrides it. */
            conventions: z.enum(TRACE_CONVENTIONS).default('genai'),
            /** Record prompts and completions in spans (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true does too). Credentials never are. */
            captureContent: z.boolean().default(false),
            /** Cap, in characters, of each recorded prompt or completion. */
            maxContentChars: z.number().int().min(16).max(1_048_576).default(8192),
          })
          .strict()
          .default({ conventions: 'genai', captureContent: false, maxContentChars: 8192 }),
        /** Request headers copied to span attributes and to the GenAI metrics as labels (e.g. x-tenant-id -> tenant). */
        requestHeaders: z
          .array(
            z
              .object({
                /** The request header to read. Credential headers are refused. */
                header: HeaderName.refine((name) => !isCredentialKey(name), 'is a credential header and is never recorded'),
                /** Metric label and span attribute name. */
                name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name').refine((name) => !RESERVED_LABELS.has(name) && !name.startsWith('__'), 'is a label the metrics already use'),
                /** Distinct values kept per label; later ones are reported as "other" (a missing header as ""). */
                maxValues: z.number().int().min(1).max(1000).default(20),
              })
              .strict(),
          )
          .default([])
          .refine((entries) => new Set(entries.map((entry) => entry.name)).size === entries.length, 'names must be unique'),
        /** Log one line at info when each request completes: id, model, backend, status, tokens, duration, time to first token. */
        completionLog: z.boolean().default(false),
      })
      .strict()
      .default({}),
    /** Size and count limits that keep one request's memory and CPU bounded; each has a safe default. */
    limits: z
      .object({
        /** Largest request body accepted end to end; larger gets 413. */
        maxRequestBodyBytes: z
          .number()
          .int()
          .positive()
          .default(32 * 1024 * 1024),
        /**
         * Largest non-streamed upstream answer the service reads whole (it must be parsed), measured after
         * decompression; larger gets 502. Envoy's buffers and the gRPC message limit are sized from
         * maxRequestBodyBytes, so raise that too when raising this above it.
         */
        maxResponseBodyBytes: z
          .number()
          .int()
          .positive()
          .default(32 * 1024 * 1024),
        /**
         * Largest an upstream body may grow to while it is decompressed (gzip, deflate, br), streamed or not, in
         * total; inflating stops as soon as it is passed (502, or an error event in a stream).
         */
        maxDecompressedBodyBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024),
        /**
         * Largest single server-sent event or AWS event-stream frame of an upstream stream; larger ends the stream with
         * an error event. One event is parsed at once (~10 ms per MiB), so this also bounds how long it holds up other
         * requests; raise it for models that stream big base64 images in one event.
         */
        maxStreamEventBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        /** Most messages one request may carry; more gets 400. */
        maxMessages: z.number().int().positive().default(100_000),
        /** Most tool (and legacy function) declarations one request may carry; more gets 400. */
        maxTools: z.number().int().positive().default(1024),
        /**
         * Most content parts one request may carry, summed over every message (content arrays, tool results,
         * system blocks) and input or prompt arrays; more gets 400.
         */
        maxContentParts: z.number().int().positive().default(100_000),
        /**
         * Largest max_tokens, max_completion_tokens or max_output_tokens a request may ask for; more gets 400
         * before anything is reserved or forwarded. A model's own maxOutputTokens overrides it.
         */
        maxOutputTokens: z.number().int().positive().default(1_000_000),
        /**
         * Ceiling for any one token count written as metadata or recorded in metrics (reported by an upstream,
         * counted locally or reserved), and for every cost value (a CEL result included). Counts that are
         * negative, fractional, not numbers or above it are clamped, costs above it are capped, and the metadata
         * carries usage_clamped: true.
         */
        maxTokenCount: z.number().int().positive().default(1_000_000_000),
      })
      .strict()
      .default({ maxRequestBodyBytes: 32 * 1024 * 1024 }),
    /** The request-phase estimate of costs that set reserve: true. */
    reserve: z
      .object({
        /** Expected output size as a fraction of max_tokens (or max_completion_tokens). */
        outputFraction: z.number().min(0).max(1).default(0.25),
        /** Expected output tokens when the request sets no max_tokens. */
        defaultOutputTokens: z.number().int().min(0).default(256),
      })
      .strict()
      .default({ outputFraction: 0.25, defaultOutputTokens: 256 }),
  })
  .strict();
export type ConfigInput = z.input<typeof ConfigSchema>;
export type ConfigFile = z.infer<typeof ConfigSchema>;
