/**
 * `npm run bench`: llm-extproc against a no-op ext_proc server measured in the same run, over the same
 * gRPC client and message sequence (router stream: headers, body, response headers, response body; one
 * upstream stream per request). Prints throughput and memory ratios; no thresholds (the machine is noisy).
 * Tracing: the service as shipped has none (no OTEL_* variables); a second one traces every request (100 %
 * sampling) into an exporter that discards the spans, which measures making them, not sending them.
 */
import * as grpc from '@grpc/grpc-js';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '../src/logging.js';
import { extProcServiceDefinition } from '../src/server/proto.js';
import type { ProcessingRequest, ProcessingResponse } from '../src/server/ext-proc-types.js';
import { connectExtProc, ExtProcTestStream, gatewayMetadata, headerMap } from '../test/helpers/ext-proc-client.js';
import { startTestService } from '../test/helpers/service.js';

const CONFIG = `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-bench } } }
  - { name: claude, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: sk-bench } } }
models:
  - { name: gpt-4o-mini, backends: [{ backend: openai }] }
  - { name: claude, backends: [{ backend: claude, modelNameOverride: claude-sonnet-4-5 }] }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken }
`;

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

/** A no-op ext_proc: answers every message with an empty answer of the same case. */
async function startNoop(): Promise<{ address: string; close(): void }> {
  const server = new grpc.Server();
  server.addService(extProcServiceDefinition.service(), {
    Process: (call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
      call.on('data', (message: ProcessingRequest) => {
        const kind = message.request;
        if (kind) call.write({ [kind]: kind.endsWith('trailers') ? {} : { response: {} } } as ProcessingResponse);
      });
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
  return { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

const chatBody = (model: string, stream: boolean) =>
  Buffer.from(JSON.stringify({ model, stream, messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say hello in five words. '.repeat(20) }], max_tokens: 64 }));
const openAIStream = [
  'data: {"id":"c","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n',
  ...Array.from({ length: 20 }, (_, index) => `data: {"id":"c","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"word${index} "}}]}\n\n`),
  'data: {"id":"c","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":20,"total_tokens":140}}\n\ndata: [DONE]\n\n',
];
const anthropicStream = [
  'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"claude-sonnet-4-5","usage":{"input_tokens":120,"output_tokens":1}}}\n\n',
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
  ...Array.from({ length: 20 }, (_, index) => `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word${index} "}}\n\n`),
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":20}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
];

async function oneRequest(client: grpc.Client, model: string, chunks: string[]): Promise<void> {
  const router = new ExtProcTestStream(client);
  const headersAnswer = await router.send({ request_headers: { headers: headerMap({ ':path': '/v1/chat/completions', ':method': 'POST', 'content-type': 'application/json' }) } });
  await router.send({ request_body: { body: chatBody(model, true), end_of_stream: true } });
  const id = gatewayMetadata(headersAnswer)['llm_extproc_exchange_id'];
  const upstream = new ExtProcTestStream(client);
  await upstream.send({
    request_headers: { headers: headerMap({ ':path': '/v1/chat/completions', ':method': 'POST' }) },
    attributes: { 'envoy.filters.http.ext_proc': { fields: { "xds.upstream_host_metadata.filter_metadata['llm_extproc']['backend']": { stringValue: model === 'claude' ? 'claude' : 'openai' } } } },
    metadata_context: { filter_metadata: { 'io.envoy.ai_gateway': { fields: { llm_extproc_exchange_id: { stringValue: typeof id === 'string' ? id : '' } } } } },
  });
  upstream.close(true);
  await router.send({ response_headers: { headers: headerMap({ ':status': '200', 'content-type': 'text/event-stream' }) } });
  for (const [index, chunk] of chunks.entries()) {
    await router.send({ response_body: { body: Buffer.from(chunk), end_of_stream: index === chunks.length - 1 } });
  }
  router.close(true);
}

async function measure(name: string, address: string, model: string, chunks: string[]): Promise<{ name: string; rps: number; heapMb: number }> {
  const client = connectExtProc(address);
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      next += 1;
      await oneRequest(client, model, chunks);
    }
  };
  for (let warm = 0; warm < 50; warm += 1) await oneRequest(client, model, chunks);
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  client.close();
  return { name, rps: REQUESTS / seconds, heapMb };
}

// The service as it ships: createService from a config file on disk, with the shipped components.
const server = await startTestService({ configYaml: CONFIG, logger: createLogger({ level: 'silent' }) });
let spansMade = 0;
const discard: SpanExporter = {
  export(spans: ReadableSpan[], done) {
    spansMade += spans.length;
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
};
const traced = await startTestService({ configYaml: CONFIG, logger: createLogger({ level: 'silent' }), spanExporter: discard });
const noop = await startNoop();
const cases: Array<[string, string, string, string[]]> = [
  ['no-op ext_proc (baseline)', noop.address, 'gpt-4o-mini', openAIStream],
  ['llm-extproc OpenAI passthrough stream', server.address, 'gpt-4o-mini', openAIStream],
  ['  same, tracing on (100 % sampled)', traced.address, 'gpt-4o-mini', openAIStream],
  ['llm-extproc Anthropic-translated stream', server.address, 'claude', anthropicStream],
  ['  same, tracing on (100 % sampled)', traced.address, 'claude', anthropicStream],
];
// Rounds interleave the cases so drift on a noisy machine hits them alike; the median round is reported.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const rounds: Array<Array<{ name: string; rps: number; heapMb: number }>> = cases.map(() => []);
for (let round = 0; round < ROUNDS; round += 1) {
  for (const [index, [name, address, model, chunks]] of cases.entries()) rounds[index]?.push(await measure(name, address, model, chunks));
}
const median = (values: Array<{ name: string; rps: number; heapMb: number }>) => [...values].sort((a, b) => a.rps - b.rps)[Math.floor(values.length / 2)] as { name: string; rps: number; heapMb: number };
const results = rounds.map(median);
const baseline = results[0]?.rps ?? 1;
console.log(`requests per case and round: ${REQUESTS}, rounds: ${ROUNDS} (median shown), concurrency: ${CONCURRENCY}, node ${process.version}`);
for (const result of results) {
  console.log(`${result.name.padEnd(42)} ${result.rps.toFixed(0).padStart(7)} req/s  ratio vs baseline ${(result.rps / baseline).toFixed(2)}  heap delta ${result.heapMb.toFixed(1)} MiB`);
}
console.log(`spans made by the traced service: ${spansMade}`);
noop.close();
await server.drain(1000);
await traced.drain(1000);
// stdout to a pipe or file is written asynchronously: let it drain before exiting.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
process.exit(0);
