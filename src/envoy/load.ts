/**
 * Loads a config for generating Envoy config. Envoy never sees credentials, so secrets are not resolved: every
 * secret reference is replaced by a placeholder before the normal validation (schema and cross-references) runs.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument, stringify } from 'yaml';
import { isRecord } from '../core/json.js';
import { parseConfig, type ConfigValidator, type LoadResult } from '../config/load.js';

function isSecretRef(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const keys = Object.keys(value);
  return ('env' in value || 'file' in value || 'value' in value) && keys.every((key) => ['env', 'file', 'value', 'optional'].includes(key));
}

/** Replaces secret references inside `auth` sections with inline placeholders. */
function withoutSecrets(value: unknown, insideAuth: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => withoutSecrets(item, insideAuth));
  if (!isRecord(value)) return value;
  if (insideAuth && isSecretRef(value)) return { value: 'not-needed-for-envoy-config' };
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) out[key] = withoutSecrets(child, insideAuth || key === 'auth');
  return out;
}

/** Parses config text for the generator: full validation, no secrets needed. */
export async function parseConfigForEnvoy(text: string, source: string, validators: readonly ConfigValidator[]): Promise<LoadResult> {
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) return parseConfig(text, source, {}, validators);
  const placeholderText = stringify(withoutSecrets(document.toJS() ?? {}, false));
  return parseConfig(placeholderText, source, {}, validators);
}

export async function loadConfigForEnvoy(path: string, validators: readonly ConfigValidator[]): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, errors: [`${path}: cannot read config: ${(error as NodeJS.ErrnoException).code ?? String(error)}`] };
  }
  return parseConfigForEnvoy(text, path, validators);
}
