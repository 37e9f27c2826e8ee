/**
 * Micro-benchmark of the hand-written ext_proc codec (src/server/ext-proc-codec.ts) on representative answers
 * (built with answer()/HeaderChanges as the processors build them) and requests: ns per message, best of several
 * runs. Cheap enough for a shared machine (one core, a few seconds):
 *
 *   node --import tsx bench/codec-micro.ts [--runs 5] [--ms 300]
 */
import { decodeProcessingRequest, encodeProcessingRequest, encodeProcessingResponse } from '../src/server/ext-proc-codec.js';
import { answer, STREAMED_RESPONSE_MODE } from '../src/server/responses.js';
import { HeaderChanges } from '../src/server/headers.js';
import type { ProcessingRequest, ProcessingResponse } from '../src/server/ext-proc-types.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const RUNS = option('runs', 5);
const MS = option('ms', 300);

const costs = { llm_input_token: 0, llm_output_token: 0, llm_total_token: 0, llm_cached_input_token: 0, llm_cost_usd_micros: 0 };
const finalMetadata = {
  llm_input_token: 1843, llm_output_token: 212, llm_total_token: 2055, llm_cached_input_token: 0, llm_cost_usd_micros: 6123,
  backend_name: 'openai', model_name_override: 'gpt-4o-2024-08-06', usage_estimated: false, response_status: 200, error_type: '_OTHER',
};
const requestBody = Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(1900) }], stream: true }));

const encodes: Array<[string, () => ProcessingResponse]> = [
  ['request_headers + 5 cost keys', () => answer('request_headers', { metadata: costs })],
  ['request_body: 4 headers, 2k body, 7 keys', () => answer('request_body', {
    headers: new HeaderChanges().set('x-ai-eg-model', 'gpt-4o').set('x-ai-eg-selected-backend', 'openai').set('authorization', 'Bearer sk-proj-abcdefghijklmnopqrstuvwxyz0123456789').set('content-length', String(requestBody.length)).remove('x-api-key'),
    body: requestBody, clearRouteCache: true, metadata: { ...costs, backend_name: 'openai', model_name_override: 'gpt-4o-2024-08-06' },
  })],
  ['response_headers + mode_override', () => answer('response_headers', { headers: new HeaderChanges().remove('content-length'), modeOverride: STREAMED_RESPONSE_MODE })],
  ['response_body chunk, passthrough', () => answer('response_body')],
  ['response_body chunk + 10 keys', () => answer('response_body', { metadata: finalMetadata })],
  ['response_trailers + 10 keys', () => answer('response_trailers', { metadata: finalMetadata })],
];

function headerMap(pairs: Record<string, string>) {
  return { headers: Object.entries(pairs).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) };
}
const decodes: Array<[string, ProcessingRequest]> = [
  ['request_headers, 14 headers', { request_headers: { headers: headerMap({
    ':authority': 'gateway.example.com', ':path': '/v1/chat/completions', ':method': 'POST', ':scheme': 'https',
    'content-type': 'application/json', 'content-length': String(requestBody.length), authorization: 'Bearer sk-proj-abcdefghijklmnopqrstuvwxyz',
    'user-agent': 'OpenAI/Python 1.40.0', accept: 'application/json', 'x-request-id': '2f1c1e0e-7a4b-4b0f-9d0e-5c8c3f2a9b71',
    'x-forwarded-proto': 'https', 'x-envoy-internal': 'true', 'x-forwarded-for': '10.0.0.1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  }) }, metadata_context: { filter_metadata: { 'io.envoy.ai_gateway': { fields: { llm_extproc_exchange_id: { stringValue: 'x-123456' } } } } } }],
  ['request_body 2k', { request_body: { body: requestBody, end_of_stream: true } }],
  ['response_body chunk 200 B', { response_body: { body: Buffer.from(`data: ${JSON.stringify({ id: 'chatcmpl-1', choices: [{ delta: { content: 'hello there' } }] }).padEnd(190)}\n\n`), end_of_stream: false } }],
];

function measure(fn: () => void): number {
  // Batches of 1000 until MS have passed; ns per call.
  let calls = 0;
  const start = process.hrtime.bigint();
  const stop = start + BigInt(MS) * 1_000_000n;
  let now = start;
  while (now < stop) {
    for (let index = 0; index < 1000; index += 1) fn();
    calls += 1000;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / calls;
}

let sink = 0;
const rows: Array<[string, number[]]> = [];
for (const [name, build] of encodes) {
  const message = build();
  const bytes = encodeProcessingResponse(message).length;
  rows.push([`encode ${name} (${bytes} B)`, Array.from({ length: RUNS }, () => measure(() => { sink += encodeProcessingResponse(message).length; }))]);
}
for (const [name, request] of decodes) {
  const bytes = encodeProcessingRequest(request);
  rows.push([`decode ${name} (${bytes.length} B)`, Array.from({ length: RUNS }, () => measure(() => { sink += decodeProcessingRequest(bytes) === undefined ? 1 : 0; }))]);
}
for (const [name, runs] of rows) {
  const sorted = [...runs].sort((a, b) => a - b);
  console.log(`${name.padEnd(58)} min ${sorted[0]!.toFixed(0).padStart(6)} ns  median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0).padStart(6)} ns`);
}
if (sink === -1) console.log(sink);
