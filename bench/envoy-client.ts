/**
 * The bench's Envoy imitation: a gRPC client (proto-loader over proto/, like the baseline) that plays, per HTTP
 * request, the messages Envoy's two ext_proc filters send in the service's generated config
 * (src/envoy/ext-proc-filter.ts; order per /work/shared/docs/envoy-extproc-contract.md §1.3):
 *   router stream:   request_headers -> request_body (BUFFERED, whole body) -> [upstream stream] ->
 *                    response_headers -> response_body (BUFFERED: one message; STREAMED: one per chunk)
 *   upstream stream: request_headers with the backend attribute and the router's io.envoy.ai_gateway metadata
 *                    forwarded, then closed (body NONE, response headers SKIP).
 * Each message waits for its answer before the next goes out, as Envoy's BUFFERED mode does; streamed chunks are
 * sent one at a time, as an upstream that is slower than the ext_proc would deliver them. A stream ends as the
 * shipped Envoy config closes it (src/envoy/runtime.ts turns on ext_proc_graceful_grpc_close): half-close, then the
 * server's status. (Envoy's default close, half-close then reset, trips Node's HTTP/2 rapid-reset protection at
 * bench rates; see the contract §1.6.)
 */
import * as grpc from '@grpc/grpc-js';
import { extProcServiceDefinition } from '../src/server/proto.js';

export const METADATA_NAMESPACE = 'io.envoy.ai_gateway';
const BACKEND_ATTRIBUTE = "xds.upstream_host_metadata.filter_metadata['llm_extproc']['backend']";

/** google.protobuf.Struct in proto-loader form (protobufjs' well-known types are camelCase). */
interface StructValue {
  fields?: Record<string, { stringValue?: string; structValue?: StructValue; [kind: string]: unknown }>;
}
type Message = Record<string, unknown>;
export interface Answer {
  dynamic_metadata?: StructValue;
  immediate_response?: { status?: { code?: string }; details?: string; body?: Buffer };
  mode_override?: { response_body_mode?: string };
  [kind: string]: unknown;
}

/** One recorded HTTP exchange, as Envoy would see it. */
export interface Exchange {
  readonly requestHeaders: Readonly<Record<string, string>>;
  readonly requestBody: Buffer;
  /** The backend Envoy picked (the upstream host's filter_metadata llm_extproc.backend). */
  readonly backend: string;
  readonly responseHeaders: Readonly<Record<string, string>>;
  /** The upstream's body: one element is sent as one BUFFERED message, several as STREAMED chunks. */
  readonly responseBody: readonly Buffer[];
}

/** What one exchange took, in milliseconds (performance.now()). */
export interface ExchangeTiming {
  /** From the first router message to the last answer. */
  readonly totalMs: number;
  /** From response_headers sent to the first body chunk's answer (streams only). */
  readonly firstChunkMs: number | undefined;
  /** Answers received on both streams (4 + response chunks when every message was sent and answered). */
  readonly answers: number;
}

export type ExtProcClient = grpc.Client & { Process(): grpc.ClientDuplexStream<Message, Answer> };

/** Envoy's default HTTP/2 stream and connection window (source/common/http/http_option_limits.h: 256 MiB). */
export const ENVOY_HTTP2_WINDOW_BYTES = 256 * 1024 * 1024;

/** A client for envoy.service.ext_proc.v3.ExternalProcessor at host:port (the reflection-based client the stand-in uses). */
export function connect(address: string): ExtProcClient {
  const clientConstructor = extProcServiceDefinition.client();
  const options = {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    // Envoy's HTTP/2 receive windows (stream and connection) default to 256 MiB (Http2ProtocolOptions
    // initial_stream_window_size / initial_connection_window_size), and the configs `llm-extproc envoy` writes keep
    // them. grpc-js's client default is HTTP/2's 64 KiB, which would make a server wait for a WINDOW_UPDATE every
    // 64 KiB of a large answer where Envoy would not.
    'grpc-node.flow_control_window': ENVOY_HTTP2_WINDOW_BYTES,
  };
  return new clientConstructor(address, grpc.credentials.createInsecure(), options) as unknown as ExtProcClient;
}

/** One bidi stream: send a message, await the next answer. */
export class ExtProcStream {
  private readonly call: grpc.ClientDuplexStream<Message, Answer>;
  private readonly answers: Answer[] = [];
  private readonly waiters: Array<{ resolve: (answer: Answer) => void; reject: (error: Error) => void }> = [];
  private failure: Error | undefined;
  private readonly status: Promise<void>;

  constructor(client: ExtProcClient) {
    this.call = client.Process();
    this.status = new Promise((resolve) => this.call.on('status', () => resolve()));
    this.call.on('data', (answer: Answer) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(answer);
      else this.answers.push(answer);
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    };
    this.call.on('error', (error: Error) => fail(error));
    this.call.on('end', () => fail(new Error('ext_proc stream ended before answering')));
  }

  send(message: Message): Promise<Answer> {
    this.call.write(message);
    const ready = this.answers.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Graceful close: half-close; resolves with the server's status. */
  close(): Promise<void> {
    this.call.end();
    return this.status;
  }
}

/** Envoy's HeaderMap for a plain header record (raw_value bytes, as Envoy sends them). */
export function headerMap(headers: Readonly<Record<string, string>>): Message {
  return { headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })) };
}

/** Throws on an immediate response (an error the bench must not count as work done). */
function checked(answer: Answer, phase: string): Answer {
  if (answer.immediate_response) {
    const body = answer.immediate_response.body ? Buffer.from(answer.immediate_response.body).toString('utf8').slice(0, 300) : '';
    throw new Error(`immediate response at ${phase}: ${answer.immediate_response.status?.code ?? '?'} ${answer.immediate_response.details ?? ''} ${body}`);
  }
  return answer;
}

/** Merges an answer's io.envoy.ai_gateway metadata into what the router stream has written so far. */
function collectMetadata(into: Map<string, unknown>, answer: Answer): void {
  const namespace = answer.dynamic_metadata?.fields?.[METADATA_NAMESPACE]?.structValue;
  for (const [key, value] of Object.entries(namespace?.fields ?? {})) into.set(key, value);
}

/** Every answer of one exchange, by phase (the bench checks the service did the work it is measured for). */
export interface ExchangeAnswers {
  router: Answer[];
  upstream: Answer[];
}

/** Opens the router stream and sends the request side; resolves once the request body is answered. */
export async function openRouterStream(client: ExtProcClient, exchange: Exchange, answers: ExchangeAnswers = { router: [], upstream: [] }): Promise<{ stream: ExtProcStream; metadata: Map<string, unknown> }> {
  const stream = new ExtProcStream(client);
  const metadata = new Map<string, unknown>();
  const keep = (answer: Answer) => {
    answers.router.push(answer);
    return answer;
  };
  try {
    collectMetadata(metadata, keep(checked(await stream.send({ request_headers: { headers: headerMap(exchange.requestHeaders), end_of_stream: false } }), 'request_headers')));
    collectMetadata(metadata, keep(checked(await stream.send({ request_body: { body: exchange.requestBody, end_of_stream: true } }), 'request_body')));
  } catch (error) {
    void stream.close();
    throw error;
  }
  return { stream, metadata };
}

/**
 * Runs one whole exchange (router stream + one upstream stream); resolves with its timing. `answers` collects every
 * answer; the caller checks their number (3 + chunks on the router stream, 1 upstream).
 */
export async function runExchange(client: ExtProcClient, exchange: Exchange, answers: ExchangeAnswers = { router: [], upstream: [] }): Promise<ExchangeTiming> {
  const started = performance.now();
  const { stream: router, metadata } = await openRouterStream(client, exchange, answers);
  const closed: Array<Promise<void>> = [];
  try {
    const upstream = new ExtProcStream(client);
    try {
      const answer = checked(
        await upstream.send({
          request_headers: { headers: headerMap({ ...exchange.requestHeaders, 'x-envoy-attempt-count': '1' }), end_of_stream: false },
          attributes: { 'envoy.filters.http.ext_proc': { fields: { [BACKEND_ATTRIBUTE]: { stringValue: exchange.backend } } } },
          metadata_context: { filter_metadata: { [METADATA_NAMESPACE]: { fields: Object.fromEntries(metadata) } } },
        }),
        'upstream request_headers',
      );
      answers.upstream.push(answer);
    } finally {
      closed.push(upstream.close());
    }
    const headersSent = performance.now();
    const headersAnswer = checked(await router.send({ response_headers: { headers: headerMap(exchange.responseHeaders), end_of_stream: false } }), 'response_headers');
    answers.router.push(headersAnswer);
    let firstChunkMs: number | undefined;
    const chunks = exchange.responseBody;
    for (const [index, chunk] of chunks.entries()) {
      const bodyAnswer = checked(await router.send({ response_body: { body: chunk, end_of_stream: index === chunks.length - 1 } }), 'response_body');
      answers.router.push(bodyAnswer);
      if (index === 0 && chunks.length > 1) firstChunkMs = performance.now() - headersSent;
    }
    return { totalMs: performance.now() - started, firstChunkMs, answers: answers.router.length + answers.upstream.length };
  } finally {
    // The next exchange starts once both streams are finished, so none pile up behind the measured ones.
    closed.push(router.close());
    await Promise.all(closed);
  }
}
