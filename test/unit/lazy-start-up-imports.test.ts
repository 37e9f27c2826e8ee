/**
 * Packages the serve path loads on first use, not when it is imported: tiktoken (its import compiles a 5.6 MB WASM
 * module), @smithy/eventstream-codec (a dozen @smithy/core modules, for AWS streams only) and the CEL library (for
 * CEL costs only; an ES module, so its loads are seen through a module hook). Each check runs in a
 * fresh child process, since this one may have loaded them already; a CommonJS package, however imported, is in
 * require.cache under its resolved path once loaded.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';

/** Runs `body` as an ES module (tsx, repo root) after `loaded(pkg)` is defined; resolves with its stdout lines. */
function inChild(body: string): Promise<string[]> {
  const script = `
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/package.json');
const loaded = (pkg) => require.resolve(pkg) in require.cache;
${body}
`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000, env: { ...process.env, LOG_LEVEL: 'silent' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout.trim().split('\n'));
    });
  });
}

describe('start-up imports', { timeout: 90_000 }, () => {
  it('the serve path imports neither tiktoken nor @smithy/eventstream-codec', async () => {
    const lines = await inChild(`
await import('./src/cli/serve.ts');
await import('./src/service.ts');
const { createComponents } = await import('./src/components.ts');
createComponents();
console.log('tiktoken', loaded('tiktoken'));
console.log('eventstream', loaded('@smithy/eventstream-codec'));
`);
    assert.deepEqual(lines, ['tiktoken false', 'eventstream false']);
  });

  it('tiktoken is loaded by the first encoder, and counts', async () => {
    const lines = await inChild(`
const { encodeCount, preloadEncoders } = await import('./src/costs/tokenizer.ts');
console.log(loaded('tiktoken'));
preloadEncoders(['llama3.2']);
console.log(loaded('tiktoken'));
console.log(encodeCount('cl100k_base', 'hello world'));
`);
    assert.deepEqual(lines, ['false', 'true', '2']);
  });

  it('preloading collects garbage first without leaving gc exposed to the service, and counts', async () => {
    const lines = await inChild(`
import { runInNewContext } from 'node:vm';
const { encodeCount, preloadEncoders } = await import('./src/costs/tokenizer.ts');
console.log(typeof globalThis.gc, runInNewContext('typeof gc'));
preloadEncoders(['gpt-4o']);
console.log(typeof globalThis.gc, runInNewContext('typeof gc'));
console.log(encodeCount('o200k_base', 'hello world'));
`);
    assert.deepEqual(lines, ['undefined undefined', 'undefined undefined', '2']);
  });

  it("tiktoken compiled with V8's baseline tier only (no reserve cost) counts exactly as the optimised one", async () => {
    const script = (optimize: boolean) => `
const { encodeCount, preloadEncoders } = await import('./src/costs/tokenizer.ts');
preloadEncoders(['gpt-4o', 'llama3.2'], ${optimize});
const text = 'Budgets hold when every token is charged. 漢字の文章です。 ' + 'x'.repeat(300);
console.log(encodeCount('o200k_base', text), encodeCount('cl100k_base', text));
`;
    const [baseline, optimised] = await Promise.all([inChild(script(false)), inChild(script(true))]);
    assert.deepEqual(baseline, optimised);
    assert.match(baseline[0] ?? '', /^\d+ \d+$/);
  });

  it('@smithy/eventstream-codec is loaded by the first frame, and decodes it', async () => {
    const lines = await inChild(`
import { crc32 } from 'node:zlib';
const { EventStreamDecoder } = await import('./src/core/aws-eventstream.ts');
const decoder = new EventStreamDecoder();
console.log(loaded('@smithy/eventstream-codec'));
const payload = new TextEncoder().encode('{"a":1}');
const frame = new Uint8Array(16 + payload.length);
const view = new DataView(frame.buffer);
view.setUint32(0, frame.length);
view.setUint32(4, 0);
view.setUint32(8, crc32(frame.subarray(0, 8)));
frame.set(payload, 12);
view.setUint32(frame.length - 4, crc32(frame.subarray(0, frame.length - 4)));
const result = decoder.push(frame);
console.log(loaded('@smithy/eventstream-codec'));
console.log(result.error?.code ?? 'ok', result.messages.length, new TextDecoder().decode(result.messages[0].body));
`);
    assert.deepEqual(lines, ['false', 'true', 'ok 1 {"a":1}']);
  });

  it('the CEL library is loaded by the first CEL compile, not by the serve path', async () => {
    // ES modules are not in require.cache when imported: a load hook reports every module URL loaded from here on.
    const lines = await inChild(`
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const urls = [];
port1.on('message', (url) => urls.push(url));
port1.unref();
const hook = 'export function initialize({ port }) { globalThis.reportTo = port; } export async function load(url, context, next) { globalThis.reportTo.postMessage(url); return next(url, context); }';
register('data:text/javascript,' + encodeURIComponent(hook), { data: { port: port2 }, transferList: [port2] });
const celLoaded = async () => {
  await new Promise((resolve) => setTimeout(resolve, 50));
  return urls.some((url) => url.includes('/@marcbachmann/cel-js/')) || loaded('@marcbachmann/cel-js');
};
await import('./src/cli/serve.ts');
await import('./src/service.ts');
const { createComponents } = await import('./src/components.ts');
createComponents();
const { compileCel, evaluateCel } = await import('./src/costs/cel.ts');
console.log(urls.some((url) => url.endsWith('/src/costs/cel.ts')), await celLoaded());
const compiled = compileCel('input_tokens * 2 + 1');
console.log(await celLoaded(), compiled.ok && evaluateCel(compiled.compiled, { model: 'm', backend: 'b', input_tokens: 3, cached_input_tokens: 0, cache_creation_input_tokens: 0, output_tokens: 0, reasoning_tokens: 0, total_tokens: 3 }, 'k'));
`);
    assert.deepEqual(lines, ['true false', 'true 7']);
  });
});
