/**
 * The Process stream loop (src/server/ext-proc-service.ts): answers leave in the order the messages came, whether a
 * message is answered at once (headers, streamed chunks) or after a wait (the request body: auth, translation); the
 * call is ended once, after the last answer, when Envoy half-closes; nothing is written to a cancelled call.
 */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createComponents } from '../../src/components.js';
import { createLogger } from '../../src/logging.js';
import { createService, type Service, type StartExtProcServer } from '../../src/service.js';
import { createProcessHandler, type ProcessCall } from '../../src/server/ext-proc-service.js';
import { ExchangeRegistry } from '../../src/server/exchange.js';
import { ownedBytes } from '../../src/server/router-request.js';
import { LARGE_BODY_BYTES, LargeBodyHeapGrowth } from '../../src/server/heap-growth.js';
import type { ProcessingRequest, ProcessingResponse } from '../../src/server/ext-proc-types.js';

const CONFIG = `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, prefix: /v1, auth: { apiKey: { value: sk-loop-test-key } } }
models:
  - { name: gpt-4o-mini, backends: [{ backend: openai }] }
# Router-only: the router stream builds the upstream attempt itself (no upstream-level stream in these tests).
envoy: { upstreamFilter: false }
`;

/** A Process call as the handler sees it, recording what the service does to it. */
class RecordingCall extends EventEmitter {
  cancelled = false;
  readonly metadata = { get: () => [] };
  readonly written: ProcessingResponse[] = [];
  ends = 0;

  write(answer: ProcessingResponse): boolean {
    this.written.push(answer);
    this.emit('written');
    return true;
  }

  end(): void {
    this.ends += 1;
    this.emit('ended');
  }

  destroy(error: Error): void {
    throw error;
  }

  send(message: ProcessingRequest): void {
    this.emit('data', message);
  }

  /** Resolves once `count` answers were written. */
  async answers(count: number): Promise<ProcessingResponse[]> {
    while (this.written.length < count) await once(this, 'written');
    return this.written;
  }
}

const headers = (entries: Record<string, string>) => ({ headers: Object.entries(entries).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) });
const body = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
const requestMessages: ProcessingRequest[] = [
  { request: 'request_headers', request_headers: { headers: headers({ ':method': 'POST', ':path': '/v1/chat/completions', ':authority': 'gw', 'content-type': 'application/json' }), end_of_stream: false } },
  { request: 'request_body', request_body: { body, end_of_stream: true } },
] as ProcessingRequest[];
const responseMessages: ProcessingRequest[] = [
  { request: 'response_headers', response_headers: { headers: headers({ ':status': '200', 'content-type': 'text/event-stream' }), end_of_stream: false } },
  { request: 'response_body', response_body: { body: Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'), end_of_stream: false } },
  { request: 'response_body', response_body: { body: Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'), end_of_stream: true } },
] as ProcessingRequest[];

/** The oneof case each answer names. */
const phases = (answers: readonly ProcessingResponse[]) => answers.map((answer) => Object.keys(answer).find((key) => key !== 'dynamic_metadata' && key !== 'mode_override'));

/** The Process handler the server registers, wired by createService on `config`, without gRPC. */
async function inProcessHandler(config: string, registry = new ExchangeRegistry(), heapGrowth?: LargeBodyHeapGrowth): Promise<{ handler: (call: ProcessCall) => void; service: Service }> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-extproc-loop-'));
  writeFileSync(join(dir, 'config.yaml'), config);
  let handler: ((call: ProcessCall) => void) | undefined;
  const startServer: StartExtProcServer = async (options) => {
    handler = createProcessHandler(
      { configStore: options.configStore, registry, metrics: options.metrics, logger: options.logger, translators: options.translators, heapGrowth },
      { add: () => {}, delete: () => {} },
    );
    return { address: 'in-process', drain: async () => {}, forceClose: () => {} };
  };
  const service = await createService({
    configPath: join(dir, 'config.yaml'),
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    admin: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    env: {},
    logger: createLogger({ level: 'silent' }),
    components: createComponents(),
    watch: false,
    startServer,
  });
  if (!handler) throw new Error('createService did not start the server');
  return { handler, service };
}

describe('Process stream loop', { timeout: 60_000 }, () => {
  let service: Service;
  let handler: (call: ProcessCall) => void;

  before(async () => {
    ({ handler, service } = await inProcessHandler(CONFIG));
  });

  after(async () => {
    await service.close();
  });

  it('answers in order when messages arrive before an earlier one is answered, and ends once after the last', async () => {
    const call = new RecordingCall();
    handler(call as unknown as ProcessCall);
    // Everything at once: the request body's answer waits (a promise), the response messages behind it do not.
    for (const message of [...requestMessages, ...responseMessages]) call.send(message);
    call.emit('end');
    await once(call, 'ended');
    assert.deepEqual(phases(call.written), ['request_headers', 'request_body', 'response_headers', 'response_body', 'response_body']);
    assert.equal(call.ends, 1);
    // The last answer carries the usage metadata, and the stream was switched to STREAMED on response headers.
    assert.ok(call.written[4]?.dynamic_metadata, 'final metadata on the last answer');
    assert.ok(call.written[2]?.mode_override, 'STREAMED mode on the response headers');
  });

  /** A call whose request headers were answered. */
  async function openedCall(): Promise<RecordingCall> {
    const call = new RecordingCall();
    handler(call as unknown as ProcessCall);
    call.send(requestMessages[0] as ProcessingRequest);
    await call.answers(1);
    return call;
  }

  it('ends a half-closed call only after the answer it is waiting for is written', async () => {
    const call = await openedCall();
    call.send(requestMessages[1] as ProcessingRequest);
    call.emit('end');
    await once(call, 'ended');
    assert.deepEqual(phases(call.written), ['request_headers', 'request_body']);
    assert.equal(call.ends, 1);
  });

  it('writes nothing to a call cancelled while an answer was pending, and does not end it', async () => {
    const call = await openedCall();
    call.send(requestMessages[1] as ProcessingRequest);
    call.send(responseMessages[0] as ProcessingRequest);
    call.cancelled = true;
    call.emit('cancelled');
    call.emit('end');
    // The pending answer needs no I/O (a static API key): it settles in microtasks, before the next turn of the loop.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(phases(call.written), ['request_headers']);
    assert.equal(call.ends, 0);
  });
});

describe('the parsed request body while an exchange waits for its response', { timeout: 60_000 }, () => {
  // Dual mode, one backend that sends the client's bytes and one that translates: the router phase parses small
  // bodies whole (a translator may need them), then lets the parsed body go when no backend of the model reads it.
  const MIXED = `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, prefix: /v1, auth: { apiKey: { value: sk-loop-test-key } } }
  - { name: anthropic, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: sk-ant-loop-test } } }
models:
  - { name: gpt-4o-mini, backends: [{ backend: openai }] }
  - { name: claude, backends: [{ backend: anthropic, modelNameOverride: claude-sonnet-4-5 }] }
`;
  const registry = new ExchangeRegistry();
  let service: Service;
  let handler: (call: ProcessCall) => void;

  before(async () => {
    ({ handler, service } = await inProcessHandler(MIXED, registry));
  });

  after(async () => {
    await service.close();
  });

  /** Sends a request's headers and body on a router stream; the exchange once its body is answered. */
  async function routed(model: string): Promise<{ held: unknown; body: unknown; sent: unknown; rawBody: Uint8Array }> {
    const sent = { model, messages: [{ role: 'user', content: `hello ${'x'.repeat(600)}` }], max_tokens: 16 };
    const call = new RecordingCall();
    handler(call as unknown as ProcessCall);
    call.send(requestMessages[0] as ProcessingRequest);
    call.send({ request: 'request_body', request_body: { body: Buffer.from(JSON.stringify(sent)), end_of_stream: true } } as ProcessingRequest);
    const answers = await call.answers(2);
    assert.deepEqual(phases(answers), ['request_headers', 'request_body']);
    const id = answers[0]?.dynamic_metadata?.fields?.['io.envoy.ai_gateway']?.structValue?.fields?.['llm_extproc_exchange_id']?.stringValue;
    const request = registry.get(String(id))?.request;
    assert.ok(request, 'the exchange is registered with its request');
    const held = (request as unknown as { parsedBody?: unknown }).parsedBody;
    return { held, body: request.body, sent, rawBody: request.rawBody };
  }

  it('keeps only the raw body for a model whose backends send the client bytes; reading it parses it again, the same', async () => {
    const { held, body, sent } = await routed('gpt-4o-mini');
    assert.equal(held, undefined);
    assert.deepEqual(body, sent);
  });

  it('keeps the parsed body for a model whose backend translates it', async () => {
    const { held, body, sent } = await routed('claude');
    assert.deepEqual(held, sent);
    assert.equal(body, held);
  });

  it('keeps a small body in memory of its own, not as a view that holds a pooled buffer; a large one as it came', async () => {
    const pooled = Buffer.from('{"model":"gpt-4o-mini","messages":[]}');
    assert.ok(pooled.buffer.byteLength > pooled.length * 2, 'Buffer.from of a short string is a slice of the pool');
    const owned = ownedBytes(pooled);
    assert.deepEqual(Buffer.from(owned), pooled);
    assert.notEqual(owned.buffer, pooled.buffer);
    assert.equal(owned.buffer.byteLength, pooled.length);
    const large = Buffer.alloc(64 * 1024, 0x20);
    assert.equal(ownedBytes(large), large);
    // The router keeps the body it was sent (a pooled slice here) in a buffer of its own.
    const { rawBody, sent } = await routed('claude');
    assert.equal(rawBody.buffer.byteLength, rawBody.byteLength);
    assert.deepEqual(JSON.parse(Buffer.from(rawBody).toString()), sent);
  });
});

describe("V8's heap growing factor while a large request body is in flight", { timeout: 60_000 }, () => {
  it('counts holds: raised by the first, set back to V8 own by the last release; each release counts once; 0 never touches it', () => {
    const flags: string[] = [];
    const growth = new LargeBodyHeapGrowth(300, (value) => flags.push(value));
    const first = growth.hold();
    const second = growth.hold();
    first();
    first();
    assert.deepEqual(flags, ['--heap-growing-percent=300']);
    second();
    assert.deepEqual(flags, ['--heap-growing-percent=300', '--heap-growing-percent=0']);
    growth.hold();
    assert.equal(flags.length, 3);
    const off: string[] = [];
    new LargeBodyHeapGrowth(0, (value) => off.push(value)).hold()();
    assert.deepEqual(off, []);
  });

  it('a router stream raises it for a large body until the stream ends; a small body leaves it alone', async () => {
    const flags: string[] = [];
    const { handler, service } = await inProcessHandler(CONFIG, new ExchangeRegistry(), new LargeBodyHeapGrowth(300, (value) => flags.push(value)));
    try {
      const exchange = async (bytes: number) => {
        const call = new RecordingCall();
        handler(call as unknown as ProcessCall);
        const sent = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(bytes) }] }));
        call.send(requestMessages[0] as ProcessingRequest);
        call.send({ request: 'request_body', request_body: { body: sent, end_of_stream: true } } as ProcessingRequest);
        await call.answers(2);
        const during = [...flags];
        // Envoy's half-close: with every answer written, the call ends at once (inside emit).
        const ended = once(call, 'ended');
        call.emit('end');
        await ended;
        return during;
      };
      assert.deepEqual(await exchange(1000), []);
      assert.deepEqual(flags, []);
      assert.deepEqual(await exchange(LARGE_BODY_BYTES), ['--heap-growing-percent=300']);
      assert.deepEqual(flags, ['--heap-growing-percent=300', '--heap-growing-percent=0']);
    } finally {
      await service.close();
    }
  });
});
