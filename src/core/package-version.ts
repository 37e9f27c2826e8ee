/**
 * The package's version, from the package.json two levels up: above src/core/, dist/core/ and dist/bundle/ alike
 * ('unknown' when it cannot be read).
 */
import { readFile } from 'node:fs/promises';
import { isRecord, safeParseJson } from './json.js';

export async function packageVersion(): Promise<string> {
  let text: string;
  try {
    text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
  } catch {
    return 'unknown';
  }
  const manifest = safeParseJson(text);
  const version = manifest.ok && isRecord(manifest.value) ? manifest.value['version'] : undefined;
  return typeof version === 'string' ? version : 'unknown';
}
