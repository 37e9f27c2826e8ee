/**
 * A credential from the environment, a file, or inline. File secrets are re-read (asynchronously)
 * when they change, so rotated tokens (Azure Entra, GCP, projected service-account tokens) are picked up.
 */
import { readFile, stat } from 'node:fs/promises';
import type { SecretRef } from './schema.js';

const REFRESH_MS = 30_000;

export class Secret {
  private current: string;
  private mtimeMs = 0;
  private inode = 0;
  private refreshing: Promise<boolean> | undefined;
  private lastCheck = Date.now();

  private constructor(
    value: string,
    /** The file a `{file: PATH}` secret is read from (the config store watches it). */
    readonly file?: string,
  ) {
    this.current = value;
  }

  /** The current value ('' when an optional environment variable is unset). Never logged. */
  get value(): string {
    if (this.file && Date.now() - this.lastCheck > REFRESH_MS) void this.refresh();
    return this.current;
  }

  /**
   * Re-reads a file secret if the file changed (its mtime, or the file itself: a Kubernetes volume update
   * swaps in a new one). Resolves true when the value changed. An empty or unreadable file keeps the last value.
   */
  refresh(): Promise<boolean> {
    if (!this.file) return Promise.resolve(false);
    this.lastCheck = Date.now();
    this.refreshing ??= (async () => {
      try {
        const info = await stat(this.file as string);
        if (info.mtimeMs === this.mtimeMs && info.ino === this.inode) return false;
        const text = (await readFile(this.file as string, 'utf8')).trim();
        if (text === '') return false;
        this.mtimeMs = info.mtimeMs;
        this.inode = info.ino;
        const changed = text !== this.current;
        this.current = text;
        return changed;
      } catch {
        // keep the last good value; the next check tries again
        return false;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** A fixed secret, for tests and generated credentials. */
  static of(value: string): Secret {
    return new Secret(value);
  }

  static async resolve(ref: SecretRef, path: string, env: NodeJS.ProcessEnv, errors: string[]): Promise<Secret | undefined> {
    if ('value' in ref) return new Secret(ref.value);
    if ('env' in ref) {
      const value = env[ref.env];
      if (value === undefined || value === '') {
        if (ref.optional) return new Secret('');
        errors.push(`${path}: environment variable ${ref.env} is not set`);
        return undefined;
      }
      return new Secret(value);
    }
    try {
      const [text, info] = await Promise.all([readFile(ref.file, 'utf8'), stat(ref.file)]);
      const secret = new Secret(text.trim(), ref.file);
      secret.mtimeMs = info.mtimeMs;
      secret.inode = info.ino;
      if (secret.current === '') errors.push(`${path}: file ${ref.file} is empty`);
      return secret;
    } catch (error) {
      errors.push(`${path}: cannot read secret file ${ref.file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
      return undefined;
    }
  }

  toJSON(): string {
    return '[secret]';
  }

  toString(): string {
    return '[secret]';
  }
}
