/**
 * The route table: one route per model on `x-ai-eg-model` (router-only mode: per model and backend, also on
 * `x-ai-eg-backend`), retries for fallback, and a catch-all 404 in OpenAI's error shape.
 */
import type { RuntimeConfig } from '../config/load.js';
import { openAIErrorBody } from '../core/errors.js';
import { backendClusterName, modelClusterNames } from './clusters.js';
import { rateLimitPolicies } from './ratelimit.js';
import type { EnvoySettings } from './settings.js';
import { BACKEND_HEADER, FILTER, MODEL_HEADER, typeUrl, type JsonObject } from './types.js';

export const NOT_FOUND_BODY = openAIErrorBody({
  status: 404,
  message: 'model not found: the request names no configured model (set "model" to one listed by GET /v1/models)',
  type: 'invalid_request_error',
  code: 'model_not_found',
});

/** Fallback: retry failed attempts, moving to the next priority and to hosts not tried yet. */
export function retryPolicy(settings: EnvoySettings, acrossPriorities: boolean): JsonObject {
  const retryOn = settings.retryOn.filter((condition) => condition !== 'retriable-status-codes' || settings.retriableStatusCodes.length > 0);
  const policy: JsonObject = {
    retry_on: retryOn.join(','),
    num_retries: settings.numRetries,
    per_try_timeout: settings.perTryTimeout,
    host_selection_retry_max_attempts: 5,
    retry_host_predicate: [
      {
        name: 'envoy.retry_host_predicates.previous_hosts',
        typed_config: { '@type': typeUrl('envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate') },
      },
    ],
  };
  if (retryOn.includes('retriable-status-codes')) policy['retriable_status_codes'] = [...settings.retriableStatusCodes];
  if (acrossPriorities) {
    policy['retry_priority'] = {
      name: 'envoy.retry_priorities.previous_priorities',
      typed_config: {
        '@type': typeUrl('envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig'),
        update_frequency: 1,
      },
    };
  }
  return policy;
}

function routeAction(cluster: string, settings: EnvoySettings, acrossPriorities: boolean): JsonObject {
  return {
    cluster,
    auto_host_rewrite: true,
    timeout: settings.requestTimeout,
    idle_timeout: settings.streamIdleTimeout,
    retry_policy: retryPolicy(settings, acrossPriorities),
  };
}

function exact(name: string, value: string): JsonObject {
  return { name, string_match: { exact: value } };
}

function withRateLimit(route: JsonObject, config: RuntimeConfig, settings: EnvoySettings, model: string): JsonObject {
  if (settings.rateLimit) route['typed_per_filter_config'] = { [FILTER.rateLimit]: rateLimitPolicies(config, model) };
  return route;
}

export function routes(config: RuntimeConfig, settings: EnvoySettings): JsonObject[] {
  const table: JsonObject[] = [];
  if (settings.upstreamFilter) {
    const clusters = modelClusterNames(config);
    for (const model of config.models.keys()) {
      const route: JsonObject = {
        name: `model:${model}`,
        match: { prefix: '/', headers: [exact(MODEL_HEADER, model)] },
        route: routeAction(clusters.get(model) ?? model, settings, true),
      };
      table.push(withRateLimit(route, config, settings, model));
    }
  } else {
    for (const model of config.models.values()) {
      for (const backend of new Set(model.backends.map((ref) => ref.backend))) {
        const route: JsonObject = {
          name: `model:${model.name}:backend:${backend}`,
          match: { prefix: '/', headers: [exact(MODEL_HEADER, model.name), exact(BACKEND_HEADER, backend)] },
          route: routeAction(backendClusterName(backend), settings, false),
        };
        table.push(withRateLimit(route, config, settings, model.name));
      }
    }
  }
  table.push({
    name: 'not-found',
    match: { prefix: '/' },
    direct_response: { status: 404, body: { inline_string: NOT_FOUND_BODY } },
    response_headers_to_add: [{ header: { key: 'content-type', value: 'application/json' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
  });
  return table;
}
