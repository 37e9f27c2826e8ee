/** Installs test/run/fake-envoy.ts as executables (`envoy`, `func-e`, `docker`) in a directory, for PATH or --envoy. */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const FAKE = new URL('./fake-envoy.ts', import.meta.url).href;
const TSX_API = import.meta.resolve('tsx/esm/api');

/**
 * Writes an executable called `name` that runs the fake. It is CommonJS (an extension-less file outside any
 * package), so it loads tsx and the fake with dynamic imports; the shebang names this Node.
 */
export async function installFake(directory: string, name: 'envoy' | 'func-e' | 'docker'): Promise<string> {
  const path = join(directory, name);
  const script = [
    `#!${process.execPath}`,
    `import(${JSON.stringify(TSX_API)}).then(({ register }) => { register(); return import(${JSON.stringify(FAKE)}); })`,
    '  .catch((error) => { console.error(error); process.exit(70); });',
    '',
  ].join('\n');
  await writeFile(path, script);
  await chmod(path, 0o755);
  return path;
}

/** One line of the fake's report. */
export interface FakeEvent {
  event: 'start' | 'refused' | 'ext_proc' | 'ready' | 'drain' | 'signal';
  as: string;
  [key: string]: unknown;
}
