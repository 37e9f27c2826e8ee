/**
 * The soak: the shipped service (dist/, `npm start`'s command line, a config file on disk) as a child process,
 * behind the Envoy stand-in of this process, driven for a fixed time by OpenAI and Anthropic clients, streamed and
 * not, translated and passed through, with faults injected: upstream resets (before and in the middle of a
 * body), client aborts, slow upstreams and config reloads. It stops by itself and reports requests, errors, RSS,
 * heap, file descriptors and live per-request objects at the start, after the warm-up and at the end.
 *
 * The child runs with --expose-gc, which turns on its admin `/debug/memory` (a full collection, then the figures):
 * so heap figures are after garbage collection, and live objects counted by a FinalizationRegistry are really
 * unreachable ones. `npm run soak` runs it from the command line (scripts/soak.ts); test/process/soak.test.ts runs
 * a short one.
 *
 * An error is a request without a fault that did not get its full answer (or any request that never finished),
 * or an error line in the service's log. A request with a fault may end any way, as long as it ends.
 */
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { startEnvoy, type EnvoyStandIn, type RequestRecord } from '../envoy/envoy.js';
import { loadTestConfig } from '../helpers/gateway-harness.js';
import { startHttpMock, sseEvent, type HttpMock, type MockReply, type RecordedRequest } from '../mocks/http-mock.js';
import { startProduct, type Product } from '../process/product.js';

export interface SoakOptions {
  readonly durationMs: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** The warm-up, counted in the duration: the second snapshot is taken after it. */
  readonly warmupMs?: number;
  /**
   * Envoy's default close (half-close, then reset) instead of the graceful one; with it, `stormWorkers` more
   * workers send cheap `GET /v1/models` requests (one ext_proc stream each, answered by the service) as fast as
   * they can: the reset storm that trips Node's rapid-reset protection.
   */
  readonly defaultClose?: boolean;
  readonly stormWorkers?: number;
  /** Extra environment for the child (MALLOC_ARENA_MAX, say). */
  readonly env?: Readonly<Record<string, string>>;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface Snapshot {
  readonly at: string;
  readonly seconds: number;
  readonly requests: number;
  readonly rss: number;
  /** RSS split: anonymous memory (heaps, malloc arenas, buffers) and file-backed pages (the node binary, ICU data). */
  readonly rssAnon: number;
  readonly rssFile: number;
  readonly heapUsed: number;
  /** What V8 holds for its heap (used or not): the young generation's semispaces included. */
  readonly heapTotal: number;
  /** Resident anonymous memory by kind of mapping (/proc/<pid>/smaps): see anonymousMappings. */
  readonly mappings: Readonly<Record<string, number>>;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly fds: number;
  /** The child's TCP sockets in CLOSE-WAIT (the peer closed, the service did not). */
  readonly closeWait: number;
  readonly live: Readonly<Record<string, number>>;
}

export interface SoakResult {
  readonly requests: number;
  /** Reset-storm requests (`GET /v1/models`), and how many of them did not get a 200. */
  readonly storm: { readonly requests: number; readonly failed: number };
  readonly byKind: Readonly<Record<string, number>>;
  readonly faults: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  /** Service log lines at level error or above. */
  readonly errorLogs: readonly string[];
  readonly durationMs: number;
  readonly snapshots: readonly Snapshot[];
  readonly configReloads: number;
  /** From the service's /metrics at the end. */
  readonly metrics: Readonly<Record<string, number>>;
}

const MODEL_GPT = 'gpt-soak';
const MODEL_CLAUDE = 'claude-soak';

function configYaml(generation: number): string {
  return `# generation ${generation}
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-soak-openai-0000000001 } } }
  - { name: anthropic, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: sk-ant-soak-0000000002 } } }
models:
  - { name: ${MODEL_GPT}, backends: [{ backend: openai, modelNameOverride: gpt-4o-mini }] }
  - { name: ${MODEL_CLAUDE}, backends: [{ backend: anthropic, modelNameOverride: claude-3-5-haiku-20241022 }] }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken, reserve: true }
  - { metadataKey: weighted, type: CEL, cel: "input_tokens + output_tokens * ${2 + (generation % 3)}" }
`;
}

type Fault = 'none' | 'upstream-reset' | 'upstream-reset-mid-stream' | 'client-abort' | 'slow';
type Client = 'openai' | 'anthropic';

const WORDS = 'the quick brown fox jumps over the lazy dog while a gateway counts every token it sees'.split(' ');
const text = (count: number, seed: number) => Array.from({ length: count }, (_, index) => WORDS[(index + seed) % WORDS.length]).join(' ');

/** What an upstream of this wire answers; the fault is named in the last user message. */
function upstreamReply(wire: 'openai' | 'anthropic', request: RecordedRequest): MockReply {
  const body = request.json() as { stream?: boolean; messages?: { content?: unknown }[] };
  const last = JSON.stringify(body.messages?.at(-1)?.content ?? '');
  const fault = (/fault:([a-z-]+)/.exec(last)?.[1] ?? 'none') as Fault;
  const stream = body.stream === true;
  const answer = text(40, last.length);
  if (fault === 'upstream-reset') return { kind: 'reset' };
  if (wire === 'openai') {
    const usage = { prompt_tokens: 12, completion_tokens: 40, total_tokens: 52 };
    if (!stream) {
      const json = { id: 'c1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }], usage };
      return { kind: 'json', body: json };
    }
    const chunk = (delta: object, finish: string | null) => sseEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: finish }] });
    const events = [chunk({ role: 'assistant', content: '' }, null), ...answer.split(' ').map((word) => chunk({ content: `${word} ` }, null)), chunk({}, 'stop'), sseEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [], usage }), 'data: [DONE]\n\n'];
    return streamed(events, fault);
  }
  const usage = { input_tokens: 12, output_tokens: 40 };
  if (!stream) {
    return { kind: 'json', body: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-20241022', content: [{ type: 'text', text: answer }], stop_reason: 'end_turn', usage } };
  }
  const events = [
    sseEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-20241022', content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } } }, 'message_start'),
    sseEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
    ...answer.split(' ').map((word) => sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `${word} ` } }, 'content_block_delta')),
    sseEvent({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
    sseEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 40 } }, 'message_delta'),
    sseEvent({ type: 'message_stop' }, 'message_stop'),
  ];
  return streamed(events, fault);
}

function streamed(events: string[], fault: Fault): MockReply {
  if (fault === 'upstream-reset-mid-stream') {
    const half = Buffer.from(events.slice(0, Math.floor(events.length / 2)).join(''));
    return { kind: 'reset-mid-body', body: half, headers: { 'content-type': 'text/event-stream' } };
  }
  // Slow: 41+ events 20 ms apart, close to a second per answer. Otherwise a few chunks, cut anywhere.
  if (fault === 'slow') return { kind: 'sse', chunks: events, delayMs: 20 };
  const all = Buffer.from(events.join(''));
  const third = Math.floor(all.length / 3);
  return { kind: 'sse', chunks: [all.subarray(0, third), all.subarray(third, 2 * third), all.subarray(2 * third)] };
}

interface Outcome {
  readonly ok: boolean;
  readonly detail: string;
}

/** One client request; resolves when it is over, whatever happened. */
async function oneRequest(url: string, client: Client, model: string, stream: boolean, fault: Fault, seed: number): Promise<Outcome> {
  const controller = new AbortController();
  // Backstop for a request that never ends: that is an error, not a hang of the soak.
  const timer = setTimeout(() => controller.abort(new Error('request did not finish in 60 s')), 60_000);
  const content = `${text(20 + (seed % 30), seed)}${fault === 'none' ? '' : ` fault:${fault}`}`;
  const path = client === 'openai' ? '/v1/chat/completions' : '/anthropic/v1/messages';
  const body = client === 'openai'
    ? { model, stream, ...(stream ? { stream_options: { include_usage: true } } : {}), messages: [{ role: 'user', content }] }
    : { model, stream, max_tokens: 256, messages: [{ role: 'user', content }] };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (client === 'anthropic') headers['anthropic-version'] = '2023-06-01';
  try {
    const response = await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal });
    if (fault === 'client-abort') {
      // Gone after the first bytes (or the headers of a non-streamed answer).
      const reader = response.body?.getReader();
      await reader?.read();
      controller.abort(new Error('client abort'));
      await reader?.cancel().catch(() => undefined);
      return { ok: true, detail: 'aborted' };
    }
    const received = await response.text();
    if (fault !== 'none') return { ok: true, detail: String(response.status) };
    if (response.status !== 200) return { ok: false, detail: `${client} ${model} stream=${stream}: ${response.status} ${received.slice(0, 200)}` };
    const complete = stream
      ? client === 'openai'
        ? received.includes('data: [DONE]') && received.includes('"finish_reason":"stop"')
        : received.includes('event: message_stop')
      : client === 'openai'
        ? received.includes('"finish_reason":"stop"')
        : received.includes('"stop_reason":"end_turn"');
    return complete ? { ok: true, detail: '200' } : { ok: false, detail: `${client} ${model} stream=${stream}: incomplete answer ${received.slice(-200)}` };
  } catch (error) {
    if (fault !== 'none' && !(error instanceof Error && /did not finish/.test(String((error as Error & { cause?: unknown }).cause ?? error.message)))) {
      return { ok: true, detail: 'failed as injected' };
    }
    return { ok: false, detail: `${client} ${model} stream=${stream} fault=${fault}: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

/** GET on the child's admin server, on a connection of its own (so no keep-alive socket of ours is counted). */
function adminGet(product: Product, path: string): Promise<{ status: number; text: string }> {
  const [host, port] = product.adminAddress.split(':');
  return new Promise((resolve, reject) => {
    const request = http.get({ host, port: Number(port), path, agent: false, headers: { connection: 'close' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** The child's TCP sockets in CLOSE-WAIT: its socket inodes, looked up in /proc/net/tcp{,6} (state 08). */
function closeWaitSockets(pid: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns[3] === '08' && inodes.has(columns[9] ?? '')) {
        count += 1;
        const local = portOf(columns[1]);
        closeWaitSeen.add(`${listenerPorts.get(local) ?? 'port'} ${local}, peer port ${portOf(columns[2])}`);
      }
    }
  }
  return count;
}

/** Every CLOSE-WAIT socket seen, by its ports (which listener it belongs to), for the failure message. */
const closeWaitSeen = new Set<string>();
/** The product's listener ports: `grpc` and `admin`. */
const listenerPorts = new Map<number, string>();

function portOf(address: string | undefined): number {
  return Number.parseInt(address?.split(':')[1] ?? '0', 16);
}

/** glibc's non-main malloc arenas are mmapped 64 MiB at a time, aligned to 64 MiB (HEAP_MAX_SIZE on 64-bit). */
const ARENA_BYTES = 64 * 1024 * 1024;

/**
 * Resident anonymous memory, by where it sits: `brk` (the [heap] mapping: glibc's main arena), `arenas` (glibc's
 * other arenas: each is a 64 MiB-aligned reservation, read-write up to what it uses and PROT_NONE after, 64 MiB in
 * all; one per thread that allocated, up to MALLOC_ARENA_MAX), `stacks`, and `other` (V8's heap pages,
 * WebAssembly memory, large allocations glibc mmaps on their own). Linux only.
 */
function anonymousMappings(pid: number): Record<string, number> {
  interface Mapping { start: bigint; end: bigint; perms: string; anonymous: boolean; name: string; rss: number }
  const mappings: Mapping[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      const [, start, end, perms, inode, name] = header;
      mappings.push({ start: BigInt(`0x${start}`), end: BigInt(`0x${end}`), perms: perms ?? '', anonymous: inode === '0', name: name ?? '', rss: 0 });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    const last = mappings.at(-1);
    if (rss && last) last.rss = Number(rss[1]) * 1024;
  }
  const arena = BigInt(ARENA_BYTES);
  const totals: Record<string, number> = { brk: 0, arenas: 0, stacks: 0, other: 0 };
  mappings.forEach((mapping, index) => {
    if (!mapping.anonymous) return;
    if (mapping.name === '[heap]') totals['brk'] = (totals['brk'] ?? 0) + mapping.rss;
    else if (mapping.name.startsWith('[stack')) totals['stacks'] = (totals['stacks'] ?? 0) + mapping.rss;
    else if (mapping.name !== '') return;
    else {
      const next = mappings[index + 1];
      const size = mapping.end - mapping.start;
      const isArena =
        mapping.perms.startsWith('rw') &&
        mapping.start % arena === 0n &&
        (size === arena || (next !== undefined && next.anonymous && next.perms.startsWith('---') && next.start === mapping.end && next.end - mapping.start === arena));
      const kind = isArena ? 'arenas' : 'other';
      totals[kind] = (totals[kind] ?? 0) + mapping.rss;
    }
  });
  return totals;
}

async function snapshot(product: Product, at: string, startedAt: number, requests: number): Promise<Snapshot> {
  const response = await adminGet(product, '/debug/memory');
  if (response.status !== 200) throw new Error(`/debug/memory answered ${response.status}: is the child running with --expose-gc?`);
  const memory = JSON.parse(response.text) as { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number; fds: number; live: Record<string, number> };
  const status = readFileSync(`/proc/${product.pid as number}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return {
    at,
    seconds: Math.round((performance.now() - startedAt) / 100) / 10,
    requests,
    rss: memory.rss,
    rssAnon: kib('RssAnon'),
    rssFile: kib('RssFile'),
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    mappings: anonymousMappings(product.pid as number),
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    fds: memory.fds,
    closeWait: closeWaitSockets(product.pid as number),
    live: memory.live,
  };
}

const METRICS_REPORTED = [
  'llm_extproc_errors_total',
  'llm_extproc_stream_resets_total',
  'llm_extproc_grpc_connections_closed_total',
  'llm_extproc_grpc_goaways_total',
  'llm_extproc_config_reloads_total',
  'llm_extproc_streams_active',
];

function metricSums(text: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const name = METRICS_REPORTED.find((metric) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `));
    if (!name) continue;
    const labels = /\{(.*)\}/.exec(line)?.[1] ?? '';
    const key = labels === '' ? name : `${name}{${labels}}`;
    sums[key] = (sums[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sums;
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => undefined);
  const openai: HttpMock = await startHttpMock((request) => upstreamReply('openai', request));
  const anthropic: HttpMock = await startHttpMock((request) => upstreamReply('anthropic', request));
  let product: Product | undefined;
  let envoy: EnvoyStandIn | undefined;
  try {
    product = await startProduct({ configYaml: configYaml(0), env: { NODE_OPTIONS: '--expose-gc', ...options.env } });
    const config = await loadTestConfig(configYaml(0));
    listenerPorts.set(Number(product.grpcAddress.split(':').pop()), 'grpc');
    listenerPorts.set(Number(product.adminAddress.split(':').pop()), 'admin');
    envoy = await startEnvoy({ config, extProc: product.grpcAddress, upstreams: { openai: openai.url, anthropic: anthropic.url }, gracefulClose: options.defaultClose !== true });
    const standIn = envoy;
    const child = product;
    const startedAt = performance.now();
    const snapshots: Snapshot[] = [await snapshot(child, 'start', startedAt, 0)];
    log(describeSnapshot(snapshots[0] as Snapshot));

    let requests = 0;
    let faults = 0;
    const byKind: Record<string, number> = {};
    const errorSamples: string[] = [];
    let errors = 0;
    const deadline = startedAt + options.durationMs;
    const warmupEnd = startedAt + (options.warmupMs ?? Math.min(10_000, options.durationMs / 5));
    let warmedUp = false;
    let seed = 0;

    // Config reloads: a valid new generation every 3 s (the CEL cost changes, so each is really applied).
    let configReloads = 0;
    const reloads = setInterval(() => {
      configReloads += 1;
      writeFileSync(join(child.directory, 'config.yaml'), configYaml(configReloads));
    }, 3000);
    // The stand-in and the mocks keep a record of every request: drop the finished ones as we go.
    const prune = setInterval(() => {
      const finished = standIn.requests.slice();
      void Promise.all(finished.map((record: RequestRecord) => record.done)).then(() => {
        const gone = new Set(finished);
        for (let index = standIn.requests.length - 1; index >= 0; index -= 1) if (gone.has(standIn.requests[index] as RequestRecord)) standIn.requests.splice(index, 1);
      });
      openai.requests.splice(0);
      anthropic.requests.splice(0);
    }, 2000);

    const FAULTS: readonly Fault[] = ['upstream-reset', 'upstream-reset-mid-stream', 'client-abort', 'slow'];
    const worker = async () => {
      while (performance.now() < deadline) {
        seed += 1;
        const client: Client = seed % 2 === 0 ? 'openai' : 'anthropic';
        const model = Math.floor(seed / 2) % 2 === 0 ? MODEL_GPT : MODEL_CLAUDE;
        const stream = Math.floor(seed / 4) % 2 === 0;
        // One request in ten carries a fault.
        let fault: Fault = seed % 10 === 7 ? (FAULTS[Math.floor(seed / 10) % FAULTS.length] as Fault) : 'none';
        if (fault === 'upstream-reset-mid-stream' && !stream) fault = 'upstream-reset';
        const outcome = await oneRequest(standIn.url, client, model, stream, fault, seed);
        requests += 1;
        const kind = `${client}->${model === MODEL_GPT ? 'openai' : 'anthropic'}${stream ? ' stream' : ''}`;
        byKind[kind] = (byKind[kind] ?? 0) + 1;
        if (fault !== 'none') faults += 1;
        if (!outcome.ok) {
          errors += 1;
          if (errorSamples.length < 10) errorSamples.push(outcome.detail);
        }
        if (!warmedUp && performance.now() >= warmupEnd) {
          warmedUp = true;
          const taken = await snapshot(child, 'after warm-up', startedAt, requests);
          snapshots.push(taken);
          log(describeSnapshot(taken));
        }
      }
    };
    const storm = { requests: 0, failed: 0 };
    const stormWorker = async () => {
      while (performance.now() < deadline) {
        const ok = await fetch(`${standIn.url}/v1/models`).then(
          async (response) => (await response.arrayBuffer(), response.status === 200),
          () => false,
        );
        storm.requests += 1;
        if (!ok) storm.failed += 1;
      }
    };
    const storms = options.defaultClose ? (options.stormWorkers ?? 0) : 0;
    await Promise.all([...Array.from({ length: options.concurrency }, worker), ...Array.from({ length: storms }, stormWorker)]);
    clearInterval(reloads);
    clearInterval(prune);
    const durationMs = performance.now() - startedAt;
    await standIn.settled();
    // The streams and connections Envoy's side closed are over on the service's side a moment later (a socket the
    // peer closed sits in CLOSE-WAIT until the service reads the end): no event tells when, so poll, bounded.
    const settledBy = performance.now() + 10_000;
    let end = await snapshot(child, 'end', startedAt, requests);
    while ((end.closeWait > 0 || Object.values(end.live).some((count) => count > 0)) && performance.now() < settledBy) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      end = await snapshot(child, 'end', startedAt, requests);
    }
    snapshots.push(end);
    log(describeSnapshot(end));
    const metrics = metricSums((await adminGet(child, '/metrics')).text);
    const errorLogs = child.logs.filter((line) => (line.level ?? 0) >= 50).map((line) => JSON.stringify(line).slice(0, 300));
    return { requests, storm, byKind, faults, errors, errorSamples, errorLogs, durationMs, snapshots, configReloads, metrics };
  } finally {
    await envoy?.close();
    await product?.stop('SIGTERM');
    await openai.close();
    await anthropic.close();
  }
}

const MiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export function describeSnapshot(snapshot: Snapshot): string {
  const live = Object.entries(snapshot.live).map(([kind, count]) => `${kind} ${count}`).join(', ');
  return (
    `${snapshot.at.padEnd(13)} t=${String(snapshot.seconds).padStart(6)} s  requests ${String(snapshot.requests).padStart(7)}  ` +
    `rss ${MiB(snapshot.rss)} (anon ${MiB(snapshot.rssAnon)}, file ${MiB(snapshot.rssFile)})  heap ${MiB(snapshot.heapUsed)} of ${MiB(snapshot.heapTotal)}  external ${MiB(snapshot.external)} (arrayBuffers ${MiB(snapshot.arrayBuffers)})  ` +
    `[brk ${MiB(snapshot.mappings['brk'] ?? 0)}, arenas ${MiB(snapshot.mappings['arenas'] ?? 0)}, other anon ${MiB(snapshot.mappings['other'] ?? 0)}]  ` +
    `fds ${snapshot.fds}  close-wait ${snapshot.closeWait}  live: ${live}`
  );
}

export function describeResult(result: SoakResult): string {
  const lines = [
    `requests ${result.requests} in ${(result.durationMs / 1000).toFixed(1)} s (${(result.requests / (result.durationMs / 1000)).toFixed(0)}/s), ` +
      `${result.faults} with an injected fault, ${result.configReloads} config reloads`,
    `by kind: ${Object.entries(result.byKind).map(([kind, count]) => `${kind} ${count}`).join(', ')}`,
    ...(result.storm.requests > 0 ? [`reset storm: ${result.storm.requests} GET /v1/models, ${result.storm.failed} without a 200`] : []),
    `errors ${result.errors}${result.errorSamples.length > 0 ? `: ${result.errorSamples.join(' | ')}` : ''}`,
    `service error log lines ${result.errorLogs.length}${result.errorLogs.length > 0 ? `: ${result.errorLogs.slice(0, 3).join(' | ')}` : ''}`,
    ...result.snapshots.map(describeSnapshot),
    'service metrics:',
    ...Object.entries(result.metrics).map(([key, value]) => `  ${key} ${value}`),
  ];
  return lines.join('\n');
}

/** Heap growth after GC between the warm-up and the end that counts as a leak. */
export const HEAP_GROWTH_BOUND = 16 * 1024 * 1024;
/** File descriptors the service may hold at the end beyond those after the warm-up (a reconnect in flight, a watcher). */
export const FD_SLACK = 4;

/** Why a soak failed; empty when it passed. `faultsExpected`: the reset storm, whose failed requests are the point. */
export function soakFailures(result: SoakResult, options: { errorsAllowed?: boolean } = {}): string[] {
  const failures: string[] = [];
  if (!options.errorsAllowed && result.errors > 0) failures.push(`${result.errors} requests failed: ${result.errorSamples.join(' | ')}`);
  if (result.errorLogs.length > 0) failures.push(`${result.errorLogs.length} error lines in the service's log: ${result.errorLogs.slice(0, 3).join(' | ')}`);
  const warm = result.snapshots.find((snapshot) => snapshot.at === 'after warm-up') ?? result.snapshots[0];
  const end = result.snapshots.at(-1);
  if (!warm || !end) return [...failures, 'no snapshots'];
  for (const [kind, count] of Object.entries(end.live)) if (count > 0) failures.push(`${count} ${kind} objects still live at the end`);
  if (end.heapUsed - warm.heapUsed > HEAP_GROWTH_BOUND) failures.push(`heap grew by ${MiB(end.heapUsed - warm.heapUsed)} after the warm-up (bound ${MiB(HEAP_GROWTH_BOUND)})`);
  if (end.closeWait > 0) failures.push(`${end.closeWait} sockets left in CLOSE-WAIT (seen: ${[...closeWaitSeen].join('; ')})`);
  if (end.fds > warm.fds + FD_SLACK) failures.push(`file descriptors grew from ${warm.fds} to ${end.fds}`);
  if ((result.metrics['llm_extproc_streams_active'] ?? 0) > 0) failures.push(`${result.metrics['llm_extproc_streams_active']} ext_proc streams still open`);
  return failures;
}
