/**
 * Server-side CPU per request of the compiled service (dist/, as shipped) against a no-op ext_proc server, each in
 * its own process, driven over the same gRPC message sequences from this process. CPU is read from /proc/<pid>/stat
 * (Linux), so the client's own work is not counted. Used for the hot-path work of issue #9; numbers are noisy on a
 * shared machine, run it a few times.
 *
 *   npm run build && node --import tsx scripts/hotpath-cpu.ts [requests]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { ProcessingRequest } from '../src/server/ext-proc-types.js';
import { connectExtProc, ExtProcTestStream, gatewayMetadata, headerMap } from '../test/helpers/ext-proc-client.js';

const REQUESTS = Number(process.argv[2] ?? 400);
const ONLY = process.argv[3];
const CONCURRENCY = 8;
const CONFIG = `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-bench } } }
  - { name: claude, schema: Anthropic, endpoint: https://api.anthropic.com, auth: { anthropicApiKey: { value: sk-bench } } }
models:
  - { name: gpt-4o-mini, backends: [{ backend: openai }] }
  - { name: big, backends: [{ backend: openai, modelNameOverride: gpt-4o }] }
  - { name: claude, backends: [{ backend: claude, modelNameOverride: claude-sonnet-4-5 }] }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken }
`;

const NOOP = `
import * as grpc from 'GRPC_JS';
import { extProcServiceDefinition } from 'PROTO_MODULE';
const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
server.addService(extProcServiceDefinition.service(), {
  Process: (call) => {
    call.on('data', (message) => {
      const kind = message.request;
      if (kind) call.write({ [kind]: kind.endsWith('trailers') ? {} : { response: {} } });
    });
    call.on('end', () => call.end());
    call.on('error', () => {});
  },
});
server.bindAsync('127.0.0.1:' + process.argv[2], grpc.ServerCredentials.createInsecure(), () => {});
`;

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function waitForPort(address: string): Promise<void> {
  const client = connectExtProc(address);
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 20_000, (error) => (error ? reject(error) : resolve())));
  client.close();
}

async function start(kind: 'service' | 'noop', port: number): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'hotpath-'));
  let child: ChildProcess;
  if (kind === 'service') {
    const config = join(dir, 'config.yaml');
    writeFileSync(config, CONFIG);
    const profile = process.env['HOTPATH_PROFILE_DIR'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['HOTPATH_PROFILE_DIR']}`] : [];
    child = spawn(process.execPath, [...profile, 'dist/main.js', 'serve', '--config', config, '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${port + 1}`], { stdio: 'inherit', env: { ...process.env, LOG_LEVEL: 'silent' } });
  } else {
    const file = join(mkdtempSync(join(tmpdir(), 'hotpath-noop-')), 'noop.ts');
    writeFileSync(file, NOOP.replace('GRPC_JS', createRequire(import.meta.url).resolve('@grpc/grpc-js')).replace('PROTO_MODULE', join(process.cwd(), 'src/server/proto.ts')));
    child = spawn(process.execPath, ['--import', 'tsx', file, String(port)], { stdio: 'inherit' });
  }
  await waitForPort(`127.0.0.1:${port}`);
  return child;
}

const chat = (model: string, stream: boolean, extra: object = {}) =>
  Buffer.from(JSON.stringify({ model, stream, messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say hello in five words. '.repeat(20) }], max_tokens: 64, ...extra }));
const tools = { tools: Array.from({ length: 4 }, (_, index) => ({ type: 'function', function: { name: `tool_${index}`, description: 'Looks something up.', parameters: { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'integer' } }, required: ['query'] } } })) };
const bigBody = (() => {
  const filler = 'lorem ipsum dolor sit amet '.repeat(40);
  const messages = [];
  while (JSON.stringify(messages).length < 2 * 1024 * 1024) messages.push({ role: 'user', content: filler });
  return Buffer.from(JSON.stringify({ model: 'big', messages }));
})();
const jsonAnswer = Buffer.from(JSON.stringify({ id: 'c', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there, how are you?' }, finish_reason: 'stop' }], usage: { prompt_tokens: 120, completion_tokens: 7, total_tokens: 127 } }));
const anthropicAnswer = Buffer.from(JSON.stringify({ id: 'm', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'tool_use', id: 't1', name: 'tool_0', input: { query: 'x' } }], stop_reason: 'tool_use', usage: { input_tokens: 120, output_tokens: 7 } }));
const openAIStream = [
  'data: {"id":"c","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n',
  ...Array.from({ length: 40 }, (_, index) => `data: {"id":"c","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"word${index} "}}]}\n\n`),
  'data: {"id":"c","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":40,"total_tokens":160}}\n\ndata: [DONE]\n\n',
];

interface Scenario { name: string; model: string; backend: string; body: Buffer; contentType: string; chunks: Buffer[] }
const scenarios: Scenario[] = [
  { name: 'OpenAI passthrough (JSON)', model: 'gpt-4o-mini', backend: 'openai', body: chat('gpt-4o-mini', false), contentType: 'application/json', chunks: [jsonAnswer] },
  { name: 'OpenAI streaming (42 chunks)', model: 'gpt-4o-mini', backend: 'openai', body: chat('gpt-4o-mini', true), contentType: 'text/event-stream', chunks: openAIStream.map((chunk) => Buffer.from(chunk)) },
  { name: '2 MB body, model override', model: 'big', backend: 'openai', body: bigBody, contentType: 'application/json', chunks: [jsonAnswer] },
  { name: 'OpenAI->Anthropic with tools', model: 'claude', backend: 'claude', body: chat('claude', false, tools), contentType: 'application/json', chunks: [anthropicAnswer] },
];

async function oneRequest(client: grpc.Client, scenario: Scenario): Promise<void> {
  const router = new ExtProcTestStream(client);
  const headersAnswer = await router.send({ request_headers: { headers: headerMap({ ':path': '/v1/chat/completions', ':method': 'POST', ':authority': 'gateway', 'content-type': 'application/json', 'user-agent': 'bench', 'x-request-id': 'r' }) } });
  await router.send({ request_body: { body: scenario.body, end_of_stream: true } });
  const id = gatewayMetadata(headersAnswer)['llm_extproc_exchange_id'];
  const upstream = new ExtProcTestStream(client);
  const upstreamHeaders: ProcessingRequest = {
    request_headers: { headers: headerMap({ ':path': '/v1/chat/completions', ':method': 'POST', ':authority': 'gateway' }) },
    attributes: { 'envoy.filters.http.ext_proc': { fields: { "xds.upstream_host_metadata.filter_metadata['llm_extproc']['backend']": { stringValue: scenario.backend } } } },
    metadata_context: { filter_metadata: { 'io.envoy.ai_gateway': { fields: { llm_extproc_exchange_id: { stringValue: typeof id === 'string' ? id : '' } } } } },
  };
  await upstream.send(upstreamHeaders);
  upstream.close(true);
  await router.send({ response_headers: { headers: headerMap({ ':status': '200', 'content-type': scenario.contentType }) } });
  for (const [index, chunk] of scenario.chunks.entries()) await router.send({ response_body: { body: chunk, end_of_stream: index === scenario.chunks.length - 1 } });
  router.close(true);
}

async function run(client: grpc.Client, scenario: Scenario, count: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) {
      next += 1;
      await oneRequest(client, scenario);
    }
  }));
}

const base = 40000 + Math.floor(Math.random() * 10000);
const service = await start('service', base);
const noop = await start('noop', base + 5);
const targets = [['llm-extproc', service, connectExtProc(`127.0.0.1:${base}`)], ['no-op', noop, connectExtProc(`127.0.0.1:${base + 5}`)]] as const;
console.log(`server CPU per request (ms), ${REQUESTS} requests per scenario, node ${process.version}`);
for (const scenario of scenarios.filter((entry) => ONLY === undefined || entry.name.includes(ONLY))) {
  const count = scenario.body.length > 1e6 ? Math.max(20, REQUESTS / 10) : REQUESTS;
  const perRequest: number[] = [];
  for (const [, child, client] of targets) {
    await run(client, scenario, 20);
    const before = cpuMs(child.pid as number);
    await run(client, scenario, count);
    perRequest.push((cpuMs(child.pid as number) - before) / count);
  }
  const [ours, baseline] = perRequest as [number, number];
  const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  console.log(`${scenario.name.padEnd(32)} llm-extproc ${ours.toFixed(3)}  no-op ${baseline.toFixed(3)}  ratio ${(ours / baseline).toFixed(2)}  (rss ${rss(service.pid as number).toFixed(0)} MB)`);
}
for (const [, child, client] of targets) {
  client.close();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}
process.exit(0);
