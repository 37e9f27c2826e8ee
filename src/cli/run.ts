/**
 * `llm-extproc run [--config FILE] [--envoy PATH] [--admin ADDR] [--envoy-log-level LEVEL]`: a working gateway on
 * one machine. Generates the Envoy bootstrap for the config, starts the ext_proc service in this process (on a Unix
 * socket in a private run directory), then starts Envoy (src/run/find-envoy.ts says which), waits for its admin
 * /ready and prints the listener and a curl for one of the models.
 *
 * SIGINT/SIGTERM drain Envoy (graceful listener drain, then SIGTERM), then the service; a second signal stops both
 * at once. If Envoy dies on its own, the service drains and the exit code is 1.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Components } from '../components.js';
import { loadConfigFile, type RuntimeConfig } from '../config/load.js';
import { ConfigError } from '../config/store.js';
import { ATTEMPT_RESPONSE_HEADERS_NOTE, renderEnvoyConfig } from '../envoy/index.js';
import { createLogger, type Logger } from '../logging.js';
import { checkListenAddresses, parseListenAddress, type ListenAddress } from '../net-address.js';
import { drainAndStop, startEnvoy, waitForReady, type EnvoyExit } from '../run/envoy-process.js';
import { ENVOY_IMAGE, findEnvoy } from '../run/find-envoy.js';
import { createService, StartupError, type Service } from '../service.js';
import { COMMANDS, type CommandIo, type CommandRun } from './commands.js';
import { configPath, parseFlags, stringFlag } from './options.js';
import { drainTimeout, drainWithin, listenForSignals, type SignalSource } from './serve.js';

export const DEFAULT_RUN_ADMIN = '127.0.0.1:1064';
const ENVOY_LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'warn', 'error', 'critical', 'off'];
/** Long enough for a first `docker run` that pulls the image. */
const READY_TIMEOUT_MS = 180_000;

export const runRun: CommandRun = async (args, io, components) => {
  const flags = parseFlags(args, {
    config: { type: 'string', short: 'c' },
    envoy: { type: 'string' },
    admin: { type: 'string' },
    'envoy-log-level': { type: 'string' },
  });
  if (!flags.ok) return usageError(io, flags.error);
  const admin = parseListenAddress(stringFlag(flags.values, 'admin') ?? DEFAULT_RUN_ADMIN);
  if (!admin.ok) return usageError(io, `--admin ${admin.error}`);
  const envoyLogLevel = stringFlag(flags.values, 'envoy-log-level') ?? 'warning';
  if (!ENVOY_LOG_LEVELS.includes(envoyLogLevel)) return usageError(io, `--envoy-log-level must be one of ${ENVOY_LOG_LEVELS.join(', ')}`);
  const drain = drainTimeout(io.env);
  if (!drain.ok) return usageError(io, drain.error);
  return runGateway({
    configPath: configPath(stringFlag(flags.values, 'config'), io.env),
    admin: admin.address,
    envoyPath: stringFlag(flags.values, 'envoy'),
    envoyLogLevel,
    drainTimeoutMs: drain.ms,
    io,
    components,
  });
};

function usageError(io: CommandIo, message: string): number {
  io.stderr(`llm-extproc run: ${message}\nusage: ${COMMANDS.run.usage}\n`);
  return 2;
}

export interface RunOptions {
  readonly configPath: string;
  readonly admin: ListenAddress;
  /** --envoy PATH */
  readonly envoyPath?: string | undefined;
  readonly envoyLogLevel: string;
  readonly drainTimeoutMs: number;
  readonly io: CommandIo;
  readonly components: Components;
  readonly signals?: SignalSource;
  readonly logger?: Logger;
  readonly readyTimeoutMs?: number;
  /** Called once Envoy is ready, with what was printed. */
  readonly onReady?: (ready: { service: Service; listenUrl: string; curl: string | undefined }) => void;
}

/** The URL clients call: Envoy's listener, with a wildcard address shown as localhost. */
function listenUrl(config: RuntimeConfig): string {
  const { listenAddress, listenPort } = config.file.envoy;
  const host = listenAddress === '0.0.0.0' || listenAddress === '::' ? 'localhost' : listenAddress.includes(':') ? `[${listenAddress}]` : listenAddress;
  return `http://${host}:${listenPort}`;
}

/** A curl for the first model: chat completions, in the OpenAI shape every backend schema serves. */
export function exampleCurl(config: RuntimeConfig, url: string): string | undefined {
  const model = config.models.keys().next().value;
  if (model === undefined) return undefined;
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello in five words.' }] });
  return `curl -s ${url}/v1/chat/completions -H 'content-type: application/json' \\\n    -d '${body.replace(/'/g, "'\\''")}'`;
}

/** Runs until a signal or until Envoy exits; resolves with the exit code. */
export async function runGateway(options: RunOptions): Promise<number> {
  const { io } = options;
  const say = (text: string) => io.stdout(`llm-extproc run: ${text}\n`);
  const fail = (text: string) => {
    io.stderr(`llm-extproc run: ${text}\n`);
    return 1;
  };
  const path = options.configPath;

  const loaded = await loadConfigFile(path, io.env, options.components.configValidators);
  if (!loaded.ok) {
    const count = loaded.errors.length;
    io.stderr(`${path}: ${count} error${count === 1 ? '' : 's'}\n${loaded.errors.map((error) => `  ${error}`).join('\n')}\n`);
    return 1;
  }
  const config = loaded.config;
  const envoySettings = config.file.envoy;

  const found = await findEnvoy({ flag: options.envoyPath, env: io.env });
  if (!found.ok) return fail(found.error);
  const launcher = found.launcher;
  const httpsBackends = [...config.backends.values()].filter((backend) => backend.endpoint.startsWith('https:'));
  if (launcher.kind !== 'docker' && httpsBackends.length > 0 && !existsSync(envoySettings.caFile)) {
    return fail(
      `envoy.caFile ${envoySettings.caFile} does not exist on this machine, and Envoy needs it to verify ${httpsBackends[0]?.endpoint}; ` +
        `set envoy.caFile in ${path} to this machine's CA bundle (macOS: /etc/ssl/cert.pem)`,
    );
  }

  const setBy = { listen: 'the run directory', admin: '--admin ADDR' };
  const portProblems = await checkListenAddresses([
    { address: options.admin, setBy: setBy.admin },
    { address: { kind: 'tcp', host: envoySettings.listenAddress, port: envoySettings.listenPort }, setBy: `envoy.listenPort in ${path}` },
    { address: { kind: 'tcp', host: '127.0.0.1', port: envoySettings.adminPort }, setBy: `envoy.adminPort in ${path}` },
  ]);
  if (portProblems.length > 0) {
    for (const problem of portProblems) fail(`cannot start: ${problem}`);
    return 1;
  }

  const runDirectory = await mkdtemp(join(tmpdir(), 'llm-extproc-run-'));
  const socket = join(runDirectory, 'extproc.sock');
  const bootstrapPath = join(runDirectory, 'envoy.yaml');
  const logger = options.logger ?? createLogger();
  let service: Service | undefined;
  let onSecondSignal = (): void => undefined;
  const shutdownSignal = listenForSignals(options.signals ?? process, logger, () => onSecondSignal());
  try {
    const rendered = renderEnvoyConfig(
      config,
      { extProc: `unix:${socket}` },
      { source: path, command: `llm-extproc run --config ${path} (written for this run only)` },
    );
    if (!rendered.ok) return fail(rendered.errors.join('; '));
    await writeFile(bootstrapPath, rendered.yaml);

    try {
      service = await createService({
        configPath: path,
        listen: { kind: 'unix', path: socket },
        admin: options.admin,
        env: io.env,
        logger,
        components: options.components,
        setBy,
      });
    } catch (error) {
      if (error instanceof ConfigError || error instanceof StartupError) return fail(error.message);
      throw error;
    }
    const running = service;

    const drainSeconds = Math.max(1, Math.ceil(options.drainTimeoutMs / 1000));
    const envoyArgs = [
      '-c',
      bootstrapPath,
      '--log-level',
      options.envoyLogLevel,
      // Two Envoys on one machine would share hot-restart memory otherwise.
      '--disable-hot-restart',
      // On a drain every connection is told to close at once, then given the drain time.
      '--drain-strategy',
      'immediate',
      '--drain-time-s',
      String(drainSeconds),
    ];
    logger.info({ envoy: launcher.description, bootstrap: bootstrapPath }, 'starting Envoy');
    say(`starting Envoy: ${launcher.description}`);
    if (envoySettings.upstreamFilter && envoySettings.attemptResponseHeaders) {
      // Envoy's version is not checked; the pinned image is older than the setting needs.
      const image = launcher.kind === 'docker' ? ` (the image run here is ${ENVOY_IMAGE})` : '';
      logger.warn({ envoy: launcher.description }, ATTEMPT_RESPONSE_HEADERS_NOTE);
      say(`note: ${ATTEMPT_RESPONSE_HEADERS_NOTE}${image}`);
    }
    const envoy = startEnvoy({
      launcher,
      envoyArgs,
      runDirectory,
      env: io.env,
      onLine: (line) => io.stderr(`[envoy] ${line}\n`),
      onSpawnError: (error) => io.stderr(`llm-extproc run: cannot start ${launcher.command}: ${error.message}\n`),
    });
    onSecondSignal = () => {
      logger.warn('second signal: stopping Envoy and closing all streams now');
      envoy.kill('SIGKILL');
      running.forceClose();
    };

    /** Drains the service after Envoy stopped; false when its drain timed out. */
    const drainService = async (): Promise<void> => {
      const drained = await drainWithin(running, options.drainTimeoutMs);
      if (!drained) running.forceClose();
    };
    const describeExit = (exit: EnvoyExit) => (exit.signal ? `signal ${exit.signal}` : `code ${String(exit.code)}`);

    const readiness = waitForReady(envoy, envoySettings.adminPort, options.readyTimeoutMs ?? READY_TIMEOUT_MS);
    const first = await Promise.race([readiness.then((result) => ({ kind: result })), shutdownSignal.promise.then(() => ({ kind: 'signal' as const }))]);
    if (first.kind === 'signal') {
      await drainAndStop(envoy, envoySettings.adminPort, options.drainTimeoutMs);
      await drainService();
      return 0;
    }
    if (first.kind !== 'ready') {
      const exit = first.kind === 'exited' ? await envoy.exited : await drainAndStop(envoy, envoySettings.adminPort, 0);
      await drainService();
      return fail(
        first.kind === 'exited'
          ? `Envoy exited before it was ready (${describeExit(exit)}); its output is above, prefixed [envoy]`
          : `Envoy was not ready within ${Math.round((options.readyTimeoutMs ?? READY_TIMEOUT_MS) / 1000)} s on its admin port ${envoySettings.adminPort}`,
      );
    }

    const url = listenUrl(config);
    const curl = exampleCurl(config, url);
    say(`Envoy is ready. The gateway listens on ${url}`);
    say(`  OpenAI API: ${url}/v1/…   Anthropic Messages API: ${url}/anthropic/v1/messages`);
    say(`  metrics: http://${running.adminAddress}/metrics   Envoy admin: http://127.0.0.1:${envoySettings.adminPort}`);
    if (curl !== undefined) say(`try it:\n  ${curl}`);
    else say(`${path} has no models: every request is answered 404 until you add one`);
    say('Ctrl-C drains Envoy, then llm-extproc, and stops.');
    options.onReady?.({ service: running, listenUrl: url, curl });

    const next = await Promise.race([envoy.exited.then((exit) => ({ kind: 'exited' as const, exit })), shutdownSignal.promise.then(() => ({ kind: 'signal' as const }))]);
    if (next.kind === 'exited') {
      logger.error({ code: next.exit.code, signal: next.exit.signal }, 'Envoy exited; draining llm-extproc');
      await drainService();
      return fail(`Envoy exited unexpectedly (${describeExit(next.exit)}); its output is above, prefixed [envoy]`);
    }
    logger.info({ timeoutMs: options.drainTimeoutMs }, 'draining Envoy, then llm-extproc');
    const exit = await drainAndStop(envoy, envoySettings.adminPort, options.drainTimeoutMs);
    logger.info({ code: exit.code, signal: exit.signal }, 'Envoy stopped; draining llm-extproc');
    await drainService();
    logger.info('stopped');
    return 0;
  } finally {
    shutdownSignal.remove();
    await service?.close();
    logger.flush();
    await rm(runDirectory, { recursive: true, force: true });
  }
}
