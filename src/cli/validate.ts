/**
 * `llm-extproc validate [--config FILE] [--skip-secrets] [--allow-no-models] [--envoy-config FILE]`: every config
 * error with its path, all in one pass, exit 1; "<file>: ok", exit 0. With --envoy-config, an Envoy bootstrap that
 * uses ext_proc without the graceful-close runtime flag gets a warning (the exit code is unchanged).
 * Beyond what `serve` refuses, a config without models is an error here (unless --allow-no-models): it would start,
 * and answer every request 404. --skip-secrets checks everything but the secrets and the files they name, for CI
 * pipelines that do not hold them.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { loadConfigFile, type LoadResult } from '../config/load.js';
import { ATTEMPT_RESPONSE_HEADERS_NOTE } from '../envoy/settings.js';
import { unservableBackends } from '../translators/table.js';
import { gracefulCloseIn, gracefulCloseWarning } from '../envoy/runtime.js';
import { COMMANDS, type CommandRun } from './commands.js';
import { configPath, parseFlags, stringFlag } from './options.js';

export const NO_MODELS_ERROR = 'models: the config has no models; every request would be answered 404';

/** True when config text is YAML naming no model: an empty file, no `models` key, or an empty list. */
export function declaresNoModels(text: string): boolean {
  const document = parseDocument(text);
  if (document.errors.length > 0) return false;
  const raw: unknown = document.toJS();
  if (raw === null || raw === undefined) return true;
  if (typeof raw !== 'object' || Array.isArray(raw)) return false;
  const models: unknown = (raw as Record<string, unknown>)['models'];
  // A bare `models:` (null) is a schema error of its own.
  return models === undefined || (Array.isArray(models) && models.length === 0);
}

/** Whether the config has no models; for a config that failed to load, from its text (false when unreadable). */
async function hasNoModels(path: string, result: LoadResult): Promise<boolean> {
  if (result.ok) return result.config.models.size === 0;
  try {
    return declaresNoModels(await readFile(path, 'utf8'));
  } catch {
    return false;
  }
}

export const runValidate: CommandRun = async (args, io, components) => {
  const flags = parseFlags(args, {
    config: { type: 'string', short: 'c' },
    'allow-no-models': { type: 'boolean' },
    'skip-secrets': { type: 'boolean' },
    'envoy-config': { type: 'string' },
  });
  if (!flags.ok) {
    io.stderr(`llm-extproc validate: ${flags.error}\nusage: ${COMMANDS.validate.usage}\n`);
    return 2;
  }
  const path = configPath(stringFlag(flags.values, 'config'), io.env);
  const skipSecrets = flags.values['skip-secrets'] === true;
  const result = await loadConfigFile(path, io.env, components.configValidators, { secrets: skipSecrets ? 'skip' : 'resolve' });
  const errors = result.ok ? unservableBackends(result.config, components.translators) : [...result.errors];
  const envoyConfig = stringFlag(flags.values, 'envoy-config');
  if (envoyConfig !== undefined) {
    const envoyError = await checkEnvoyConfig(envoyConfig, io.stderr);
    if (envoyError) errors.push(envoyError);
  }
  if (flags.values['allow-no-models'] !== true && (await hasNoModels(path, result))) errors.push(NO_MODELS_ERROR);
  if (errors.length === 0) {
    io.stdout(`${path}: ok${skipSecrets ? ' (secrets not checked)' : ''}\n`);
    if (result.ok && result.config.file.envoy.attemptResponseHeaders) io.stdout(`  note: ${ATTEMPT_RESPONSE_HEADERS_NOTE}\n`);
    return 0;
  }
  const count = errors.length;
  io.stderr(`${path}: ${count} error${count === 1 ? '' : 's'}\n${errors.map((error) => `  ${error}`).join('\n')}\n`);
  return 1;
};

/** Warns (on stderr) when an Envoy bootstrap uses ext_proc without the graceful close; an unreadable file is an error. */
async function checkEnvoyConfig(path: string, stderr: (text: string) => void): Promise<string | undefined> {
  let bootstrap: unknown;
  try {
    const document = parseDocument(await readFile(path, 'utf8'));
    if (document.errors.length > 0) return `--envoy-config: ${path}: ${document.errors[0]?.message ?? 'not YAML or JSON'}`;
    bootstrap = document.toJS();
  } catch (error) {
    return `--envoy-config: ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  }
  if (gracefulCloseIn(bootstrap) === 'off') stderr(`${gracefulCloseWarning(path)}\n`);
  return undefined;
}
