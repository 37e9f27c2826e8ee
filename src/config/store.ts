/**
 * Holds the current RuntimeConfig and, when asked, follows the file: a valid new
 * version replaces `current` (for new requests) and notifies listeners; an invalid one
 * is logged error by error, counted, and the old config keeps serving.
 *
 * Only the config file and the `{file: PATH}` secret files it names are followed (src/config/watch.ts): their
 * directories are watched, for saves by rename and Kubernetes ConfigMap `..data` swaps, but writes to other
 * files there are ignored, and a directory that is deleted and recreated is found again. A failure is logged
 * and counted once, until the file changes to a different failure or to a valid config. Events are debounced
 * and all I/O is asynchronous.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from '../logging.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { configReadError, fileSecretsOf, parseConfig, secretFilesIn, type ConfigValidator, type LoadResult, type RuntimeConfig } from './load.js';
import { FileSetWatcher } from './watch.js';

export const RELOAD_DEBOUNCE_MS = 100;

/** Thrown by ConfigStore.open when the first load fails; `errors` has every problem. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly errors: readonly string[],
  ) {
    super(`invalid config ${source}:\n  ${errors.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigStoreOptions {
  logger: Logger;
  metrics: Pick<GatewayMetrics, 'recordConfigReload' | 'setKnownModelsFromConfig' | 'recordConfigLoaded'>;
  /** Follow the file and reload on change. */
  watch: boolean;
  /** Checks beyond the schema (from src/components.ts), run on the first load and on every reload. */
  validators: readonly ConfigValidator[];
  /** A config that cannot be served (beyond what validators say): problems reject it at start and on reload. */
  accept?: (config: RuntimeConfig) => string[];
  env?: NodeJS.ProcessEnv;
  debounceMs?: number;
}

export type ConfigListener = (config: RuntimeConfig) => void;

/**
 * What one reload did: `applied` a new config; found the file `unchanged`; `rejected` it (logged and counted);
 * or rejected it `again` for the same reason as last time (neither logged nor counted).
 */
export interface ReloadAttempt {
  readonly outcome: 'applied' | 'unchanged' | 'rejected' | 'again';
  /** Secret files whose value changed during this attempt. */
  readonly secretsChanged: readonly string[];
}
export type ReloadAttemptListener = (attempt: ReloadAttempt) => void;

export class ConfigStore {
  private config: RuntimeConfig;
  private lastText: string;
  private readonly listeners = new Set<ConfigListener>();
  private readonly attemptListeners = new Set<ReloadAttemptListener>();
  private watcher: FileSetWatcher | undefined;
  /** What the last failure was (its errors), so the same failure is logged and counted once. */
  private lastFailure: string | undefined;
  /** The last problem the watcher reported per directory, so each is logged once. */
  private readonly watchProblems = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private pending = false;
  private closed = false;

  private constructor(
    readonly path: string,
    config: RuntimeConfig,
    text: string,
    private readonly options: ConfigStoreOptions,
  ) {
    this.config = config;
    this.lastText = text;
  }

  /** Loads the file; throws ConfigError listing every problem if it is invalid. */
  static async open(path: string, options: ConfigStoreOptions): Promise<ConfigStore> {
    const absolute = resolve(path);
    const env = options.env ?? process.env;
    const text = await readText(absolute);
    if (!text.ok) throw new ConfigError(absolute, [text.error]);
    const result = await parseConfig(text.text, absolute, env, options.validators);
    if (!result.ok) throw new ConfigError(absolute, result.errors);
    const problems = options.accept?.(result.config) ?? [];
    if (problems.length > 0) throw new ConfigError(absolute, problems);
    options.metrics.setKnownModelsFromConfig(result.config);
    options.metrics.recordConfigLoaded(configHash(text.text));
    const store = new ConfigStore(absolute, result.config, text.text, options);
    if (options.watch) await store.startWatching();
    return store;
  }

  /** The config new requests should use. */
  get current(): RuntimeConfig {
    return this.config;
  }

  /** Called with each newly applied config. Returns a function that unsubscribes. */
  onChange(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called after every reload, whatever it did (tests wait on it instead of polling). Returns a function that unsubscribes. */
  onReloadAttempt(listener: ReloadAttemptListener): () => void {
    this.attemptListeners.add(listener);
    return () => this.attemptListeners.delete(listener);
  }

  /** The directories followed for changes (tests). */
  get watchedDirectories(): string[] {
    return this.watcher?.directories ?? [];
  }

  /**
   * Re-reads the file now. Resolves once this (or an already running) reload is done.
   * An unchanged file is not reloaded.
   */
  reload(): Promise<void> {
    if (this.running) {
      this.pending = true;
      return this.running;
    }
    this.running = this.reloadOnce().finally(() => {
      this.running = undefined;
      if (this.pending && !this.closed) {
        this.pending = false;
        void this.reload();
      }
    });
    return this.running;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
    this.listeners.clear();
    this.attemptListeners.clear();
  }

  private async startWatching(): Promise<void> {
    this.watcher = new FileSetWatcher({
      onChange: () => this.schedule(),
      onProblem: (message, directory) => {
        if (this.watchProblems.get(directory) === message) return;
        this.watchProblems.set(directory, message);
        this.options.logger.warn({ path: this.path, directory }, `config watch: ${message}`);
      },
    });
    await this.watcher.setFiles(this.followedFiles(this.lastText));
  }

  /** The config file and the secret files its text names. */
  private followedFiles(text: string): string[] {
    return [this.path, ...secretFilesIn(text).map((file) => resolve(file))];
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, this.options.debounceMs ?? RELOAD_DEBOUNCE_MS);
  }

  private async reloadOnce(): Promise<void> {
    const secretsChanged = await this.refreshSecretFiles();
    const text = await readText(this.path);
    if (this.closed) return;
    const outcome = await this.apply(text);
    if (this.closed) return;
    // Follow what the file names now (a new secret file, or one the rejected text needs).
    this.watchProblems.clear();
    await this.watcher?.setFiles(this.followedFiles(text.ok ? text.text : this.lastText));
    for (const listener of this.attemptListeners) {
      try {
        listener({ outcome, secretsChanged });
      } catch (error) {
        this.options.logger.error({ err: error }, 'config reload listener failed');
      }
    }
  }

  /** Re-reads the current config's secret files; returns those whose value changed. */
  private async refreshSecretFiles(): Promise<string[]> {
    const changed: string[] = [];
    for (const secret of fileSecretsOf(this.config)) {
      if (await secret.refresh()) changed.push(secret.file as string);
    }
    if (changed.length > 0) this.options.logger.info({ path: this.path, files: changed }, 'secret files reloaded');
    return changed;
  }

  private async apply(text: Awaited<ReturnType<typeof readText>>): Promise<ReloadAttempt['outcome']> {
    const { logger, metrics } = this.options;
    if (!text.ok) {
      return this.fail(`read:${text.error}`, () => logger.error({ path: this.path, error: text.error }, 'config reload failed; keeping the previous config'));
    }
    if (text.text === this.lastText) {
      this.lastFailure = undefined;
      return 'unchanged';
    }
    if (text.text.trim() === '') {
      // Most likely a write caught half way; an empty file would drop every model.
      return this.fail('empty', () => logger.error({ path: this.path }, 'config file is empty; keeping the previous config'));
    }
    const parsed = await parseConfig(text.text, this.path, this.options.env ?? process.env, this.options.validators);
    if (this.closed) return 'unchanged';
    const problems = parsed.ok ? (this.options.accept?.(parsed.config) ?? []) : [];
    const result: LoadResult = parsed.ok && problems.length > 0 ? { ok: false, errors: problems } : parsed;
    if (!result.ok) {
      return this.fail(`invalid:${result.errors.join('\n')}`, () => {
        for (const error of result.errors) logger.error({ path: this.path, error }, 'invalid config');
        logger.error({ path: this.path, errorCount: result.errors.length }, 'config reload rejected; keeping the previous config');
      });
    }
    this.lastText = text.text;
    this.lastFailure = undefined;
    this.config = result.config;
    metrics.setKnownModelsFromConfig(result.config);
    metrics.recordConfigLoaded(configHash(text.text));
    metrics.recordConfigReload('success');
    logger.info(
      { path: this.path, backends: result.config.backends.size, models: result.config.models.size },
      'config reloaded',
    );
    for (const listener of this.listeners) {
      try {
        listener(result.config);
      } catch (error) {
        logger.error({ err: error }, 'config change listener failed');
      }
    }
    return 'applied';
  }

  /** A failed reload: logged and counted the first time, silent while the same failure repeats. */
  private fail(failure: string, log: () => void): ReloadAttempt['outcome'] {
    if (failure === this.lastFailure) return 'again';
    this.lastFailure = failure;
    this.options.metrics.recordConfigReload('failure');
    log();
    return 'rejected';
  }
}

/** What identifies a config version in the metrics: the first 12 hex digits of the file's SHA-256. */
export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

async function readText(path: string): Promise<{ ok: true; text: string } | { ok: false; error: string }> {
  try {
    return { ok: true, text: await readFile(path, 'utf8') };
  } catch (error) {
    return { ok: false, error: configReadError(path, error) };
  }
}
