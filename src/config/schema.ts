/**
 * The config file's shape. This is the product's interface: extend it compatibly, never rename.
 * Validation of cross-references (model -> backend, duplicate names, secrets) lives in load.ts.
 */
import { z } from 'zod';

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
    region: z.string().min(1),
    accessKeyId: SecretSchema.optional(),
    secretAccessKey: SecretSchema.optional(),
    sessionToken: SecretSchema.optional(),
  })
  .strict();

const GcpAuthSchema = z
  .object({
    projectId: z.string().min(1),
    region: z.string().min(1),
    accessToken: SecretSchema.optional(),
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
    aws: AwsAuthSchema.optional(),
    gcp: GcpAuthSchema.optional(),
  })
  .strict();
export type AuthConfig = z.infer<typeof AuthSchema>;

export const BackendSchemaZ = z
  .object({
    name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-"'),
    schema: z.enum(SCHEMAS),
    /** Where Envoy sends this backend's traffic: scheme://host[:port] */
    endpoint: z
      .string()
      .regex(/^https?:\/\/[^/\s?#]+$/, 'must be scheme://host[:port] with no path'),
    /** OpenAI-style path prefix. */
    prefix: z.string().regex(/^(\/[^\s?#]*)?$/, 'must start with "/"').default('/v1'),
    /** Azure OpenAI api-version, or the anthropic_version for AWSAnthropic/GCPAnthropic. */
    apiVersion: z.string().min(1).optional(),
    auth: AuthSchema.optional(),
    headers: z
      .object({
        set: z.record(HeaderName, z.string()).default({}),
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
    backend: z.string().min(1),
    modelNameOverride: z.string().min(1).optional(),
    priority: z.number().int().min(0).default(0),
    weight: z.number().int().min(0).default(1),
  })
  .strict();
export type ModelBackendRef = z.infer<typeof ModelBackendRefSchema>;

export const ModelSchema = z
  .object({
    name: z.string().min(1),
    backends: z.array(ModelBackendRefSchema).min(1),
  })
  .strict();
export type ModelConfig = z.infer<typeof ModelSchema>;

export const CostSchema = z
  .object({
    metadataKey: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier'),
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

export const ConfigSchema = z
  .object({
    backends: z.array(BackendSchemaZ).default([]),
    models: z.array(ModelSchema).default([]),
    costs: z.array(CostSchema).default([]),
    envoy: z
      .object({
        /** true: translate per upstream attempt (dual attachment); false: router-level only. */
        upstreamFilter: z.boolean().default(true),
      })
      .strict()
      .default({ upstreamFilter: true }),
    limits: z
      .object({
        /** Largest request body accepted end to end; larger gets 413. */
        maxRequestBodyBytes: z
          .number()
          .int()
          .positive()
          .default(32 * 1024 * 1024),
      })
      .strict()
      .default({ maxRequestBodyBytes: 32 * 1024 * 1024 }),
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
