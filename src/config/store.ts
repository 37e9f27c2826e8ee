/**
 * Holds the current RuntimeConfig and, when asked, follows the file: a valid new
 * version replaces `current` (for new requests) and notifies listeners; an invalid one
 * is logged error by error, counted, and the old config keeps serving.
 *
 * The directory is watched rather than the file, so editors that save by rename and
 * Kubernetes ConfigMap updates (a `..data` symlink swap) are seen. Events are debounced
 * and all I/O is asynchronous.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../logging.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { configReadError, parseConfig, type ConfigValidator, type LoadResult, type RuntimeConfig } from './load.js';

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
  metrics: Pick<GatewayMetrics, 'recordConfigReload' | 'setKnownModelsFromConfig'>;
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

export class ConfigStore {
  private config: RuntimeConfig;
  private lastText: string;
  private readonly listeners = new Set<ConfigListener>();
  private watcher: FSWatcher | undefined;
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
    const store = new ConfigStore(absolute, result.config, text.text, options);
    if (options.watch) store.startWatching();
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
  }

  private startWatching(): void {
    const directory = dirname(this.path);
    try {
      // Any entry of the directory: the file itself, a rename onto it, or a ConfigMap
      // "..data" swap. An unchanged file is skipped after reading, so noise is cheap.
      this.watcher = watch(directory, () => this.schedule());
      this.watcher.on('error', (error) => {
        this.options.logger.error({ err: error, path: this.path }, 'config watch failed; hot reload stopped');
      });
    } catch (error) {
      this.options.logger.error({ err: error, path: this.path }, 'cannot watch config directory; hot reload disabled');
    }
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
    const { logger, metrics } = this.options;
    const text = await readText(this.path);
    if (this.closed) return;
    if (!text.ok) {
      metrics.recordConfigReload('failure');
      logger.error({ path: this.path, error: text.error }, 'config reload failed; keeping the previous config');
      return;
    }
    if (text.text === this.lastText) return;
    if (text.text.trim() === '') {
      // Most likely a write caught half way; an empty file would drop every model.
      metrics.recordConfigReload('failure');
      logger.error({ path: this.path }, 'config file is empty; keeping the previous config');
      return;
    }
    const parsed = await parseConfig(text.text, this.path, this.options.env ?? process.env, this.options.validators);
    if (this.closed) return;
    const problems = parsed.ok ? (this.options.accept?.(parsed.config) ?? []) : [];
    const result: LoadResult = parsed.ok && problems.length > 0 ? { ok: false, errors: problems } : parsed;
    if (!result.ok) {
      metrics.recordConfigReload('failure');
      for (const error of result.errors) logger.error({ path: this.path, error }, 'invalid config');
      logger.error(
        { path: this.path, errorCount: result.errors.length },
        'config reload rejected; keeping the previous config',
      );
      return;
    }
    this.lastText = text.text;
    this.config = result.config;
    metrics.setKnownModelsFromConfig(result.config);
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
  }
}

async function readText(path: string): Promise<{ ok: true; text: string } | { ok: false; error: string }> {
  try {
    return { ok: true, text: await readFile(path, 'utf8') };
  } catch (error) {
    return { ok: false, error: configReadError(path, error) };
  }
}
