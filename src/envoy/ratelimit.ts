/**
 * Token budgets, Envoy side (docs/token-budgets.md): the rate-limit filter after the router-level ext_proc, and per route a
 * RateLimitPerRoute whose descriptors check (or reserve) in the request phase and charge when the stream is done.
 *
 * Descriptor per cost key: (cost=<metadataKey>, tenant=<tenant header>, model=<client model name>). A request
 * without the tenant header skips that entry, so it is charged to the shared (cost, model) budget.
 */
import type { RuntimeConfig } from '../config/load.js';
import { openAIErrorBody } from '../core/errors.js';
import type { RateLimitSettings } from './settings.js';
import { FILTER, metadataFormat, RATE_LIMIT_CLUSTER, typeUrl, type JsonObject } from './types.js';

/** Descriptor keys; the envoyproxy/ratelimit config nests its descriptors in this order. */
export const DESCRIPTOR_KEYS = { cost: 'cost', tenant: 'tenant', model: 'model' } as const;
export const DEFAULT_TENANT_HEADER = 'x-tenant-id';
/** Suffix of the metadata key holding the request-phase estimate of a `reserve: true` cost. */
export const RESERVE_SUFFIX = '_reserve';

export interface CostKeyPolicy {
  /** The cost's metadataKey. */
  key: string;
  /** true when an in-scope cost entry for this key sets reserve: true. */
  reserve: boolean;
}

/** The distinct cost keys charged for requests to a model, respecting each entry's models/backends scope. */
export function costKeysForModel(config: RuntimeConfig, modelName: string): CostKeyPolicy[] {
  const model = config.models.get(modelName);
  const modelBackends = new Set((model?.backends ?? []).map((ref) => ref.backend));
  const keys = new Map<string, CostKeyPolicy>();
  for (const cost of config.costs) {
    if (cost.models && !cost.models.includes(modelName)) continue;
    if (cost.backends && !cost.backends.some((name) => modelBackends.has(name))) continue;
    const entry = keys.get(cost.metadataKey) ?? { key: cost.metadataKey, reserve: false };
    entry.reserve ||= cost.reserve;
    keys.set(cost.metadataKey, entry);
  }
  return [...keys.values()];
}

function descriptorActions(key: string, tenantHeader: string, modelName: string): JsonObject[] {
  return [
    { generic_key: { descriptor_key: DESCRIPTOR_KEYS.cost, descriptor_value: key } },
    { request_headers: { header_name: tenantHeader, descriptor_key: DESCRIPTOR_KEYS.tenant, skip_if_absent: true } },
    { generic_key: { descriptor_key: DESCRIPTOR_KEYS.model, descriptor_value: modelName } },
  ];
}

/**
 * RateLimitPerRoute for one model's route (Envoy proto JSON, snake_case, with its "@type").
 * Per cost key: a request-phase descriptor that reserves `<key>_reserve` (reserve: true) or only checks
 * (`hits_addend: {number: 0}`), and a stream-done descriptor charging `<key>` from the final metadata.
 */
export function rateLimitPolicies(config: RuntimeConfig, modelName: string): JsonObject {
  const tenantHeader = (config.file.envoy.rateLimit?.tenantHeader ?? DEFAULT_TENANT_HEADER).toLowerCase();
  const rateLimits: JsonObject[] = [];
  for (const { key, reserve } of costKeysForModel(config, modelName)) {
    const actions = descriptorActions(key, tenantHeader, modelName);
    rateLimits.push({
      actions,
      hits_addend: reserve ? { format: metadataFormat(`${key}${RESERVE_SUFFIX}`) } : { number: 0 },
    });
    rateLimits.push({
      actions: descriptorActions(key, tenantHeader, modelName),
      hits_addend: { format: metadataFormat(key) },
      apply_on_stream_done: true,
    });
  }
  return {
    '@type': typeUrl('envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute'),
    rate_limits: rateLimits,
  };
}

/** envoy.filters.http.ratelimit: gRPC to the rate-limit service, x-ratelimit-* headers on responses. */
export function rateLimitFilter(settings: RateLimitSettings): JsonObject {
  return {
    name: FILTER.rateLimit,
    typed_config: {
      '@type': typeUrl('envoy.extensions.filters.http.ratelimit.v3.RateLimit'),
      domain: settings.domain,
      failure_mode_deny: settings.failureModeDeny,
      timeout: settings.timeout,
      enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
      rate_limit_service: {
        grpc_service: { envoy_grpc: { cluster_name: RATE_LIMIT_CLUSTER } },
        transport_api_version: 'V3',
      },
    },
  };
}

/** What a client whose token budget is spent is told. */
export const RATE_LIMITED_MESSAGE = 'token budget exceeded for this tenant and model; retry after the x-ratelimit-reset seconds';

/** The body of the 429 Envoy answers when a budget is spent, in OpenAI's error shape. */
export const RATE_LIMITED_BODY = openAIErrorBody({
  status: 429,
  message: RATE_LIMITED_MESSAGE,
  type: 'rate_limit_error',
  code: 'rate_limit_exceeded',
});
