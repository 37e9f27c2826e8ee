/**
 * `llm-extproc run` (src/cli/run.ts) with a fake Envoy (test/run/fake-envoy.ts): which Envoy is found, in which
 * order; the arguments and a bootstrap that validates against Envoy's protos; waiting for /ready, then the
 * listener and a curl; SIGTERM drains Envoy, then the service; Envoy dying means exit 1; no Envoy means a message
 * saying how to get one; ports checked before anything starts.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runGateway } from '../../src/cli/run.js';
import type { SignalSource } from '../../src/cli/serve.js';
import { createLogger } from '../../src/logging.js';
import { ENVOY_IMAGE, findEnvoy, NO_ENVOY_HELP } from '../../src/run/find-envoy.js';
import { COMPONENTS } from '../helpers/components.js';
import { installFake, type FakeEvent } from './fake-envoy-bin.js';
import { connects, freePort } from '../helpers/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OPTIONS = { timeout: 90_000 };

interface Setup {
  dir: string;
  config: string;
  report: string;
  listenPort: number;
  adminPort: number;
  /** A directory of fakes, for PATH. */
  bin(...names: Array<'envoy' | 'func-e' | 'docker'>): Promise<string>;
  events(): Promise<FakeEvent[]>;
}

async function setup(): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'llm-extproc-run-test-'));
  const [listenPort, adminPort] = [await freePort(), await freePort()];
  const config = join(dir, 'config.yaml');
  await writeFile(
    config,
    [
      'backends: [{ name: local, schema: OpenAI, endpoint: "http://127.0.0.1:1" }]',
      'models: [{ name: my-model, backends: [{ backend: local }] }]',
      `envoy: { listenAddress: 127.0.0.1, listenPort: ${listenPort}, adminPort: ${adminPort} }`,
    ].join('\n'),
  );
  const report = join(dir, 'report.jsonl');
  let count = 0;
  return {
    dir,
    config,
    report,
    listenPort,
    adminPort,
    async bin(...names) {
      const binDir = join(dir, `bin-${count++}`);
      await mkdir(binDir);
      for (const name of names) await installFake(binDir, name);
      return binDir;
    },
    async events() {
      if (!existsSync(report)) return [];
      return (await readFile(report, 'utf8'))
        .trim()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as FakeEvent);
    },
  };
}

interface LogLine {
  level: number;
  time: number;
  msg: string;
}

interface Running {
  code: Promise<number>;
  ready: Promise<{ listenUrl: string; curl: string | undefined }>;
  signals: EventEmitter;
  stdout(): string;
  stderr(): string;
  logs: LogLine[];
}

function startRun(env: NodeJS.ProcessEnv, configPath: string, envoyPath?: string): Running {
  let stdout = '';
  let stderr = '';
  const logs: LogLine[] = [];
  const signals = new EventEmitter();
  let resolveReady: (value: { listenUrl: string; curl: string | undefined }) => void = () => undefined;
  const ready = new Promise<{ listenUrl: string; curl: string | undefined }>((resolve) => (resolveReady = resolve));
  const code = runGateway({
    configPath,
    admin: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    envoyPath,
    envoyLogLevel: 'warning',
    drainTimeoutMs: 5_000,
    io: { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), env },
    components: COMPONENTS,
    signals: signals as unknown as SignalSource,
    logger: createLogger({ level: 'info', destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } }),
    readyTimeoutMs: 60_000,
    onReady: ({ listenUrl, curl }) => resolveReady({ listenUrl, curl }),
  });
  return { code, ready, signals, stdout: () => stdout, stderr: () => stderr, logs };
}

/** Resolves with the first of: ready, or the run's exit (then fails with its output). */
async function whenReady(run: Running): Promise<{ listenUrl: string; curl: string | undefined }> {
  return Promise.race([
    run.ready,
    run.code.then((code) => assert.fail(`run exited ${code} before Envoy was ready\nstdout: ${run.stdout()}\nstderr: ${run.stderr()}`)),
  ]);
}

describe('llm-extproc run: finding Envoy', OPTIONS, () => {
  let s: Setup;
  before(async () => {
    s = await setup();
  });
  after(async () => {
    await rm(s.dir, { recursive: true, force: true });
  });

  it('takes --envoy, then ENVOY_BIN, then envoy on PATH, then func-e, then docker', OPTIONS, async () => {
    const all = await s.bin('envoy', 'func-e', 'docker');
    const explicit = await s.bin('envoy');
    const fromEnv = await s.bin('envoy');
    const path = (...dirs: string[]) => ({ PATH: dirs.join(':') });
    const found = async (env: NodeJS.ProcessEnv, flag?: string) => {
      const result = await findEnvoy({ flag, env, user: '1000:1000' });
      assert.ok(result.ok, result.ok ? '' : result.error);
      return result.launcher;
    };
    assert.equal((await found({ ...path(all), ENVOY_BIN: join(fromEnv, 'envoy') }, join(explicit, 'envoy'))).command, join(explicit, 'envoy'));
    assert.equal((await found({ ...path(all), ENVOY_BIN: join(fromEnv, 'envoy') })).command, join(fromEnv, 'envoy'));
    const onPath = await found(path(all));
    assert.deepEqual([onPath.kind, onPath.command], ['binary', join(all, 'envoy')]);
    assert.deepEqual(onPath.args(['-c', 'x'], '/run'), ['-c', 'x']);

    const funcE = await found(path(await s.bin('func-e', 'docker')));
    assert.equal(funcE.kind, 'func-e');
    assert.deepEqual(funcE.args(['-c', 'x'], '/run'), ['run', '-c', 'x']);

    const docker = await found(path(await s.bin('docker')));
    assert.equal(docker.kind, 'docker');
    assert.deepEqual(docker.args(['-c', '/run/envoy.yaml'], '/run'), [
      'run', '--rm', '--network', 'host', '--user', '1000:1000', '--volume', '/run:/run', ENVOY_IMAGE, 'envoy', '-c', '/run/envoy.yaml',
    ]);
  });

  it('a given --envoy or ENVOY_BIN that is not executable is an error, not a reason to look further', OPTIONS, async () => {
    const all = await s.bin('envoy');
    const missing = join(s.dir, 'no-such-envoy');
    assert.deepEqual(await findEnvoy({ flag: missing, env: { PATH: all } }), {
      ok: false,
      error: `--envoy ${missing}: not an executable file; give the path of an Envoy binary`,
    });
    const notExecutable = join(s.dir, 'config.yaml');
    assert.deepEqual(await findEnvoy({ env: { PATH: all, ENVOY_BIN: notExecutable } }), {
      ok: false,
      error: `ENVOY_BIN ${notExecutable}: not an executable file; give the path of an Envoy binary`,
    });
  });

  it('with none of them, exits 1 saying how to get one, having started nothing', OPTIONS, async () => {
    const empty = await s.bin();
    const run = startRun({ PATH: empty, FAKE_ENVOY_REPORT: s.report }, s.config);
    assert.equal(await run.code, 1);
    assert.equal(run.stderr(), `llm-extproc run: ${NO_ENVOY_HELP}\n`);
    for (const needle of ['--envoy PATH', 'ENVOY_BIN', 'func-e', 'docker', ENVOY_IMAGE, 'docker compose up']) assert.ok(NO_ENVOY_HELP.includes(needle), needle);
    assert.equal(run.logs.length, 0, 'the service was not started');
    assert.equal(await connects(s.listenPort), false);
  });
});

describe('llm-extproc run: with a fake Envoy', OPTIONS, () => {
  let s: Setup;
  before(async () => {
    s = await setup();
  });
  after(async () => {
    await rm(s.dir, { recursive: true, force: true });
  });

  for (const kind of ['envoy', 'func-e', 'docker'] as const) {
    it(`${kind}: starts it with a valid bootstrap after the service, prints the listener and a curl, and on SIGTERM drains Envoy, then the service`, OPTIONS, async () => {
      await rm(s.report, { force: true });
      const bin = await s.bin(kind);
      // The Envoy binary comes through --envoy; func-e and docker from PATH.
      const run = startRun({ PATH: bin, FAKE_ENVOY_REPORT: s.report }, s.config, kind === 'envoy' ? join(bin, 'envoy') : undefined);
      const ready = await whenReady(run);
      assert.equal(ready.listenUrl, `http://127.0.0.1:${s.listenPort}`);
      assert.equal(
        ready.curl,
        `curl -s http://127.0.0.1:${s.listenPort}/v1/chat/completions -H 'content-type: application/json' \\\n` +
          `    -d '{"model":"my-model","messages":[{"role":"user","content":"Say hello in five words."}]}'`,
      );
      assert.ok(run.stdout().includes(`The gateway listens on http://127.0.0.1:${s.listenPort}`), run.stdout());
      assert.ok(run.stdout().includes(ready.curl ?? ''), run.stdout());
      assert.match(run.stderr(), /^\[envoy\] \[info\] fake envoy starting$/m, 'Envoy stdout, prefixed');
      assert.match(run.stderr(), /^\[envoy\] \[warning\] fake envoy admin on /m, 'Envoy stderr, prefixed');

      run.signals.emit('SIGTERM', 'SIGTERM');
      assert.equal(await run.code, 0, run.stderr());
      const events = await s.events();
      assert.deepEqual(
        events.map((event) => event.event),
        ['start', 'ext_proc', 'ready', 'drain', 'signal'],
        JSON.stringify(events),
      );
      assert.ok(events.every((event) => event.as === kind));
      const start = events[0] as FakeEvent;
      const envoyArgs = start['envoyArgs'] as string[];
      assert.deepEqual(envoyArgs.slice(2), ['--log-level', 'warning', '--disable-hot-restart', '--drain-strategy', 'immediate', '--drain-time-s', '5']);
      assert.equal(events[1]?.['health'], 'SERVING', 'the service served before Envoy started');
      assert.equal(events[3]?.['query'], 'graceful', 'a graceful listener drain');
      assert.deepEqual([events[4]?.['signal'], events[4]?.['health']], ['SIGTERM', 'SERVING'], 'Envoy stops while the service still serves');
      const stopped = run.logs.find((line) => line.msg === 'Envoy stopped; draining llm-extproc');
      assert.ok(stopped, JSON.stringify(run.logs.map((line) => line.msg)));
      assert.ok((events[4]?.['at'] as number) <= stopped.time + 1, 'the service drained after Envoy stopped');
      assert.equal(run.logs.at(-1)?.msg, 'stopped');
      assert.equal(existsSync(String(envoyArgs[1])), false, 'the run directory is removed');
    });
  }

  it('says that envoy.attemptResponseHeaders needs Envoy 1.37, naming the pinned image when it runs that', OPTIONS, async () => {
    await rm(s.report, { force: true });
    const config = join(s.dir, 'attempt-headers.yaml');
    await writeFile(config, (await readFile(s.config, 'utf8')).replace('envoy: {', 'envoy: { attemptResponseHeaders: true,'));
    const run = startRun({ PATH: await s.bin('docker'), FAKE_ENVOY_REPORT: s.report }, config);
    await whenReady(run);
    assert.match(run.stdout(), new RegExp(`^llm-extproc run: note: envoy\\.attemptResponseHeaders needs Envoy >= 1\\.37: .* \\(the image run here is ${ENVOY_IMAGE.replace(/\./g, '\\.')}\\)$`, 'm'));
    assert.ok(run.logs.some((line) => line.level === 40 && line.msg.startsWith('envoy.attemptResponseHeaders needs Envoy >= 1.37')));
    run.signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await run.code, 0, run.stderr());
    const plain = startRun({ PATH: await s.bin('docker'), FAKE_ENVOY_REPORT: s.report }, s.config);
    await whenReady(plain);
    assert.doesNotMatch(plain.stdout(), /attemptResponseHeaders/);
    plain.signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await plain.code, 0, plain.stderr());
  });

  it('exits 1 when Envoy dies, draining the service', OPTIONS, async () => {
    await rm(s.report, { force: true });
    const bin = await s.bin('envoy');
    const run = startRun({ PATH: bin, FAKE_ENVOY_REPORT: s.report, FAKE_ENVOY_EXIT_AFTER_READY: '3' }, s.config);
    const code = await run.code;
    assert.equal(code, 1);
    assert.match(run.stderr(), /llm-extproc run: Envoy exited unexpectedly \(code 3\); its output is above, prefixed \[envoy\]/);
    const exitLine = run.logs.findIndex((line) => line.level === 50 && line.msg === 'Envoy exited; draining llm-extproc');
    assert.ok(exitLine >= 0, JSON.stringify(run.logs.map((line) => line.msg)));
    assert.deepEqual((await s.events()).map((event) => event.event), ['start', 'ext_proc', 'ready'], 'no drain: Envoy was gone');
  });

  it('exits 1 when Envoy refuses to start, with its output prefixed', OPTIONS, async () => {
    await rm(s.report, { force: true });
    const bin = await s.bin('envoy');
    const run = startRun({ PATH: bin, FAKE_ENVOY_REPORT: s.report, FAKE_ENVOY_FAIL_START: 'bad config for this test' }, s.config);
    assert.equal(await run.code, 1);
    assert.match(run.stderr(), /^\[envoy\] fake envoy: bad config for this test$/m);
    assert.match(run.stderr(), /llm-extproc run: Envoy exited before it was ready \(code 1\)/);
  });

  it("refuses a port in use, naming the port and the config key, before starting anything", OPTIONS, async () => {
    await rm(s.report, { force: true });
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(s.listenPort, '127.0.0.1', resolve));
    try {
      const run = startRun({ PATH: await s.bin('envoy'), FAKE_ENVOY_REPORT: s.report }, s.config);
      assert.equal(await run.code, 1);
      assert.equal(
        run.stderr(),
        `llm-extproc run: cannot start: port ${s.listenPort} on 127.0.0.1: already in use by another process; change it with envoy.listenPort in ${s.config}\n`,
      );
      assert.deepEqual(await s.events(), [], 'Envoy was not started');
      assert.equal(run.logs.length, 0, 'the service was not started');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('reports config errors like validate, before looking for Envoy', OPTIONS, async () => {
    const bad = join(s.dir, 'bad.yaml');
    await writeFile(bad, 'models: [{ name: m, backends: [{ backend: ghost }] }]\n');
    const run = startRun({ PATH: '' }, bad);
    assert.equal(await run.code, 1);
    assert.equal(run.stderr(), `${bad}: 1 error\n  models[0].backends[0].backend: unknown backend "ghost"\n`);
  });
});

describe('the fake Envoy itself', OPTIONS, () => {
  it('refuses an invalid bootstrap and missing arguments, as Envoy would', OPTIONS, async () => {
    const s = await setup();
    try {
      const envoy = join(await s.bin('envoy'), 'envoy');
      const bad = join(s.dir, 'bad.yaml');
      await writeFile(bad, 'admin: { address: { socket_address: { address: 127.0.0.1, port_value: "x" } } }\nbogus: 1\n');
      const exec = (args: string[]) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) =>
          execFile(envoy, args, { env: { FAKE_ENVOY_REPORT: s.report } }, (error, _stdout, stderr) =>
            resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stderr }),
          ),
        );
      const invalid = await exec(['-c', bad, '--log-level', 'info', '--disable-hot-restart', '--drain-strategy', 'immediate', '--drain-time-s', '5']);
      assert.equal(invalid.code, 1);
      assert.match(invalid.stderr, /admin\.address\.socket_address\.port_value: expected an integer/);
      assert.match(invalid.stderr, /bogus: unknown field "bogus"/);
      const noDrainFlags = await exec(['-c', bad, '--log-level', 'info']);
      assert.equal(noDrainFlags.code, 1);
      assert.match(noDrainFlags.stderr, /expected --drain-strategy immediate/);
    } finally {
      await rm(s.dir, { recursive: true, force: true });
    }
  });
});

describe('llm-extproc run as a process', OPTIONS, () => {
  let s: Setup;
  before(async () => {
    s = await setup();
  });
  after(async () => {
    await rm(s.dir, { recursive: true, force: true });
  });

  it('forwards Ctrl-C (SIGINT): drains Envoy, then the service, and exits 0', OPTIONS, async () => {
    const bin = await s.bin('envoy');
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'llm-extproc.js'), 'run', '--config', s.config, '--admin', '127.0.0.1:0'], {
      cwd: ROOT,
      env: { PATH: `${bin}:${process.env['PATH'] ?? ''}`, HOME: s.dir, LOG_LEVEL: 'silent', FAKE_ENVOY_REPORT: s.report, LLM_EXTPROC_DRAIN_TIMEOUT_MS: '5000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('Ctrl-C drains')) resolve();
      });
      void exited.then((code) => reject(new Error(`exited ${code} before ready: ${stdout}\n${stderr}`)));
    });
    assert.match(stdout, /llm-extproc run: try it:\n  curl -s http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    const events = (await s.events()).map((event) => event.event);
    assert.deepEqual(events, ['start', 'ext_proc', 'ready', 'drain', 'signal']);
  });

  it('is in the usage text', OPTIONS, async () => {
    const usage = await new Promise<string>((resolve) =>
      execFile(process.execPath, [join(ROOT, 'bin', 'llm-extproc.js'), '--help'], { cwd: ROOT }, (_error, out) => resolve(out)),
    );
    assert.match(usage, /llm-extproc run \[--config FILE\] \[--envoy PATH\] \[--admin ADDR\] \[--envoy-log-level LEVEL\]/);
  });
});
