/**
 * One downstream request inside the stand-in: its header map (shared by the router and every upstream
 * attempt, as in Envoy), body, dynamic metadata, ext_proc streams, record, and the downstream response
 * (local replies, resets, streaming writes). finalize() plays the filters' onDestroy.
 */
import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import type * as grpc from '@grpc/grpc-js';
import type { ProcessingMode, Struct } from '../../src/server/ext-proc-types.js';
import { ExtProcStream } from './ext-proc-stream.js';
import { HeaderMap, HOP_BY_HOP, type HeaderPair } from './header-map.js';
import type { FilterRequestView, RateLimitFilterHook } from './hooks.js';
import { localReplyHeaders, type LocalReply } from './local-reply.js';
import { mapLocalReply } from './local-reply-mapper.js';
import { MetadataStore } from './metadata.js';
import type { Route } from './routing.js';
import { newCounters, type CounterName, type Counters, type RequestRecord, type RetryOn } from './types.js';

/** Options with every default applied. */
export interface ResolvedOptions {
  config: import('../../src/config/load.js').RuntimeConfig;
  upstreams: Record<string, string>;
  messageTimeoutMs: number;
  maxMessageTimeoutMs: number;
  gracefulClose: boolean;
  remoteCloseTimeoutMs: number;
  retryOn: RetryOn;
  numRetries: number | undefined;
  rateLimit: RateLimitFilterHook | undefined;
  bufferLimitBytes: number;
  failureModeAllow: boolean;
  routeTimeoutMs: number;
  receivingNamespaces: string[];
  localReplyConfig: unknown;
}

export interface SharedState {
  options: ResolvedOptions;
  client: grpc.Client;
  agent: http.Agent;
  random: () => number;
  counters: Counters;
}

type MutableRecord = { -readonly [K in keyof RequestRecord]: RequestRecord[K] };

export class RequestContext {
  readonly record: MutableRecord;
  readonly metadata: MetadataStore;
  /** The downstream request header map; upstream attempts mutate it by reference. */
  readonly headers: HeaderMap;
  body: Buffer = Buffer.alloc(0);
  route: Route | undefined;
  /** A response has been committed (local reply, upstream response sent to the end, or reset). */
  finished = false;
  /** Downstream response headers have been written. */
  responseStarted = false;
  rateLimit: 'none' | 'pending' | 'done' = 'none';
  private readonly aborters = new Set<() => void>();
  private readonly streams: ExtProcStream[] = [];
  private readonly startedAt = performance.now();
  private finalized = false;
  private resolveDone: () => void = () => undefined;

  constructor(
    readonly shared: SharedState,
    readonly downstream: http.IncomingMessage,
    private readonly response: http.ServerResponse,
    id: number,
  ) {
    this.metadata = new MetadataStore(shared.options.receivingNamespaces);
    this.headers = buildRequestHeaders(downstream);
    const done = new Promise<void>((resolve) => (this.resolveDone = resolve));
    this.record = {
      id,
      method: downstream.method ?? 'GET',
      path: downstream.url ?? '/',
      status: undefined,
      responseCodeDetails: '',
      reset: false,
      metadata: this.metadata.data,
      routeName: undefined,
      routedHeaders: [],
      responseHeaders: [],
      attempts: [],
      extProcStreams: 0,
      streams: [],
      counters: newCounters(),
      timings: {},
      done,
    };
    response.on('close', () => {
      if (!this.finished) this.reset('downstream_remote_disconnect');
    });
  }

  elapsed(): number {
    return performance.now() - this.startedAt;
  }

  count(name: CounterName): void {
    this.record.counters[name] += 1;
    this.shared.counters[name] += 1;
  }

  newStream(level: 'router' | 'upstream', processingMode: ProcessingMode, attempt?: number, requestAttributes?: Struct): ExtProcStream {
    const { options } = this.shared;
    const stream = new ExtProcStream({
      client: this.shared.client,
      level,
      attempt,
      processingMode,
      allowModeOverride: true,
      messageTimeoutMs: options.messageTimeoutMs,
      maxMessageTimeoutMs: options.maxMessageTimeoutMs,
      gracefulClose: options.gracefulClose,
      remoteCloseTimeoutMs: options.remoteCloseTimeoutMs,
      failureModeAllow: options.failureModeAllow,
      requestAttributes,
      metadata: this.metadata,
      // The upstream-level filter forwards io.envoy.ai_gateway, where the router-level stream left its exchange id.
      forwardingNamespaces: level === 'upstream' ? ['io.envoy.ai_gateway'] : [],
      count: (name) => this.count(name),
      onOpen: (record) => {
        this.record.extProcStreams += 1;
        this.record.streams.push(record);
      },
      onLocalReply: (reply) => this.localReply(reply),
    });
    this.streams.push(stream);
    return stream;
  }

  /** Registers work to abort when the request ends early (an upstream request); returns an unregister. */
  onAbort(abort: () => void): () => void {
    this.aborters.add(abort);
    return () => this.aborters.delete(abort);
  }

  /** sendLocalReply: a reply while no response headers went out, otherwise a reset. */
  localReply(reply: LocalReply): void {
    if (this.finished) return;
    if (this.responseStarted) {
      this.reset(reply.details);
      return;
    }
    this.finished = true;
    this.record.responseCodeDetails = reply.details;
    this.abortAll();
    if (reply.status === 413) this.response.shouldKeepAlive = false;
    const mapped = this.mapReply(reply);
    this.writeHead(localReplyHeaders(mapped, (name) => this.count(name)));
    this.response.end(mapped.body);
    this.finalize();
  }

  /** local_reply_config, when the stand-in was given one (Envoy applies it before the reply goes out). */
  private mapReply(reply: LocalReply): LocalReply {
    const config = this.shared.options.localReplyConfig;
    if (config === undefined) return reply;
    const mapped = mapLocalReply(config, {
      status: reply.status,
      details: reply.details,
      body: reply.body.toString('utf8'),
      path: this.headers.get(':path') ?? this.record.path,
      method: this.record.method,
      flags: reply.flags ?? [],
      metadata: this.metadata.data,
    });
    if (!mapped) return reply;
    const body = Buffer.from(mapped.body, 'utf8');
    return { ...reply, body, ...(mapped.contentType === undefined ? {} : { contentType: mapped.contentType }) };
  }

  /** Resets the downstream stream (HTTP/1: the connection is closed). */
  reset(details: string): void {
    if (this.finished) return;
    this.finished = true;
    this.record.reset = true;
    this.record.responseCodeDetails = details;
    this.abortAll();
    this.response.destroy();
    this.downstream.socket?.destroy();
    this.finalize();
  }

  writeHead(headers: HeaderMap): void {
    this.responseStarted = true;
    headers.set('server', 'envoy');
    const status = Number(headers.get(':status') ?? '200');
    this.record.status = status;
    this.record.responseHeaders = headers.pairs();
    this.record.timings.firstByteDownstream ??= this.elapsed();
    const flat: string[] = [];
    for (const [name, value] of headers.pairs()) if (!name.startsWith(':')) flat.push(name, value);
    try {
      this.response.writeHead(status, flat);
      this.response.flushHeaders();
    } catch {
      // A value Envoy's codec accepts but node refuses (control characters): the stream cannot go on.
      this.reset('envoy_stand_in_unencodable_response_headers');
    }
  }

  write(chunk: Buffer): void {
    if (!this.finished && chunk.length > 0) this.response.write(chunk);
  }

  /** Ends a response that came from upstream. */
  end(details = 'via_upstream'): void {
    if (this.finished) return;
    this.finished = true;
    this.record.responseCodeDetails = details;
    this.response.end();
    this.finalize();
  }

  view(): FilterRequestView {
    return { headers: new Map(Object.entries(this.headers.toObject())), metadata: this.metadata.data, routeName: this.route?.name };
  }

  /** onDestroy of every filter: close ext_proc streams, charge the rate limit, freeze the record. */
  finalize(): void {
    if (this.finalized) return;
    this.finalized = true;
    for (const stream of this.streams) stream.destroy();
    if (this.rateLimit === 'done') this.shared.options.rateLimit?.onStreamDone(this.view());
    this.record.metadata = this.metadata.snapshot();
    this.record.timings.end = this.elapsed();
    this.resolveDone();
  }

  private abortAll(): void {
    for (const abort of [...this.aborters]) abort();
    this.aborters.clear();
  }
}

/** HCM's view of an HTTP/1 request: pseudo headers first, host -> :authority, x-request-id, x-forwarded-proto. */
function buildRequestHeaders(request: http.IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  headers.set(':authority', request.headers.host ?? '');
  headers.set(':path', request.url ?? '/');
  headers.set(':method', request.method ?? 'GET');
  headers.set(':scheme', 'http');
  const skip = new Set([...HOP_BY_HOP, 'host']);
  for (const [name, value] of HeaderMap.fromRaw(request.rawHeaders, skip)) headers.add(name, value);
  if (!headers.has('x-forwarded-proto')) headers.set('x-forwarded-proto', 'http');
  if (!headers.has('x-request-id')) headers.set('x-request-id', randomUUID());
  return headers;
}

export type { HeaderPair };
