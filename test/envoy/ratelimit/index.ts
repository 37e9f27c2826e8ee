/**
 * Rate limiting for the Envoy stand-in: the envoy.filters.http.ratelimit filter and an in-process
 * envoyproxy/ratelimit service (fixed windows, INCRBY, over limit when the count exceeds the limit).
 */
export { RateLimitConfig, RateLimitConfigError, UNIT_SECONDS, type ConfiguredLimit, type RateLimitUnit } from './config.js';
export { buildDescriptor, compilePolicy, RateLimitPolicyError, type CompiledPolicy, type DescriptorInput } from './descriptors.js';
export { createRateLimitFilter, xRateLimitHeaders, type FilterCall, type RateLimitFilter, type RateLimitFilterOptions } from './filter.js';
export {
  InProcessRateLimitService,
  type DescriptorEntry,
  type DescriptorStatus,
  type InProcessRateLimitServiceOptions,
  type RateLimitCode,
  type RateLimitDescriptor,
  type RateLimitRequest,
  type RateLimitResponse,
  type RateLimitService,
  type ServiceCall,
} from './service.js';
