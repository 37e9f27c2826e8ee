/**
 * Follows a set of files (the config and the secret files it names) and calls `onChange` when one of them may
 * have changed, and only then.
 *
 * Each file's directory is watched, not the file, so saves by rename and Kubernetes ConfigMap updates are seen:
 * a ConfigMap mounts `config.yaml -> ..data/config.yaml` and `..data -> ..<timestamp>`, and an update swaps the
 * `..data` symlink. Events for other entries of the directory (a log file, another app's files) are ignored. A
 * file that is a symlink into another directory has that directory watched too.
 *
 * A watched directory that is deleted (or renamed away) stops delivering events, so its loss is detected (an
 * event named after the directory itself, or a watcher error) and the directory is looked for again every
 * `retryMs` until it is back; then it is watched again and `onChange` fires. There is no event for a directory
 * coming back, hence the timer.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

export const DIRECTORY_RETRY_MS = 500;
/** The name of the symlink a Kubernetes ConfigMap or Secret volume swaps on update. */
const KUBERNETES_DATA = '..data';

export interface FileSetWatcherOptions {
  /** A watched file may have changed. */
  onChange(): void;
  /** A directory could not be watched, or was lost (logged by the caller). */
  onProblem(message: string, directory: string): void;
  retryMs?: number;
}

interface Target {
  readonly names: Set<string>;
  /** The directory of a configured path (looked for again when lost), not one reached through a symlink. */
  primary: boolean;
}

interface Watched {
  watcher?: FSWatcher;
  inode?: number;
  retry?: NodeJS.Timeout;
}

export class FileSetWatcher {
  private targets = new Map<string, Target>();
  private readonly watched = new Map<string, Watched>();
  private closed = false;
  private updating: Promise<void> = Promise.resolve();

  constructor(private readonly options: FileSetWatcherOptions) {}

  /** Follows exactly these files from now on. Resolves once the watchers are in place. */
  setFiles(paths: readonly string[]): Promise<void> {
    this.updating = this.updating.then(() => this.apply(paths));
    return this.updating;
  }

  /** The directories being watched (tests). */
  get directories(): string[] {
    return [...this.watched].filter(([, entry]) => entry.watcher !== undefined).map(([directory]) => directory);
  }

  close(): void {
    this.closed = true;
    for (const directory of [...this.watched.keys()]) this.unwatch(directory);
  }

  private async apply(paths: readonly string[]): Promise<void> {
    const targets = new Map<string, Target>();
    const add = (directory: string, name: string, primary: boolean) => {
      const target = targets.get(directory) ?? { names: new Set<string>(), primary };
      target.names.add(name);
      target.primary ||= primary;
      targets.set(directory, target);
    };
    for (const path of paths) {
      const directory = dirname(path);
      add(directory, basename(path), true);
      add(directory, KUBERNETES_DATA, true);
      const real = await realTarget(path);
      if (real !== undefined && dirname(real) !== directory) add(dirname(real), basename(real), false);
    }
    if (this.closed) return;
    this.targets = targets;
    for (const directory of [...this.watched.keys()]) if (!targets.has(directory)) this.unwatch(directory);
    for (const directory of targets.keys()) if (!this.watched.has(directory)) await this.watchDirectory(directory);
  }

  private async watchDirectory(directory: string): Promise<boolean> {
    const entry: Watched = this.watched.get(directory) ?? {};
    this.watched.set(directory, entry);
    try {
      const info = await stat(directory);
      if (this.closed || !this.targets.has(directory) || entry.watcher) return true;
      const watcher = watch(directory, (_event, name) => this.onEvent(directory, name));
      watcher.on('error', () => this.lost(directory));
      entry.watcher = watcher;
      entry.inode = info.ino;
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.options.onProblem(`cannot watch: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, directory);
      this.lost(directory);
      return false;
    }
  }

  private onEvent(directory: string, name: string | Buffer | null): void {
    const target = this.targets.get(directory);
    if (!target || this.closed) return;
    const entry = name === null ? undefined : String(name);
    if (entry === undefined || target.names.has(entry)) {
      this.options.onChange();
      return;
    }
    // Linux reports the watched directory's own removal as an event named after it.
    if (entry === basename(directory)) void this.checkDirectory(directory);
  }

  private async checkDirectory(directory: string): Promise<void> {
    const entry = this.watched.get(directory);
    if (!entry?.watcher) return;
    const inode = await stat(directory).then(
      (info) => info.ino,
      () => undefined,
    );
    if (inode !== entry.inode) this.lost(directory);
  }

  /** The directory is gone (or replaced): stop its watcher; look for it again if it is one of ours. */
  private lost(directory: string): void {
    const entry = this.watched.get(directory);
    if (!entry || this.closed) return;
    entry.watcher?.close();
    entry.watcher = undefined;
    entry.inode = undefined;
    const target = this.targets.get(directory);
    if (!target?.primary) {
      this.unwatch(directory);
      this.options.onChange();
      return;
    }
    if (entry.retry) return;
    this.options.onProblem('directory is gone; watching for it to come back', directory);
    const retry = () => {
      entry.retry = setTimeout(() => {
        entry.retry = undefined;
        if (this.closed || !this.targets.has(directory)) return;
        void stat(directory).then(
          async () => {
            if (await this.watchDirectory(directory)) this.options.onChange();
          },
          () => retry(),
        );
      }, this.options.retryMs ?? DIRECTORY_RETRY_MS);
    };
    retry();
    // What was there may already be back (or a replacement directory is in place): check now too.
    this.options.onChange();
  }

  private unwatch(directory: string): void {
    const entry = this.watched.get(directory);
    if (!entry) return;
    entry.watcher?.close();
    if (entry.retry) clearTimeout(entry.retry);
    this.watched.delete(directory);
  }
}

/** Where a symlinked path finally points (undefined when it is no symlink or cannot be resolved). */
async function realTarget(path: string): Promise<string | undefined> {
  try {
    if (!(await lstat(path)).isSymbolicLink()) return undefined;
    return await realpath(path);
  } catch {
    return undefined;
  }
}
