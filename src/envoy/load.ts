/**
 * Loads a config for generating Envoy config. Envoy never sees credentials, so secrets are not resolved (they become
 * placeholders) and the files they name need not exist; the rest of the validation is the same as for serving.
 */
import { loadConfigFile, parseConfig, type ConfigValidator, type LoadResult } from '../config/load.js';

/** Parses config text for the generator: full validation, no secrets needed. */
export function parseConfigForEnvoy(text: string, source: string, validators: readonly ConfigValidator[]): Promise<LoadResult> {
  return parseConfig(text, source, {}, validators, { secrets: 'skip' });
}

export function loadConfigForEnvoy(path: string, validators: readonly ConfigValidator[]): Promise<LoadResult> {
  return loadConfigFile(path, {}, validators, { secrets: 'skip' });
}
