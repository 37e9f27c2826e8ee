/**
 * Shared pieces of the hostile-input suite: a config with a small body limit, raw HTTP requests (bytes the
 * official client would never send), and the assertions every hostile case repeats: an error in the client's
 * API format with the right status, numeric cost keys in the metadata, and a service that keeps serving.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { Gateway } from '../helpers/gateway-harness.js';
import { waitUntil } from '../helpers/wait-until.js';
import type { RequestRecord } from '../envoy/types.js';

export const NS = 'io.envoy.ai_gateway';
export const COST_KEYS = ['llm_input_token', 'llm_output_token', 'llm_total_token'] as const;
/** Small enough that a test can exceed it cheaply; the 8 MB message-timeout test uses its own config. */
export const BODY_LIMIT = 256 * 1024;

export interface HostileConfigOptions {
  upstreamFilter: boolean;
  maxRequestBodyBytes?: number;
  /** Extra backends/models YAML appended verbatim under the defaults (indentation included). */
  extraBackends?: string;
  extraModels?: string;
  /** Reserve-then-settle on the total: token estimates run in the request phase. */
  reserve?: boolean;
}

/** One OpenAI backend with a credential (`main`), one without (`open`), three costs. */
export function hostileConfig(options: HostileConfigOptions): string {
  return `
backends:
  - name: main
    schema: OpenAI
    endpoint: https://api.openai.com
    auth: { apiKey: { env: MAIN_KEY } }
  - name: open
    schema: OpenAI
    endpoint: http://open.local:8000
${options.extraBackends ?? ''}
models:
  - name: gpt-test
    backends: [{ backend: main, modelNameOverride: gpt-test-upstream }]
  - name: open-model
    backends: [{ backend: open }]
${options.extraModels ?? ''}
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken${options.reserve ? ', reserve: true' : ''} }
envoy:
  upstreamFilter: ${options.upstreamFilter}
limits:
  maxRequestBodyBytes: ${options.maxRequestBodyBytes ?? BODY_LIMIT}
`;
}

export const MAIN_KEY = 'sk-main-backend-secret-0000';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/**
 * Sends exactly these bytes (node:http, so nothing normalises them) and reads the whole answer.
 * Headers are sent as given; `content-length` is added unless the caller set it or asked for chunked.
 */
export function rawRequest(
  baseUrl: string,
  options: { method?: string; path: string; body?: Buffer | string; headers?: Record<string, string | string[]>; chunked?: boolean },
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body, 'utf8');
  const headers: Record<string, string | string[]> = { ...options.headers };
  if (body !== undefined && !options.chunked && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-length')) {
    headers['content-length'] = String(body.length);
  }
  if (options.chunked) headers['transfer-encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    const request = http.request(
      { hostname: url.hostname, port: url.port, method: options.method ?? 'POST', path: options.path, headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const all = Buffer.concat(chunks);
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: all, text: all.toString('utf8') });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** POST a JSON-ish body (any bytes) to /v1/chat/completions with content-type application/json. */
export function postChat(gw: Gateway, body: Buffer | string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(gw.url, { path: '/v1/chat/completions', body, headers: { 'content-type': 'application/json', ...headers } });
}

/** The response is `status` with an OpenAI error body: {"error":{"message","type","param","code"}}. */
export function assertOpenAIError(response: RawResponse, status: number, messagePattern?: RegExp): Record<string, unknown> {
  assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${response.text.slice(0, 300)}`);
  assert.match(String(response.headers['content-type'] ?? ''), /application\/json/);
  const parsed: unknown = JSON.parse(response.text);
  assert.ok(typeof parsed === 'object' && parsed !== null && 'error' in parsed, `not an OpenAI error: ${response.text.slice(0, 300)}`);
  const error = (parsed as { error: Record<string, unknown> }).error;
  assert.equal(typeof error['message'], 'string');
  assert.equal(typeof error['type'], 'string');
  assert.ok('param' in error && 'code' in error, 'param and code are always present');
  if (messagePattern) assert.match(error['message'] as string, messagePattern);
  return error;
}

/** The response is `status` with an Anthropic error body: {"type":"error","error":{"type","message"}}. */
export function assertAnthropicError(response: RawResponse, status: number): Record<string, unknown> {
  assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${response.text.slice(0, 300)}`);
  const parsed = JSON.parse(response.text) as { type?: unknown; error?: Record<string, unknown> };
  assert.equal(parsed.type, 'error');
  assert.equal(typeof parsed.error?.['type'], 'string');
  assert.equal(typeof parsed.error?.['message'], 'string');
  return parsed.error as Record<string, unknown>;
}

/** Every configured cost key is a number in the request's final metadata. */
export function assertNumericCosts(record: RequestRecord | undefined): Record<string, unknown> {
  assert.ok(record, 'the stand-in recorded the request');
  const metadata = record.metadata[NS];
  assert.ok(metadata, `no ${NS} metadata for ${record.path} (status ${record.status}, ${record.responseCodeDetails})`);
  for (const key of COST_KEYS) assert.equal(typeof metadata[key], 'number', `${key} must be a number, got ${JSON.stringify(metadata[key])}`);
  return metadata;
}

/** Waits for every request the stand-in saw to finish its bookkeeping; returns the last one. */
export async function lastRecord(gw: Gateway): Promise<RequestRecord> {
  await gw.envoy.settled();
  const record = gw.envoy.requests.at(-1);
  assert.ok(record);
  return record;
}

/** The service still answers a normal request (after hostile input). */
export async function assertStillServing(gw: Gateway): Promise<void> {
  const response = await postChat(gw, JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'still there?' }] }));
  assert.equal(response.status, 200, response.text.slice(0, 300));
  const parsed = JSON.parse(response.text) as { choices?: unknown[] };
  assert.ok(Array.isArray(parsed.choices) && parsed.choices.length > 0);
}

/** Waits until the registry is empty (streams close asynchronously after the response ends; no event tells). */
export async function waitForEmptyRegistry(gw: Gateway): Promise<void> {
  await waitUntil(() => gw.server.registry.size === 0, 'every exchange is freed');
}

/** Sum of a Prometheus counter/histogram-count sample lines matching all the given label fragments. */
export function sampleSum(metricsText: string, metricName: string, fragments: readonly string[] = []): number {
  let sum = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${metricName}{`) && !line.startsWith(`${metricName} `)) continue;
    if (!fragments.every((fragment) => line.includes(fragment))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Distinct values of one label across a metric family's samples. */
export function labelValues(metricsText: string, metricPrefix: string, label: string): Set<string> {
  const values = new Set<string>();
  const pattern = new RegExp(`${label}="((?:[^"\\\\]|\\\\.)*)"`);
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(metricPrefix)) continue;
    const match = pattern.exec(line);
    if (match?.[1] !== undefined) values.add(match[1]);
  }
  return values;
}
