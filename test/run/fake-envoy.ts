/**
 * A fake Envoy for the `llm-extproc run` tests (no Envoy or Docker here). test/run/fake-envoy-bin.ts installs it in a
 * temporary directory as an executable named `envoy`, `func-e` or `docker`; it plays that program:
 *
 * - `func-e` must be called as `func-e run <envoy args>`; `docker` as `docker run --rm --network host
 *   [--user U] --volume DIR:DIR <the pinned image> envoy <envoy args>`, with the bootstrap inside DIR.
 * - The Envoy arguments must be `-c FILE --log-level L --disable-hot-restart --drain-strategy immediate
 *   --drain-time-s N`, and FILE must validate against Envoy's API protos (test/envoy-config/validate.ts), as Envoy
 *   would refuse it otherwise (exit 1).
 * - The ext_proc cluster's address must answer grpc.health.v1 SERVING: the service starts before Envoy.
 * - It serves Envoy's admin endpoints on the bootstrap's admin port: GET /ready (LIVE), POST /drain_listeners,
 *   GET /stats (downstream_rq_active lines).
 * - On SIGTERM or SIGINT it checks the ext_proc health once more (the service drains after Envoy), then exits 0.
 * - FAKE_ENVOY_EXIT_AFTER_READY=<code>: exits with that code right after answering /ready once.
 *   FAKE_ENVOY_FAIL_START=<message>: exits 1 at once, as Envoy does on a config it refuses.
 *
 * Every step is appended to FAKE_ENVOY_REPORT as a JSON line: {event, ...}.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename, dirname } from 'node:path';
import { parse } from 'yaml';
import { ENVOY_IMAGE } from '../../src/run/find-envoy.js';
import { validateEnvoyYaml } from '../envoy-config/validate.js';
import { check, healthClient } from '../helpers/health-client.js';

const REPORT = process.env['FAKE_ENVOY_REPORT'] ?? '';
const as = basename(process.argv[1] ?? 'envoy');

function report(event: string, detail: Record<string, unknown> = {}): void {
  if (REPORT !== '') appendFileSync(REPORT, `${JSON.stringify({ event, as, at: Date.now(), ...detail })}\n`);
}

function refuse(message: string): never {
  report('refused', { message });
  process.stderr.write(`fake ${as}: ${message}\n`);
  process.exit(1);
}

/** The Envoy arguments, after checking how func-e or docker was called. */
function envoyArguments(argv: string[]): { args: string[]; mounted?: string } {
  if (as === 'envoy') return { args: argv };
  if (as === 'func-e') {
    if (argv[0] !== 'run') refuse(`expected "func-e run ...", got ${argv.join(' ')}`);
    return { args: argv.slice(1) };
  }
  if (as === 'docker') {
    if (argv[0] !== 'run') refuse(`expected "docker run ...", got ${argv.join(' ')}`);
    const image = argv.indexOf(ENVOY_IMAGE);
    if (image < 0) refuse(`expected the pinned image ${ENVOY_IMAGE} in ${argv.join(' ')}`);
    const options = argv.slice(1, image);
    if (!options.includes('--rm')) refuse('expected --rm');
    const network = options.indexOf('--network');
    if (network < 0 || options[network + 1] !== 'host') refuse('expected --network host');
    const volume = options.indexOf('--volume');
    const [from, to] = (options[volume + 1] ?? '').split(':');
    if (volume < 0 || !from || from !== to) refuse(`expected --volume DIR:DIR, got ${options.join(' ')}`);
    if (argv[image + 1] !== 'envoy') refuse(`expected "envoy" after the image, got ${argv[image + 1]}`);
    return { args: argv.slice(image + 2), mounted: from };
  }
  return refuse(`unknown program name ${as}`);
}

function flagValue(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Follows keys and indexes; undefined where a step is missing. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const step of path) {
    if (typeof step === 'number') current = Array.isArray(current) ? current[step] : undefined;
    else current = record(current)[step];
  }
  return current;
}

function healthCheck(address: string): Promise<string> {
  const client = healthClient(address);
  return check(client, '')
    .catch((error: Error) => `ERROR ${error.message}`)
    .finally(() => client.close());
}

const { args, mounted } = envoyArguments(process.argv.slice(2));
report('start', { path: process.argv[1], argv: process.argv.slice(2), envoyArgs: args });
if (process.env['FAKE_ENVOY_FAIL_START']) refuse(process.env['FAKE_ENVOY_FAIL_START']);
const configFile = flagValue(args, '-c');
if (configFile === undefined) refuse('no -c FILE');
if (mounted !== undefined && dirname(configFile) !== mounted) refuse(`the bootstrap ${configFile} is not in the mounted ${mounted}`);
for (const [flag, expected] of [
  ['--drain-strategy', 'immediate'],
  ['--log-level', undefined],
  ['--drain-time-s', undefined],
] as const) {
  const value = flagValue(args, flag);
  if (value === undefined || (expected !== undefined && value !== expected)) refuse(`expected ${flag} ${expected ?? 'VALUE'}`);
}
if (!args.includes('--disable-hot-restart')) refuse('expected --disable-hot-restart');

const text = readFileSync(configFile, 'utf8');
const errors = validateEnvoyYaml(text);
if (errors.length > 0) refuse(`invalid bootstrap:\n${errors.join('\n')}`);
const bootstrap = record(parse(text));
const adminPort = Number(at(bootstrap, 'admin', 'address', 'socket_address', 'port_value'));
const clusters = (at(bootstrap, 'static_resources', 'clusters') as unknown[]).map(record);
const extProc = clusters.find((cluster) => cluster['name'] === 'llm_extproc');
const address = record(at(extProc, 'load_assignment', 'endpoints', 0, 'lb_endpoints', 0, 'endpoint', 'address'));
const pipe = at(address, 'pipe', 'path');
const socketAddress = record(address['socket_address']);
const extProcTarget = typeof pipe === 'string' ? `unix:${pipe}` : `${String(socketAddress['address'])}:${String(socketAddress['port_value'])}`;
const health = await healthCheck(extProcTarget);
report('ext_proc', { target: extProcTarget, health });
if (health !== 'SERVING') refuse(`ext_proc at ${extProcTarget} is not serving: ${health}`);

process.stdout.write('[info] fake envoy starting\n');
process.stderr.write(`[warning] fake envoy admin on 127.0.0.1:${adminPort}\n`);
const exitAfterReady = process.env['FAKE_ENVOY_EXIT_AFTER_READY'];
const admin = createServer((request, response) => {
  const path = (request.url ?? '/').split('?')[0];
  if (request.method === 'GET' && path === '/ready') {
    response.end('LIVE\n');
    report('ready');
    if (exitAfterReady !== undefined) response.on('finish', () => process.exit(Number(exitAfterReady)));
    return;
  }
  if (request.method === 'POST' && path === '/drain_listeners') {
    report('drain', { query: (request.url ?? '').split('?')[1] ?? '' });
    response.end('OK\n');
    return;
  }
  if (request.method === 'GET' && path === '/stats') {
    response.end('http.llm.downstream_rq_active: 0\nhttp.admin.downstream_rq_active: 1\n');
    return;
  }
  response.statusCode = 404;
  response.end();
});
admin.listen(adminPort, '127.0.0.1');
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    // Draining Envoy comes first: the service must still be serving when Envoy is told to stop.
    void healthCheck(extProcTarget).then((healthAtSignal) => {
      report('signal', { signal, health: healthAtSignal });
      admin.close();
      admin.closeAllConnections();
      process.exit(0);
    });
  });
}
