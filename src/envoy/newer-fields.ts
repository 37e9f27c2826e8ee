/**
 * Envoy API fields the generated configs use that are newer than the Envoy API protos shipped in
 * @grpc/grpc-js-xds (deps/envoy-api, mid-2024). This is the one place they are listed. The proto validator
 * (test/envoy-config/validate.ts) adds them to the loaded protos by hand, so configs using them are still
 * checked strictly by name and type; a test fails when one of them turns up in the shipped protos (then
 * delete the entry).
 */

/** A field as declared in Envoy's API. `type` is a proto scalar ("bool", "string"...) or a full message name. */
export interface NewerFieldSpec {
  /** Field name (snake_case, as in YAML). */
  name: string;
  /** Field number in Envoy's proto. */
  id: number;
  type: string;
  repeated?: boolean;
}

export interface NewerField extends NewerFieldSpec {
  /** Full name of the message that gained the field. */
  message: string;
  /** Envoy release that introduced it. */
  since: string;
  /** Set when the field exists in the shipped protos with an older type that Envoy replaced. */
  replacesType?: string;
  /** Where it is documented. */
  reference: string;
}

export interface NewerMessage {
  /** Full name of the message (nested messages use their parent's name as prefix). */
  name: string;
  since: string;
  fields: NewerFieldSpec[];
  reference: string;
}

const ROUTE_COMPONENTS = 'api/envoy/config/route/v3/route_components.proto';
const RATE_LIMIT_FILTER = 'api/envoy/extensions/filters/http/ratelimit/v3/rate_limit.proto';

/** Messages that do not exist at all in the shipped protos. */
export const NEWER_MESSAGES: readonly NewerMessage[] = [
  {
    name: 'envoy.config.route.v3.RateLimit.HitsAddend',
    since: '1.33',
    reference: ROUTE_COMPONENTS,
    fields: [
      { name: 'number', id: 1, type: 'google.protobuf.UInt64Value' },
      { name: 'format', id: 2, type: 'string' },
    ],
  },
];

export const NEWER_FIELDS: readonly NewerField[] = [
  {
    message: 'envoy.config.route.v3.RateLimit',
    name: 'hits_addend',
    id: 5,
    type: 'envoy.config.route.v3.RateLimit.HitsAddend',
    since: '1.33',
    reference: ROUTE_COMPONENTS,
  },
  {
    message: 'envoy.config.route.v3.RateLimit',
    name: 'apply_on_stream_done',
    id: 6,
    type: 'bool',
    since: '1.33',
    reference: ROUTE_COMPONENTS,
  },
  {
    message: 'envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute',
    name: 'rate_limits',
    id: 3,
    type: 'envoy.config.route.v3.RateLimit',
    repeated: true,
    since: '1.33',
    replacesType: 'envoy.extensions.filters.http.ratelimit.v3.RateLimitConfig',
    reference: RATE_LIMIT_FILTER,
  },
];
