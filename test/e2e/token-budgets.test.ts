/**
 * Token budgets end to end (the numbers in the README's "Token budgets"): the official openai client -> Envoy stand-in with the rate-limit
 * filter (policies from src/envoy rateLimitPolicies) -> llm-extproc -> a mock OpenAI upstream, with an
 * in-process rate-limit service counting like envoyproxy/ratelimit. Both upstreamFilter modes.
 *
 * (a) budget B per window, N concurrent clients: without `reserve` every request passes the check before any is
 *     charged, so the window is overcharged by roughly N requests; with `reserve` the tokens admitted stay
 *     within B plus at most one request's estimate error. Both numbers are printed.
 * (b) cut streams (client abort after k chunks; upstream reset) are charged within 5% of the tokens delivered.
 * (c) a backend that reports no usage: output counted locally, metadata usage_estimated: true.
 *
 * The mock reports the usage OpenAI would report: prompt_tokens by OpenAI's published counting recipe (exact
 * for these bodies, see test/costs/estimate-accuracy.test.ts) and one token per streamed word.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { estimateInputTokens } from '../../src/costs/index.js';
import { encodeCount } from '../../src/costs/tokenizer.js';
import { rateLimitPolicies } from '../../src/envoy/ratelimit.js';
import { loadTestConfig, startGateway, type Gateway } from '../helpers/gateway-harness.js';
import { createRateLimitFilter, InProcessRateLimitService, type DescriptorEntry, type RateLimitFilter } from '../envoy/ratelimit/index.js';

const NS = 'io.envoy.ai_gateway';
const DOMAIN = 'llm-extproc';
const MODEL = 'gpt-4o';
const TENANT = 'acme';
/** Every word is one o200k_base token, so a reply of n words is n output tokens. */
const WORDS = [' budget', ' token', ' window', ' limit', ' charge', ' stream', ' the', ' tenant', ' model', ' cost'];
const FIXED_NOW = 1_700_000_000_000;

function words(count: number): string {
  return Array.from({ length: count }, (_, index) => WORDS[index % WORDS.length]).join('');
}

// ---------------------------------------------------------------------------------------------------------------
// A mock OpenAI upstream whose usage is exact, with a release barrier, streaming, resets and usage switches.

interface BudgetMockOptions {
  /** Output tokens per reply. */
  replyTokens: number;
  /** Hold every response until release() (lets concurrent requests all arrive first). */
  hold?: boolean;
  /** Omit usage entirely (an OpenAI-compatible server without usage). */
  noUsage?: boolean;
  /** Stream: delay between chunks, ms. */
  chunkDelayMs?: number;
  /** Stream: destroy the connection after this many content chunks. */
  resetAfterChunks?: number;
}

interface MockCall {
  readonly inputTokens: number;
  /** Output tokens actually sent (all of them, or up to the reset). */
  outputTokens: number;
}

interface BudgetMock {
  readonly url: string;
  readonly calls: MockCall[];
  options: BudgetMockOptions;
  release(): void;
  close(): Promise<void>;
}

async function startBudgetMock(initial: BudgetMockOptions): Promise<BudgetMock> {
  const calls: MockCall[] = [];
  let waiting: (() => void)[] = [];
  let released = false;
  const state = { options: initial };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      const options = state.options;
      const model = typeof body.model === 'string' ? body.model : MODEL;
      const call: MockCall = { inputTokens: estimateInputTokens(model, body), outputTokens: 0 };
      calls.push(call);
      const respond = () => void reply(response, body, model, call, options);
      if (options.hold && !released) waiting.push(respond);
      else respond();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    get options() {
      return state.options;
    },
    set options(value) {
      state.options = value;
      released = false;
    },
    release() {
      released = true;
      const pending = waiting;
      waiting = [];
      for (const respond of pending) respond();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function usageOf(call: MockCall) {
  return { prompt_tokens: call.inputTokens, completion_tokens: call.outputTokens, total_tokens: call.inputTokens + call.outputTokens };
}

async function reply(response: import('node:http').ServerResponse, body: Record<string, unknown>, model: string, call: MockCall, options: BudgetMockOptions): Promise<void> {
  const base = { id: 'chatcmpl-budget', created: 1_700_000_000, model };
  if (body.stream !== true) {
    call.outputTokens = options.replyTokens;
    const message = { role: 'assistant', content: words(options.replyTokens) };
    const json = { ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: 'stop' }], ...(options.noUsage ? {} : { usage: usageOf(call) }) };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(json));
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  const event = (payload: object) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', ...payload })}\n\n`;
  response.write(event({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }));
  for (let index = 0; index < options.replyTokens; index += 1) {
    if (options.resetAfterChunks !== undefined && index >= options.resetAfterChunks) {
      response.socket?.destroy();
      return;
    }
    if (response.destroyed) return;
    response.write(event({ choices: [{ index: 0, delta: { content: WORDS[index % WORDS.length] }, finish_reason: null }] }));
    call.outputTokens += 1;
    if (options.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, options.chunkDelayMs));
  }
  response.write(event({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
  const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
  if (streamOptions?.include_usage && !options.noUsage) response.write(event({ choices: [], usage: usageOf(call) }));
  response.end('data: [DONE]\n\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Gateway + rate-limit wiring.

function gatewayYaml(upstreamFilter: boolean, reserve: boolean): string {
  return `
backends:
  - name: openai
    schema: OpenAI
    endpoint: https://api.openai.com
    auth: { apiKey: { value: sk-test } }
models:
  - name: ${MODEL}
    backends: [{ backend: openai }]
costs:
  - { metadataKey: llm_total_token, type: TotalToken, reserve: ${reserve} }
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
reserve: { outputFraction: 0.25, defaultOutputTokens: 256 }
envoy:
  upstreamFilter: ${upstreamFilter}
  rateLimit: { domain: ${DOMAIN} }
`;
}

function ratelimitYaml(budget: number): string {
  const perKey = (key: string) => `
  - key: cost
    value: ${key}
    descriptors:
      - key: tenant
        descriptors:
          - key: model
            rate_limit: { unit: hour, requests_per_unit: ${budget} }`;
  return `domain: ${DOMAIN}\ndescriptors:${perKey('llm_total_token')}${perKey('llm_input_token')}${perKey('llm_output_token')}\n`;
}

function entries(costKey: string): DescriptorEntry[] {
  return [
    { key: 'cost', value: costKey },
    { key: 'tenant', value: TENANT },
    { key: 'model', value: MODEL },
  ];
}

interface Stack {
  gateway: Gateway;
  mock: BudgetMock;
  service: InProcessRateLimitService;
  filter: RateLimitFilter;
  client: OpenAI;
  close(): Promise<void>;
}

async function startStack(options: { upstreamFilter: boolean; reserve: boolean; budget: number; mock: BudgetMockOptions }): Promise<Stack> {
  const configYaml = gatewayYaml(options.upstreamFilter, options.reserve);
  const config = await loadTestConfig(configYaml);
  const service = new InProcessRateLimitService({ config: ratelimitYaml(options.budget), now: () => FIXED_NOW });
  // The stand-in names a route by its model (upstreamFilter) or by its backend (router-only).
  const routeName = options.upstreamFilter ? MODEL : 'openai';
  const filter = createRateLimitFilter({ domain: DOMAIN, policies: { [routeName]: rateLimitPolicies(config, MODEL) }, service });
  const mock = await startBudgetMock(options.mock);
  const gateway = await startGateway({ configYaml, upstreams: { openai: mock.url }, rateLimit: filter });
  const client = new OpenAI({ baseURL: gateway.baseURL, apiKey: 'client-key', maxRetries: 0, defaultHeaders: { 'x-tenant-id': TENANT } });
  return {
    gateway,
    mock,
    service,
    filter,
    client,
    async close() {
      await gateway.close();
      await mock.close();
    },
  };
}

async function settle(stack: Stack): Promise<void> {
  await stack.gateway.envoy.settled();
  await stack.filter.flush();
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function finalMetadata(stack: Stack): Record<string, unknown> {
  const record = stack.gateway.envoy.requests.at(-1);
  assert.ok(record, 'a request was recorded');
  return record.metadata[NS] ?? {};
}

/** Requests answered without reaching the upstream (429, or any local reply). Admitted ones are held by the mock. */
function answeredLocally(stack: Stack): number {
  return stack.gateway.envoy.requests.filter((record) => record.status !== undefined).length;
}

function statusOf(outcome: PromiseSettledResult<unknown>): number {
  if (outcome.status === 'fulfilled') return 200;
  const reason: unknown = outcome.reason;
  return reason instanceof OpenAI.APIError && typeof reason.status === 'number' ? reason.status : 0;
}

function within(actual: number, expected: number, fraction: number): boolean {
  return Math.abs(actual - expected) <= Math.max(1, expected * fraction);
}

// ---------------------------------------------------------------------------------------------------------------
// (a) concurrency

const CLIENTS = 10;
const BUDGET = 1000;
const PROMPT = words(300);
const MAX_TOKENS = 400; // expected output = 0.25 x 400 = 100
const REPLY_TOKENS = 80;

interface WindowOutcome {
  admitted: number;
  refused: number;
  admittedTokens: number;
  perRequestTokens: number;
  reservePerRequest: number;
  windowCounter: number;
}

async function runConcurrentWindow(upstreamFilter: boolean, reserve: boolean): Promise<WindowOutcome> {
  const stack = await startStack({ upstreamFilter, reserve, budget: BUDGET, mock: { replyTokens: REPLY_TOKENS, hold: true } });
  try {
    const outcomes = Promise.allSettled(
      Array.from({ length: CLIENTS }, () =>
        stack.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: PROMPT }], max_tokens: MAX_TOKENS }),
      ),
    );
    // Every request either reaches the upstream or is refused before any response is released.
    await waitFor(() => stack.mock.calls.length + answeredLocally(stack) === CLIENTS, 'every request to be admitted or refused');
    stack.mock.release();
    const statuses = (await outcomes).map(statusOf);
    await settle(stack);
    const admittedTokens = stack.mock.calls.reduce((sum, call) => sum + call.inputTokens + call.outputTokens, 0);
    const first = stack.mock.calls[0];
    const reserveValue = stack.gateway.envoy.requests[0]?.metadata[NS]?.llm_total_token_reserve;
    return {
      admitted: statuses.filter((status) => status === 200).length,
      refused: statuses.filter((status) => status === 429).length,
      admittedTokens,
      perRequestTokens: first ? first.inputTokens + first.outputTokens : 0,
      reservePerRequest: typeof reserveValue === 'number' ? reserveValue : 0,
      windowCounter: stack.service.used(DOMAIN, entries('llm_total_token')),
    };
  } finally {
    await stack.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// (b) cut streams

const CUT_AFTER = 200;
const STREAM_TOKENS = 400;
const CHUNK_DELAY_MS = 10;

interface CutOutcome {
  deliveredOutput: number;
  chargedOutput: number;
  inputTokens: number;
  chargedInput: number;
}

async function runCutStream(upstreamFilter: boolean, cut: 'client' | 'upstream'): Promise<CutOutcome> {
  const mock: BudgetMockOptions = { replyTokens: STREAM_TOKENS, chunkDelayMs: CHUNK_DELAY_MS, ...(cut === 'upstream' ? { resetAfterChunks: CUT_AFTER } : {}) };
  const stack = await startStack({ upstreamFilter, reserve: false, budget: 1_000_000_000, mock });
  try {
    let text = '';
    let chunks = 0;
    try {
      const stream = await stack.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: PROMPT }], max_tokens: 1000, stream: true });
      for await (const chunk of stream) {
        const content = chunk.choices[0]?.delta?.content;
        if (!content) continue;
        text += content;
        chunks += 1;
        if (cut === 'client' && chunks >= CUT_AFTER) break; // leaving the loop aborts the HTTP request
      }
    } catch (error) {
      if (cut !== 'upstream') throw error;
    }
    await settle(stack);
    return {
      deliveredOutput: encodeCount('o200k_base', text),
      chargedOutput: stack.service.used(DOMAIN, entries('llm_output_token')),
      inputTokens: stack.mock.calls[0]?.inputTokens ?? 0,
      chargedInput: stack.service.used(DOMAIN, entries('llm_input_token')),
    };
  } finally {
    await stack.close();
  }
}

for (const upstreamFilter of [true, false]) {
  describe(`token budgets end to end (upstreamFilter: ${upstreamFilter})`, () => {
    it('(a) N concurrent clients: without reserve the window is overcharged by ~N requests; with reserve it holds', async () => {
      const plain = await runConcurrentWindow(upstreamFilter, false);
      const reserved = await runConcurrentWindow(upstreamFilter, true);
      const estimateError = Math.abs(reserved.reservePerRequest - reserved.perRequestTokens);
      console.log(
        [
          `\n[token budgets, upstreamFilter=${upstreamFilter}] budget B=${BUDGET} tokens/window, N=${CLIENTS} concurrent clients, ${plain.perRequestTokens} tokens per request`,
          `  without reserve: admitted ${plain.admitted}/${CLIENTS} requests = ${plain.admittedTokens} tokens ` +
            `(over budget by ${plain.admittedTokens - BUDGET} tokens = ${((plain.admittedTokens - BUDGET) / plain.perRequestTokens).toFixed(1)} requests); window counter ${plain.windowCounter}`,
          `  with reserve:    admitted ${reserved.admitted}/${CLIENTS} requests = ${reserved.admittedTokens} tokens ` +
            `(reserve ${reserved.reservePerRequest} per request, estimate error ${estimateError}); refused ${reserved.refused} with 429; window counter ${reserved.windowCounter}`,
        ].join('\n'),
      );
      // Without reserve every request passes the check-only request phase before any is charged.
      assert.equal(plain.admitted, CLIENTS);
      assert.equal(plain.admittedTokens, CLIENTS * plain.perRequestTokens);
      assert.ok(plain.admittedTokens - BUDGET >= (CLIENTS - Math.ceil(BUDGET / plain.perRequestTokens)) * plain.perRequestTokens);
      assert.ok(plain.windowCounter >= plain.admittedTokens, 'every admitted token is charged at stream end');
      // With reserve the counter grows in the request phase: admitted while k x reserve <= B.
      assert.ok(reserved.reservePerRequest > 0, 'the request phase wrote llm_total_token_reserve');
      assert.equal(reserved.admitted, Math.floor(BUDGET / reserved.reservePerRequest));
      assert.equal(reserved.refused, CLIENTS - reserved.admitted);
      assert.ok(reserved.admittedTokens <= BUDGET + estimateError, `${reserved.admittedTokens} admitted tokens within ${BUDGET} + ${estimateError}`);
    });

    for (const cut of ['client', 'upstream'] as const) {
      it(`(b) a stream cut by ${cut === 'client' ? 'the client' : 'an upstream reset'} after ${CUT_AFTER} chunks is charged within 5% of what was delivered`, async () => {
        const outcome = await runCutStream(upstreamFilter, cut);
        console.log(
          `[cut stream, upstreamFilter=${upstreamFilter}, ${cut}] delivered ${outcome.deliveredOutput} output tokens, charged ${outcome.chargedOutput}; ` +
            `input ${outcome.inputTokens}, charged ${outcome.chargedInput}`,
        );
        assert.ok(outcome.deliveredOutput >= CUT_AFTER * 0.9 && outcome.deliveredOutput < STREAM_TOKENS, `the stream was cut (${outcome.deliveredOutput} delivered)`);
        assert.ok(within(outcome.chargedOutput, outcome.deliveredOutput, 0.05), `charged ${outcome.chargedOutput} vs delivered ${outcome.deliveredOutput}`);
        assert.ok(within(outcome.chargedInput, outcome.inputTokens, 0.05), `input charged ${outcome.chargedInput} vs ${outcome.inputTokens}`);
      });
    }

    for (const stream of [false, true]) {
      it(`(c) a backend without usage (${stream ? 'streamed' : 'buffered'}): output counted locally, usage_estimated true`, async () => {
        const stack = await startStack({ upstreamFilter, reserve: false, budget: 1_000_000_000, mock: { replyTokens: 57, noUsage: true } });
        try {
          const messages = [{ role: 'user' as const, content: 'Count these words for the budget.' }];
          let text = '';
          if (stream) {
            const response = await stack.client.chat.completions.create({ model: MODEL, messages, stream: true });
            for await (const chunk of response) text += chunk.choices[0]?.delta?.content ?? '';
          } else {
            const response = await stack.client.chat.completions.create({ model: MODEL, messages });
            text = response.choices[0]?.message.content ?? '';
          }
          await settle(stack);
          const metadata = finalMetadata(stack);
          const outputTokens = encodeCount('o200k_base', text);
          assert.equal(outputTokens, 57);
          assert.equal(metadata.usage_estimated, true);
          assert.equal(metadata.llm_output_token, outputTokens);
          assert.equal(stack.service.used(DOMAIN, entries('llm_output_token')), outputTokens);
          const inputTokens = stack.mock.calls[0]?.inputTokens ?? 0;
          assert.equal(metadata.llm_input_token, inputTokens, 'input counted locally too');
          assert.equal(metadata.llm_total_token, inputTokens + outputTokens);
        } finally {
          await stack.close();
        }
      });
    }
  });
}
