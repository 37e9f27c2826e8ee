/**
 * Nothing blocks the event loop for long: while one request carries a huge SSE event, concurrent small requests
 * still answer within 100 ms. The shipped service runs as a child process with the default limits.
 *
 * - The huge request is played to the service over ext_proc directly, as Envoy would (headers, body, a streaming
 *   200, then the event in 1 MiB STREAMED chunks, pipelined), by huge-event-driver.ts in a process of its own:
 *   sending 50 MB from this process (or through the stand-in's 64 KB chunks) would stall this process, which
 *   times the small requests, and blur the measurement.
 * - The small requests go the whole way: client -> stand-in -> service -> mock upstream, one after another, for as
 *   long as the huge request runs.
 * - A 50 MB event is refused as soon as it passes limits.maxStreamEventBytes (4 MiB): the client gets an error
 *   event, the rest is dropped chunk by chunk. An event just under the limit (3.75 MiB of text from a backend that
 *   reports no usage, so it is also counted locally) is delivered whole: it is parsed at once, so its work is
 *   bounded by the limit (and its counting by the token counter's per-delivery budget), about 40 ms of CPU on an
 *   idle machine; its allowance is 250 ms rather than 100.
 *
 * The latency limit: 100 ms (times the machine's load factor, see loadFactor) over the slowest of 60 small requests
 * measured just before and just after on the idle service. On an idle machine those take a few ms, so this is about 100 ms; on a loaded one (other test files, other
 * jobs) the machine's own scheduling delays show in both. A measurement that misses is repeated, up to three times:
 * a stall of the service shows every time, a stall of the machine rarely three times in a row. Without the caps the
 * 50 MB event stalled every request for about 13 s; accepted whole (the limit raised to 64 MiB) it still held them up
 * for over a second on a loaded machine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../process/product.js';
import { startHttpMock, type HttpMock } from '../mocks/http-mock.js';
import { startChildGateway, type ChildGateway } from './child-gateway.js';
import { rawRequest } from './hostile-helpers.js';

const MiB = 1024 * 1024;
const ALLOWANCE_MS = 100;
/** An event at the limit is parsed whole, at once (~40 ms of CPU on an idle machine): more room for it on a loaded one. */
const AT_LIMIT_ALLOWANCE_MS = 250;

const CONFIG = `
backends: [{ name: main, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-loop-test } } }]
models: [{ name: gpt-test, backends: [{ backend: main }] }]
costs: [{ metadataKey: llm_total_token, type: TotalToken }]
envoy: { upstreamFilter: false }
`;

const COMPLETION = { id: 'x', object: 'chat.completion', created: 1, model: 'gpt-test', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } };

interface DriverResult {
  /** Bytes the client would get. */
  readonly length: number;
  /** The limit's error event is in them. */
  readonly tooLarge: boolean;
  /** They end with `data: [DONE]`. */
  readonly done: boolean;
}

interface Driver {
  /** Starts sending the answer's chunks; resolves with what the client would get. */
  go(): Promise<DriverResult>;
}

/** Starts huge-event-driver.ts in its own process against the service; resolves once it is ready to send. */
async function startDriver(address: string, bytes: number): Promise<Driver> {
  const script = fileURLToPath(new URL('./huge-event-driver.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, address, String(bytes)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      lines.push(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      waiters.splice(0).forEach((wake) => wake());
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const nextLine = async (): Promise<string> => {
    while (lines.length === 0) {
      const woken = new Promise<void>((resolve) => waiters.push(resolve));
      const code = await Promise.race([woken.then(() => undefined), exited]);
      if (code !== undefined && lines.length === 0) throw new Error(`huge-event-driver exited ${code}: ${stderr}`);
    }
    return lines.shift() as string;
  };
  assert.deepEqual(JSON.parse(await nextLine()), { ready: true });
  return {
    async go() {
      child.stdin.write('go\n');
      const result = JSON.parse(await nextLine()) as DriverResult;
      await exited;
      return result;
    },
  };
}

describe('a huge SSE event does not hold up other requests (child process)', { timeout: 300_000 }, () => {
  let mock: HttpMock;
  let gateway: ChildGateway;

  before(async () => {
    mock = await startHttpMock({ kind: 'json', body: COMPLETION });
    gateway = await startChildGateway({ configYaml: CONFIG, upstreams: { main: mock.url } });
    // Warm up the small-request path (first requests pay for JIT and connection set-up).
    await sequence(20);
  });
  after(async () => {
    await gateway?.close();
    await mock?.close();
  });

  async function smallLatency(): Promise<number> {
    const start = performance.now();
    const response = await rawRequest(gateway.url, {
      path: '/v1/chat/completions',
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }),
      headers: { 'content-type': 'application/json' },
    });
    const elapsed = performance.now() - start;
    assert.equal(response.status, 200, response.text.slice(0, 200));
    return elapsed;
  }

  async function sequence(count: number): Promise<number[]> {
    const latencies: number[] = [];
    while (latencies.length < count) latencies.push(await smallLatency());
    return latencies;
  }

  /**
   * How much slower this machine runs a process than an idle one: the one-minute load over the cores, at least 1.
   * On a machine loaded past its cores every process gets a share of a core, so the same synchronous work takes
   * that much longer in wall time; the allowance scales with it. The stall this guards against (13 s for 50 MB) is
   * caught at any load the suite runs under.
   */
  function loadFactor(): number {
    return Math.max(1, (loadavg()[0] ?? 0) / availableParallelism());
  }

  interface Attempt {
    readonly result: DriverResult;
    readonly slowest: number;
    readonly limit: number;
  }

  /**
   * One measurement: small requests on the idle service, then one after another while the huge exchange runs, then
   * on the idle service again; the limit is 100 ms over the slowest idle one.
   */
  async function attempt(name: string, bytes: number, allowance: number): Promise<Attempt> {
    const driver = await startDriver(gateway.product.grpcAddress, bytes);
    const idleBefore = await sequence(30);
    let done = false;
    const huge = driver.go().finally(() => (done = true));
    const during: number[] = [];
    while (!done || during.length < 10) during.push(await smallLatency());
    const result = await huge;
    const idle = [...idleBefore, ...(await sequence(30))];
    const slowest = Math.max(...during);
    const limit = Math.max(...idle) + allowance * loadFactor();
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    console.log(
      `${name}: ${during.length} small requests meanwhile, slowest ${slowest.toFixed(1)} ms, median ${median(during).toFixed(1)} ms; ` +
        `idle: slowest ${Math.max(...idle).toFixed(1)} ms, median ${median(idle).toFixed(1)} ms, load factor ${loadFactor().toFixed(2)} -> limit ${limit.toFixed(1)} ms`,
    );
    return { result, slowest, limit };
  }

  /**
   * Up to three attempts; the first within the limit passes. A stall in the service (the bug this guards against)
   * shows in every attempt; a stall of this machine (another job) rarely hits three in a row.
   */
  async function assertNotHeldUp(name: string, bytes: number, allowance: number, check: (result: DriverResult) => void): Promise<void> {
    const attempts: Attempt[] = [];
    for (let index = 0; index < 3; index += 1) {
      const measured = await attempt(`${name} (attempt ${index + 1})`, bytes, allowance);
      check(measured.result);
      attempts.push(measured);
      if (measured.slowest <= measured.limit) return;
    }
    const summary = attempts.map((measured) => `${measured.slowest.toFixed(1)} ms (limit ${measured.limit.toFixed(1)} ms)`).join(', ');
    assert.fail(`${name}: in every attempt a concurrent small request was held up: ${summary}`);
  }

  it('a 50 MB event: refused at the 4 MiB limit with an error event; small requests answer within 100 ms meanwhile', { timeout: 240_000 }, async () => {
    await assertNotHeldUp('50 MB event', 50 * 1000 * 1000, ALLOWANCE_MS, (result) => {
      assert.ok(result.tooLarge, "the client got the limit's error event");
      assert.ok(result.length < 64 * 1024, `nothing of the huge event reached the client (${result.length} bytes)`);
    });
  });

  it('a 3.75 MiB event (under the limit, counted locally): delivered whole; small requests answer within 250 ms meanwhile', { timeout: 240_000 }, async () => {
    const bytes = 3.75 * MiB;
    await assertNotHeldUp('3.75 MiB event', bytes, AT_LIMIT_ALLOWANCE_MS, (result) => {
      assert.ok(result.length > bytes, `the event was delivered (${result.length} bytes)`);
      assert.ok(result.done && !result.tooLarge, 'whole, up to [DONE]');
    });
  });
});
