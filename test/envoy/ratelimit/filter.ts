/**
 * envoy.filters.http.ratelimit for the Envoy stand-in (source/extensions/filters/http/ratelimit/ratelimit.cc):
 * - request phase: descriptors from the route's RateLimitPerRoute policies with apply_on_stream_done false;
 *   no descriptor -> no call; OVER_LIMIT -> overLimit with status 429 (the stand-in's local reply adds
 *   x-envoy-ratelimited); a service error fails open unless failure_mode_deny (then status_on_error, 500);
 * - x-ratelimit-limit/remaining/reset (DRAFT_VERSION_03) from the descriptor status with the least remaining,
 *   on the 429 and on the upstream response alike;
 * - stream done: descriptors from the apply_on_stream_done policies with the final metadata, sent
 *   fire-and-forget (the answer is ignored).
 * The per-route domain (RateLimitPerRoute.domain) overrides the filter's.
 */
import type { FilterRequestView, RateLimitDecision, RateLimitFilterHook } from '../hooks.js';
import { UNIT_SECONDS } from './config.js';
import { buildDescriptor, compilePolicy, RateLimitPolicyError, type CompiledPolicy } from './descriptors.js';
import type { DescriptorStatus, RateLimitDescriptor, RateLimitRequest, RateLimitResponse, RateLimitService } from './service.js';

export interface RateLimitFilterOptions {
  /** The filter's domain. */
  readonly domain: string;
  /** RateLimitPerRoute JSON (snake_case proto JSON) per route name. */
  readonly policies: Readonly<Record<string, unknown>>;
  readonly service: RateLimitService;
  /** failure_mode_deny; default false (fail open). */
  readonly failureModeDeny?: boolean;
  /** status_on_error; default 500. */
  readonly statusOnError?: number;
  /** rate_limited_status; default 429. */
  readonly rateLimitedStatus?: number;
  /** enable_x_ratelimit_headers; default DRAFT_VERSION_03 (as the shipped config sets it). */
  readonly xRateLimitHeaders?: 'DRAFT_VERSION_03' | 'OFF';
  /** Service call timeout (Envoy's default is 20 ms); default none, so slow CI machines do not fail open. */
  readonly timeoutMs?: number;
}

export interface FilterCall {
  readonly phase: 'request' | 'stream_done';
  readonly routeName: string | undefined;
  readonly request: RateLimitRequest;
  readonly response?: RateLimitResponse;
  readonly error?: string;
}

export interface RateLimitFilter extends RateLimitFilterHook {
  /** Every call made to the service, in order. */
  readonly calls: FilterCall[];
  /** Resolves when every stream-done call sent so far has been answered (or failed). */
  flush(): Promise<void>;
}

interface RoutePolicies {
  readonly domain: string | undefined;
  readonly policies: readonly CompiledPolicy[];
}

function compileRoutes(policies: Readonly<Record<string, unknown>>): Map<string, RoutePolicies> {
  const routes = new Map<string, RoutePolicies>();
  for (const [routeName, perRoute] of Object.entries(policies)) {
    if (typeof perRoute !== 'object' || perRoute === null) throw new RateLimitPolicyError(`route ${routeName}: RateLimitPerRoute must be an object`);
    const spec = perRoute as Record<string, unknown>;
    const rateLimits = Array.isArray(spec.rate_limits) ? spec.rate_limits : [];
    try {
      routes.set(routeName, {
        domain: typeof spec.domain === 'string' && spec.domain !== '' ? spec.domain : undefined,
        policies: rateLimits.map(compilePolicy),
      });
    } catch (error) {
      throw new RateLimitPolicyError(`route ${routeName}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return routes;
}

/** XRateLimitHeaderUtils::create: the status with the least remaining gives limit, remaining and reset. */
export function xRateLimitHeaders(statuses: readonly DescriptorStatus[]): Record<string, string> {
  let least: DescriptorStatus | undefined;
  let quotaPolicy = '';
  for (const status of statuses) {
    const limit = status.currentLimit;
    if (!limit) continue;
    if (!least || status.limitRemaining < least.limitRemaining) least = status;
    const window = limit.unit === 'WEEK' ? 0 : UNIT_SECONDS[limit.unit];
    if (window) quotaPolicy += `, ${limit.requestsPerUnit};w=${window}${limit.name ? `;name="${limit.name}"` : ''}`;
  }
  if (!least?.currentLimit) return {};
  return {
    'x-ratelimit-limit': `${least.currentLimit.requestsPerUnit}${quotaPolicy}`,
    'x-ratelimit-remaining': String(least.limitRemaining),
    'x-ratelimit-reset': String(least.durationUntilReset ?? 0),
  };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (timeoutMs === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('rate limit service timeout')), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Creates the filter; throws RateLimitPolicyError for a config Envoy would reject. */
export function createRateLimitFilter(options: RateLimitFilterOptions): RateLimitFilter {
  const routes = compileRoutes(options.policies);
  const calls: FilterCall[] = [];
  const pending = new Set<Promise<void>>();
  const headersEnabled = (options.xRateLimitHeaders ?? 'DRAFT_VERSION_03') === 'DRAFT_VERSION_03';

  function descriptorsFor(view: FilterRequestView, onStreamDone: boolean): { domain: string; descriptors: RateLimitDescriptor[] } | undefined {
    const route = view.routeName === undefined ? undefined : routes.get(view.routeName);
    if (!route) return undefined;
    const descriptors: RateLimitDescriptor[] = [];
    for (const policy of route.policies) {
      if (policy.applyOnStreamDone !== onStreamDone) continue;
      const descriptor = buildDescriptor(policy, { headers: view.headers, metadata: view.metadata });
      if (descriptor) descriptors.push(descriptor);
    }
    return descriptors.length === 0 ? undefined : { domain: route.domain ?? options.domain, descriptors };
  }

  return {
    calls,
    async onRequest(view: FilterRequestView): Promise<RateLimitDecision> {
      const built = descriptorsFor(view, false);
      if (!built) return { overLimit: false };
      const request: RateLimitRequest = { domain: built.domain, descriptors: built.descriptors, hitsAddend: 0 };
      let response: RateLimitResponse;
      try {
        response = await withTimeout(options.service.shouldRateLimit(request), options.timeoutMs);
      } catch (error) {
        calls.push({ phase: 'request', routeName: view.routeName, request, error: error instanceof Error ? error.message : String(error) });
        return options.failureModeDeny ? { overLimit: true, status: options.statusOnError ?? 500 } : { overLimit: false };
      }
      calls.push({ phase: 'request', routeName: view.routeName, request, response });
      const responseHeaders: Record<string, string> = headersEnabled ? xRateLimitHeaders(response.statuses) : {};
      if (response.overallCode !== 'OVER_LIMIT') return { overLimit: false, responseHeaders };
      return { overLimit: true, status: options.rateLimitedStatus ?? 429, responseHeaders };
    },
    onStreamDone(view: FilterRequestView): void {
      const built = descriptorsFor(view, true);
      if (!built) return;
      const request: RateLimitRequest = { domain: built.domain, descriptors: built.descriptors, hitsAddend: 0 };
      const call = options.service.shouldRateLimit(request).then(
        (response) => {
          calls.push({ phase: 'stream_done', routeName: view.routeName, request, response });
        },
        (error: unknown) => {
          calls.push({ phase: 'stream_done', routeName: view.routeName, request, error: error instanceof Error ? error.message : String(error) });
        },
      );
      pending.add(call);
      void call.finally(() => pending.delete(call));
    },
    async flush(): Promise<void> {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
