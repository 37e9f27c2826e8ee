/**
 * An in-process rate limit service with envoyproxy/ratelimit's counting rules (Redis fixed-window cache):
 * - hits per descriptor: the descriptor's hits_addend when present (0 allowed: check only, no increment),
 *   otherwise max(1, request hits_addend) (utils.GetHitsAddends);
 * - cache key: prefix + domain + "_" + (key + "_" + value + "_")... + windowStart, windowStart =
 *   floor(now / unit) * unit in seconds (limiter/cache_key.go);
 * - INCRBY key hits, then OVER_LIMIT when the value after the increment is strictly > requests_per_unit
 *   (limiter/base_limiter.go); limit_remaining = limit - value otherwise; duration_until_reset = unit - now % unit;
 * - descriptors without a configured limit are OK and count nothing; `unlimited` limits are OK with no counting;
 *   `shadow_mode` limits count but always answer OK.
 * The clock is injectable (milliseconds).
 */
import { RateLimitConfig, UNIT_SECONDS, type ConfiguredLimit, type RateLimitUnit } from './config.js';

export interface DescriptorEntry {
  readonly key: string;
  readonly value: string;
}

export interface RateLimitDescriptor {
  readonly entries: readonly DescriptorEntry[];
  /** Sent only when configured (so 0 is meaningful: check only). */
  readonly hitsAddend?: number;
}

export interface RateLimitRequest {
  readonly domain: string;
  readonly descriptors: readonly RateLimitDescriptor[];
  /** Request-level hits_addend (Envoy sends the filter-state value, or 0). */
  readonly hitsAddend?: number;
}

export type RateLimitCode = 'OK' | 'OVER_LIMIT';

export interface DescriptorStatus {
  readonly code: RateLimitCode;
  readonly currentLimit?: { readonly requestsPerUnit: number; readonly unit: RateLimitUnit; readonly name?: string };
  readonly limitRemaining: number;
  /** Seconds until the current window resets (present with currentLimit). */
  readonly durationUntilReset?: number;
}

export interface RateLimitResponse {
  readonly overallCode: RateLimitCode;
  readonly statuses: readonly DescriptorStatus[];
}

/** What the rate-limit filter calls (ShouldRateLimit). */
export interface RateLimitService {
  shouldRateLimit(request: RateLimitRequest): Promise<RateLimitResponse>;
}

export interface InProcessRateLimitServiceOptions {
  /** envoyproxy/ratelimit YAML config file(s), or a loaded config. */
  readonly config: string | readonly string[] | RateLimitConfig;
  /** Clock in milliseconds; default Date.now. */
  readonly now?: () => number;
  /** CACHE_KEY_PREFIX; default ''. */
  readonly cacheKeyPrefix?: string;
  /** STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT; default false. */
  readonly stopCacheKeyIncrementWhenOverlimit?: boolean;
}

export interface ServiceCall {
  readonly request: RateLimitRequest;
  readonly response: RateLimitResponse;
  /** Per descriptor: the hits added (0 when not counted). */
  readonly hits: readonly number[];
}

const UINT32_MAX = 0xffffffff;

export class InProcessRateLimitService implements RateLimitService {
  readonly config: RateLimitConfig;
  /** The "Redis" contents: cache key -> counter. */
  readonly store = new Map<string, number>();
  readonly calls: ServiceCall[] = [];
  private readonly now: () => number;
  private readonly prefix: string;
  private readonly stopIncrementWhenOverLimit: boolean;

  constructor(options: InProcessRateLimitServiceOptions) {
    this.config = options.config instanceof RateLimitConfig ? options.config : RateLimitConfig.fromYaml(options.config);
    this.now = options.now ?? Date.now;
    this.prefix = options.cacheKeyPrefix ?? '';
    this.stopIncrementWhenOverLimit = options.stopCacheKeyIncrementWhenOverlimit ?? false;
  }

  /** The cache key of a descriptor at a time, as envoyproxy/ratelimit builds it. */
  cacheKey(domain: string, entries: readonly DescriptorEntry[], unit: RateLimitUnit, nowMs = this.now()): string {
    const divider = UNIT_SECONDS[unit];
    const nowSeconds = Math.floor(nowMs / 1000);
    let key = `${this.prefix}${domain}_`;
    for (const entry of entries) key += `${entry.key}_${entry.value}_`;
    return key + String(Math.floor(nowSeconds / divider) * divider);
  }

  /** Current counter of a descriptor in the current window (0 when absent or no limit applies). */
  used(domain: string, entries: readonly DescriptorEntry[]): number {
    const limit = this.config.getLimit(domain, entries);
    if (!limit || limit.unlimited) return 0;
    return this.store.get(this.cacheKey(domain, entries, limit.unit)) ?? 0;
  }

  async shouldRateLimit(request: RateLimitRequest): Promise<RateLimitResponse> {
    if (request.domain === '') throw new Error('rate limit domain must not be empty');
    if (request.descriptors.length === 0) throw new Error('rate limit descriptor list must not be empty');
    const nowMs = this.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    const limits = request.descriptors.map((descriptor) => this.config.getLimit(request.domain, descriptor.entries));
    const hits = request.descriptors.map((descriptor) => hitsAddend(descriptor, request.hitsAddend ?? 0));
    const keys = request.descriptors.map((descriptor, index) => {
      const limit = limits[index];
      return limit && !limit.unlimited ? this.cacheKey(request.domain, descriptor.entries, limit.unit, nowMs) : undefined;
    });

    const skipIncrements = this.stopIncrementWhenOverLimit && keys.some((key, index) => {
      const limit = limits[index];
      return key !== undefined && limit !== undefined && (this.store.get(key) ?? 0) + (hits[index] ?? 0) > limit.requestsPerUnit;
    });

    const counted: number[] = [];
    const statuses = request.descriptors.map((_, index): DescriptorStatus => {
      const limit = limits[index];
      const key = keys[index];
      if (!limit) {
        counted.push(0);
        return { code: 'OK', limitRemaining: 0 };
      }
      if (limit.unlimited || key === undefined) {
        counted.push(0);
        return { code: 'OK', limitRemaining: UINT32_MAX };
      }
      const add = skipIncrements ? 0 : (hits[index] ?? 0);
      const after = (this.store.get(key) ?? 0) + add; // INCRBY
      this.store.set(key, after);
      counted.push(add);
      return statusFor(limit, skipIncrements ? after + (hits[index] ?? 0) : after, nowSeconds);
    });
    const response: RateLimitResponse = {
      overallCode: statuses.some((status) => status.code === 'OVER_LIMIT') ? 'OVER_LIMIT' : 'OK',
      statuses,
    };
    this.calls.push({ request, response, hits: counted });
    return response;
  }
}

function hitsAddend(descriptor: RateLimitDescriptor, requestHits: number): number {
  if (descriptor.hitsAddend !== undefined) return descriptor.hitsAddend;
  return Math.max(1, requestHits);
}

function statusFor(limit: ConfiguredLimit, after: number, nowSeconds: number): DescriptorStatus {
  const divider = UNIT_SECONDS[limit.unit];
  const currentLimit = { requestsPerUnit: limit.requestsPerUnit, unit: limit.unit, ...(limit.name ? { name: limit.name } : {}) };
  const durationUntilReset = divider - (nowSeconds % divider);
  if (after > limit.requestsPerUnit && !limit.shadowMode) {
    return { code: 'OVER_LIMIT', currentLimit, limitRemaining: 0, durationUntilReset };
  }
  const limitRemaining = after > limit.requestsPerUnit ? 0 : limit.requestsPerUnit - after;
  return { code: 'OK', currentLimit, limitRemaining, durationUntilReset };
}
