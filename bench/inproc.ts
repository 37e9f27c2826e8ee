/**
 * The service's own JavaScript per exchange, in process and without gRPC: the Process handler the server registers
 * (src/server/ext-proc-service.ts) is driven with decoded messages and its answers are encoded with the service's
 * codec, so decode, processing and encode are measured and the transport is not. For finding where the service's
 * CPU goes between `npm run bench` runs; the ratios against the baseline come from `npm run bench` only.
 *
 *   node --import tsx bench/inproc.ts [--only openai-2k,openai-stream] [--n 2000] [--concurrency 16]
 *   node --cpu-prof --cpu-prof-dir /tmp/p --import tsx bench/inproc.ts --only openai-stream
 *   node --expose-gc --import tsx bench/inproc.ts --only openai-2k --hold 2000 [--snapshot FILE]
 *
 * --hold N opens N router streams (request headers and body answered) and keeps them open, then prints the heap
 * held per stream (the service's own objects, without grpc-js's); --snapshot writes a heap snapshot at that point.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { createComponents } from '../src/components.js';
import { preloadEncoders } from '../src/costs/tokenizer.js';
import { createLogger } from '../src/logging.js';
import { createService, type StartExtProcServer } from '../src/service.js';
import { createProcessHandler, type ProcessCall } from '../src/server/ext-proc-service.js';
import { decodeProcessingRequest, encodeProcessingRequest, encodeProcessingResponse } from '../src/server/ext-proc-codec.js';
import { ExchangeRegistry } from '../src/server/exchange.js';
import type { ProcessingRequest, ProcessingResponse } from '../src/server/ext-proc-types.js';
import { BENCH_CONFIG, buildExchanges, type ExchangeName } from './exchanges.js';
import { headerMap, type Exchange } from './envoy-client.js';

const METADATA_NAMESPACE = 'io.envoy.ai_gateway';
const BACKEND_ATTRIBUTE = "xds.upstream_host_metadata.filter_metadata['llm_extproc']['backend']";

type Handler = (call: ProcessCall) => void;

/** A Process call as the handler sees it: 'data' in, write() out, 'end' for Envoy's half-close. */
class FakeCall extends EventEmitter {
  cancelled = false;
  readonly metadata = { get: () => [] };
  private waiting: ((answer: ProcessingResponse) => void) | undefined;
  private readonly ended: Promise<void>;
  private resolveEnded!: () => void;
  bytesOut = 0;

  constructor() {
    super();
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  write(answer: ProcessingResponse): boolean {
    this.bytesOut += encodeProcessingResponse(answer).length;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(answer);
    return true;
  }

  end(): void {
    this.resolveEnded();
  }

  destroy(error: Error): void {
    throw error;
  }

  /** Sends an encoded message (encoding is Envoy's work, not the service's: done once per exchange kind). */
  send(bytes: Buffer): Promise<ProcessingResponse> {
    const decoded = decodeProcessingRequest(bytes);
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.emit('data', decoded);
    });
  }

  close(): Promise<void> {
    this.emit('end');
    return this.ended;
  }
}


function metadataOf(answer: ProcessingResponse, into: Record<string, unknown>): void {
  const fields = (answer.dynamic_metadata?.fields?.[METADATA_NAMESPACE] as { structValue?: { fields?: Record<string, unknown> } } | undefined)?.structValue?.fields;
  Object.assign(into, fields ?? {});
}

/** Each exchange kind's router messages, encoded once: [request headers, body, -, response headers, chunks...]. */
const encodedByExchange = new WeakMap<Exchange, Buffer[]>();

async function runExchange(handler: Handler, exchange: Exchange): Promise<void> {
  let messages = encodedByExchange.get(exchange);
  const first = messages === undefined;
  messages ??= [];
  const at = (index: number, build: () => object) => (messages[index] ??= encodeProcessingRequest(build() as ProcessingRequest));
  const router = new FakeCall();
  handler(router as unknown as ProcessCall);
  const metadata: Record<string, unknown> = {};
  metadataOf(await router.send(at(0, () => ({ request_headers: { headers: headerMap(exchange.requestHeaders), end_of_stream: false } }))), metadata);
  metadataOf(await router.send(at(1, () => ({ request_body: { body: exchange.requestBody, end_of_stream: true } }))), metadata);
  const upstream = new FakeCall();
  handler(upstream as unknown as ProcessCall);
  // Carries the router stream's exchange id in its metadata: encoded per exchange (a small message).
  await upstream.send(
    encodeProcessingRequest({
      request_headers: { headers: headerMap({ ...exchange.requestHeaders, 'x-envoy-attempt-count': '1' }), end_of_stream: false },
      attributes: { 'envoy.filters.http.ext_proc': { fields: { [BACKEND_ATTRIBUTE]: { stringValue: exchange.backend } } } },
      metadata_context: { filter_metadata: { [METADATA_NAMESPACE]: { fields: metadata } } },
    } as unknown as ProcessingRequest),
  );
  await upstream.close();
  const answer = await router.send(at(3, () => ({ response_headers: { headers: headerMap(exchange.responseHeaders), end_of_stream: false } })));
  if (answer.immediate_response) throw new Error('immediate response');
  const chunks = exchange.responseBody;
  for (const [index, chunk] of chunks.entries()) await router.send(at(4 + index, () => ({ response_body: { body: chunk, end_of_stream: index === chunks.length - 1 } })));
  await router.close();
  if (first) encodedByExchange.set(exchange, messages);
}

/** Opens `count` router streams through the request body and holds them; prints the heap kept per stream. */
async function holdStreams(handler: Handler, exchange: Exchange, count: number, snapshot: string | undefined): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('--hold needs node --expose-gc');
  const open = async () => {
    const call = new FakeCall();
    handler(call as unknown as ProcessCall);
    await call.send(encodeProcessingRequest({ request_headers: { headers: headerMap(exchange.requestHeaders), end_of_stream: false } } as ProcessingRequest));
    await call.send(encodeProcessingRequest({ request_body: { body: exchange.requestBody, end_of_stream: true } } as ProcessingRequest));
    return call;
  };
  await Promise.all(Array.from({ length: 50 }, open).map(async (call) => (await call).close()));
  gc();
  const before = process.memoryUsage().heapUsed;
  const held: FakeCall[] = [];
  for (let index = 0; index < count; index += 1) held.push(await open());
  gc();
  const after = process.memoryUsage().heapUsed;
  console.log(`${count} held streams: ${((after - before) / count / 1024).toFixed(2)} KiB of heap per stream`);
  if (snapshot !== undefined) console.log(`heap snapshot: ${writeHeapSnapshot(snapshot)}`);
  await Promise.all(held.map((call) => call.close()));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, n: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '16' }, hold: { type: 'string' }, snapshot: { type: 'string' } },
  });
  const dir = mkdtempSync(join(tmpdir(), 'llm-extproc-inproc-'));
  const configPath = join(dir, 'config.yaml');
  writeFileSync(configPath, BENCH_CONFIG);
  let handler: Handler | undefined;
  const startServer: StartExtProcServer = async (options) => {
    // As the gRPC server does before its first request (both encodings the bench config's models use): built on
    // the first count instead, the ~300 ms build would land in a measured run and in its profile.
    preloadEncoders();
    handler = createProcessHandler(
      { configStore: options.configStore, registry: new ExchangeRegistry(), metrics: options.metrics, logger: options.logger, translators: options.translators, tracing: options.tracing },
      { add: () => {}, delete: () => {} },
    );
    return { address: 'in-process', drain: async () => {}, forceClose: () => {} };
  };
  const service = await createService({
    configPath,
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    admin: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    env: process.env,
    logger: createLogger({ level: 'warn' }),
    components: createComponents(),
    watch: false,
    startServer,
  });
  const exchanges = buildExchanges();
  const names = (values.only?.split(',') ?? Object.keys(exchanges)) as ExchangeName[];
  const total = Number(values.n);
  const concurrency = Number(values.concurrency);
  if (values.hold !== undefined) {
    for (const name of names) await holdStreams(handler as Handler, exchanges[name], Number(values.hold), values.snapshot);
    await service.close();
    return;
  }
  for (const name of names) {
    const exchange = exchanges[name];
    const chunks = exchange.responseBody.length;
    const count = Math.max(concurrency, Math.round(chunks > 1 ? total / 10 : total));
    const run = async (n: number) => {
      let next = 0;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < n) {
          next += 1;
          await runExchange(handler as Handler, exchange);
        }
      }));
    };
    await run(Math.max(concurrency, Math.round(count / 4)));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run(count);
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    const us = (cpu.user + cpu.system) / count;
    console.log(`${name.padEnd(18)} ${count} exchanges: ${us.toFixed(0)} µs CPU per exchange${chunks > 1 ? `, ${(us / chunks).toFixed(1)} µs per chunk` : ''} (wall ${(wall * 1000 / count).toFixed(0)} µs)`);
  }
  await service.close();
}

await main();
