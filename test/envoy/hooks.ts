/**
 * Extension points of the Envoy stand-in. The rate-limit filter (envoy.filters.http.ratelimit) plugs in here:
 * it sits after the router-level ext_proc filter and before the router, as in the shipped Envoy config.
 */

/** Dynamic metadata of one downstream request: namespace -> key -> value (protobuf Struct as plain JSON). */
export type DynamicMetadata = Record<string, Record<string, unknown>>;

export interface FilterRequestView {
  /** Request headers as the filter sees them (lower-case names), after the router-level ext_proc answers. */
  readonly headers: ReadonlyMap<string, string>;
  /** The request's dynamic metadata at this moment (live view). */
  readonly metadata: DynamicMetadata;
  /** Name of the route chosen (the model name, or the backend name in router-only mode), if any. */
  readonly routeName: string | undefined;
}

export interface RateLimitDecision {
  readonly overLimit: boolean;
  /** Local-reply status when overLimit: 429 (rate_limited_status) by default; status_on_error (500) for a denied error. */
  readonly status?: number;
  /** Headers added to the downstream response (x-ratelimit-*), in both cases. */
  readonly responseHeaders?: Readonly<Record<string, string>>;
}

export interface RateLimitFilterHook {
  /** Request phase (decodeHeaders). The stand-in answers 429 when overLimit. */
  onRequest(view: FilterRequestView): Promise<RateLimitDecision>;
  /** Stream done (onDestroy): fire-and-forget charge with the final metadata. Only called when onRequest ran. */
  onStreamDone(view: FilterRequestView): void;
}
