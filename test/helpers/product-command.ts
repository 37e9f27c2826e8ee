/**
 * The product's command line, as `npm start` runs it: package.json's `scripts.start` split into argv, with `node`
 * replaced by the running Node binary. test/deploy/entrypoints.test.ts checks that the Dockerfile, compose and the
 * Kubernetes manifests start the same entry; process-level suites spawn exactly this.
 */
import { readFileSync } from 'node:fs';

const PACKAGE_JSON = new URL('../../package.json', import.meta.url);

export interface ProductCommand {
  /** process.execPath. */
  command: string;
  /** e.g. ['--import', 'tsx', 'src/main.ts', 'serve']; paths are relative to the repository root (spawn with cwd there). */
  args: string[];
}

/** package.json's start script as argv; throws when it is missing or does not start with `node`. */
export function productCommand(): ProductCommand {
  const manifest = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { scripts?: Record<string, string> };
  const start = manifest.scripts?.['start'];
  if (start === undefined) throw new Error('package.json has no scripts.start');
  const [program, ...args] = start.trim().split(/\s+/);
  if (program !== 'node') throw new Error(`package.json scripts.start must run node, got "${start}"`);
  return { command: process.execPath, args };
}
