/**
 * Memory per held router stream: opens N ext_proc streams on the compiled service (dist/) and on a no-op server, each
 * in its own process, sends each stream its request headers (the exchange is then held, waiting for the body) and
 * reads the server's RSS growth from /proc. Linux only; noisy, run it a few times.
 *
 *   npm run build && node --import tsx scripts/hotpath-held.ts [streams]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { connectExtProc, ExtProcTestStream, headerMap } from '../test/helpers/ext-proc-client.js';

const STREAMS = Number(process.argv[2] ?? 2000);
const CONFIG = `
backends:
  - { name: openai, schema: OpenAI, endpoint: https://api.openai.com, auth: { apiKey: { value: sk-bench-0123456789 } } }
models:
  - { name: gpt-4o-mini, backends: [{ backend: openai }] }
costs:
  - { metadataKey: llm_input_token, type: InputToken }
`;
const NOOP = `
import * as grpc from 'GRPC_JS';
import { extProcServiceDefinition } from 'PROTO_MODULE';
const server = new grpc.Server();
server.addService(extProcServiceDefinition.service(), {
  Process: (call) => {
    call.on('data', (message) => { const kind = message.request; if (kind) call.write({ [kind]: kind.endsWith('trailers') ? {} : { response: {} } }); });
    call.on('end', () => call.end());
    call.on('error', () => {});
  },
});
server.bindAsync('127.0.0.1:' + process.argv[2], grpc.ServerCredentials.createInsecure(), () => {});
`;

const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

async function start(kind: 'service' | 'noop', port: number): Promise<ChildProcess> {
  let child: ChildProcess;
  if (kind === 'service') {
    const config = join(mkdtempSync(join(tmpdir(), 'hotpath-held-')), 'config.yaml');
    writeFileSync(config, CONFIG);
    child = spawn(process.execPath, ['--expose-gc', 'dist/main.js', 'serve', '--config', config, '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${port + 1}`], { stdio: 'inherit', env: { ...process.env, LOG_LEVEL: 'silent' } });
  } else {
    const file = join(mkdtempSync(join(tmpdir(), 'hotpath-noop-')), 'noop.ts');
    writeFileSync(file, NOOP.replace('GRPC_JS', createRequire(import.meta.url).resolve('@grpc/grpc-js')).replace('PROTO_MODULE', join(process.cwd(), 'src/server/proto.ts')));
    child = spawn(process.execPath, ['--import', 'tsx', file, String(port)], { stdio: 'inherit' });
  }
  const client = connectExtProc(`127.0.0.1:${port}`);
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 20_000, (error) => (error ? reject(error) : resolve())));
  client.close();
  return child;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 1500));
const base = 45000 + Math.floor(Math.random() * 10000);
for (const [name, kind, port] of [['llm-extproc', 'service', base], ['no-op', 'noop', base + 5]] as const) {
  const child = await start(kind, port);
  const client = connectExtProc(`127.0.0.1:${port}`);
  // Warm up, then measure the growth from holding STREAMS streams.
  const warm = await Promise.all(Array.from({ length: 200 }, async () => { const stream = new ExtProcTestStream(client); await stream.send({ request_headers: { headers: headerMap({ ':path': '/v1/chat/completions', ':method': 'POST', 'content-type': 'application/json' }) } }); return stream; }));
  for (const stream of warm) stream.close(true);
  await settle();
  const before = rss(child.pid as number);
  const held: ExtProcTestStream[] = [];
  for (let index = 0; index < STREAMS; index += 1) {
    const stream = new ExtProcTestStream(client);
    held.push(stream);
    await stream.send({ request_headers: { headers: headerMap({ ':path': '/v1/chat/completions', ':method': 'POST', 'content-type': 'application/json', authorization: 'Bearer sk-client', 'x-request-id': `r-${index}` }) } });
  }
  await settle();
  const after = rss(child.pid as number);
  console.log(`${name.padEnd(12)} ${STREAMS} held streams: RSS +${(after - before).toFixed(1)} MB, ${(((after - before) * 1024) / STREAMS).toFixed(2)} KB per stream`);
  for (const stream of held) stream.close(true);
  client.close();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}
process.exit(0);
