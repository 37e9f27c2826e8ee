/**
 * Public types of the Envoy stand-in: options, per-request records and counters.
 */
import type { RuntimeConfig } from '../../src/config/load.js';
import type { ProcessingRequest, ProcessingResponse } from '../../src/server/ext-proc-types.js';
import type { DynamicMetadata, RateLimitFilterHook } from './hooks.js';
import type { HeaderPair } from './header-map.js';

/** Envoy's ext_proc filter stats (http.<prefix>.ext_proc.*) that the stand-in keeps. */
export const COUNTER_NAMES = [
  'streams_started',
  'streams_closed',
  'streams_failed',
  'stream_msgs_sent',
  'stream_msgs_received',
  'spurious_msgs_received',
  'rejected_header_mutations',
  'clear_route_cache_ignored',
  'clear_route_cache_upstream_ignored',
  'message_timeouts',
  'override_message_timeout_received',
  'override_message_timeout_ignored',
  'failure_mode_allowed',
  'immediate_responses_sent',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counters = Record<CounterName, number>;

export function newCounters(): Counters {
  return Object.fromEntries(COUNTER_NAMES.map((name) => [name, 0])) as Counters;
}

/** route.retry_policy: which failures move to the next attempt. */
export interface RetryOn {
  /** connect-failure */
  connectFailure: boolean;
  /** 5xx: any 5xx status, and a reset/disconnect before response headers. */
  fiveXx: boolean;
  /** retriable-status-codes */
  statusCodes: number[];
}

export interface EnvoyOptions {
  /** The service's config: models, backends, envoy.upstreamFilter. */
  config: RuntimeConfig;
  /** ext_proc gRPC target: '127.0.0.1:PORT' or 'unix:/path'. */
  extProc: string;
  /** Where each backend's traffic really goes (like DNS): backend name -> 'http://127.0.0.1:PORT'. */
  upstreams: Record<string, string>;
  /** ext_proc message_timeout; default 10000 as in the shipped config (Envoy's own default is 200). */
  messageTimeoutMs?: number;
  /** ext_proc max_message_timeout; default 0, which makes override_message_timeout ignored. */
  maxMessageTimeoutMs?: number;
  /** Runtime flag envoy.reloadable_features.ext_proc_graceful_grpc_close; default false. */
  gracefulClose?: boolean;
  /** envoy.filters.http.ext_proc.remote_close_timeout_milliseconds; default 1000. */
  remoteCloseTimeoutMs?: number;
  /** Default: connect-failure, 5xx and 429. */
  retryOn?: Partial<RetryOn>;
  /** num_retries; default: one retry per further priority of the route (at least 1). */
  numRetries?: number;
  /** The rate-limit filter between the router-level ext_proc and the router. */
  rateLimit?: RateLimitFilterHook;
  /** Per-request buffer limit; default 50 MiB. Over it: 413 request side, 500 response side. */
  bufferLimitBytes?: number;
  /** ext_proc failure_mode_allow; default false. */
  failureModeAllow?: boolean;
  /** Seed for the weighted choice within a priority; default 1. */
  seed?: number;
  /** Route timeout; default 300000. 0 disables it (and the x-envoy-expected-rq-timeout-ms header). */
  routeTimeoutMs?: number;
  /** metadata_options.receiving_namespaces.untyped; default ['io.envoy.ai_gateway']. */
  receivingNamespaces?: string[];
  /** HCM local_reply_config (as src/envoy/local-reply.ts generates it); default none: local replies keep Envoy's text. */
  localReplyConfig?: unknown;
}

export interface AttemptRecord {
  /** 1-based attempt number (x-envoy-attempt-count). */
  attempt: number;
  backend: string;
  /** Upstream response status, when one arrived. */
  status: number | undefined;
  /** Why the attempt produced no response, if it did not. */
  failure: 'connect_failure' | 'reset' | 'local_reply' | 'timeout' | undefined;
  /** Headers as sent upstream (pseudo headers included), a snapshot at send time. */
  requestHeaders: HeaderPair[];
  requestBody: Buffer | undefined;
  /** Id of this attempt's upstream-level ext_proc stream, when one was opened. */
  extProcStreamId: number | undefined;
}

export interface ExtProcStreamRecord {
  id: number;
  level: 'router' | 'upstream';
  attempt: number | undefined;
  sent: ProcessingRequest[];
  received: ProcessingResponse[];
  /** How the stand-in closed it: reset right after half-close, graceful half-close, or ended by the server. */
  close: 'reset' | 'graceful' | 'graceful-timeout' | 'server' | undefined;
  /** Final gRPC status seen by the client, if any. */
  grpcStatus: { code: number; details: string } | undefined;
}

export interface RequestRecord {
  id: number;
  method: string;
  path: string;
  /** Downstream status sent, undefined when the stream was reset before response headers. */
  status: number | undefined;
  /** %RESPONSE_CODE_DETAILS%: via_upstream, direct_response, ext_proc_error_..., request_payload_too_large... */
  responseCodeDetails: string;
  /** The downstream stream was reset (late immediate response, client disconnect). */
  reset: boolean;
  /** Dynamic metadata (receiving namespaces only), final at stream end. */
  metadata: DynamicMetadata;
  routeName: string | undefined;
  /** Request headers after the router-level ext_proc request phase (what routing saw). */
  routedHeaders: HeaderPair[];
  /** Response headers as sent downstream (:status first). */
  responseHeaders: HeaderPair[];
  attempts: AttemptRecord[];
  /** ext_proc streams opened for this request (router + upstream). */
  extProcStreams: number;
  streams: ExtProcStreamRecord[];
  counters: Counters;
  /** Milliseconds since the request arrived. */
  timings: { requestPhaseDone?: number; upstreamHeaders?: number; firstByteDownstream?: number; end?: number };
  /** Resolves when all bookkeeping (stream closes, rate-limit stream-done) is finished. */
  readonly done: Promise<void>;
}

export interface EnvoyStandIn {
  readonly url: string;
  readonly port: number;
  readonly requests: RequestRecord[];
  /** Counters summed over every request. */
  readonly counters: Counters;
  /** Waits until every request seen so far is done. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export type { DynamicMetadata, HeaderPair };
