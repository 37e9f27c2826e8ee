/** Option handling shared by the subcommands. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileURLToPath } from 'node:url';

/** The shipped default config, found relative to the package so any working directory works. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));
export const DEFAULT_LISTEN = '0.0.0.0:1063';
export const DEFAULT_ADMIN = '0.0.0.0:1064';

/** What the usage text says about FILE and ADDR. */
export const USAGE_NOTES = [
  'FILE: the config; without --config, $LLM_EXTPROC_CONFIG, else the shipped config/default.yaml',
  'ADDR: host:port, [ipv6]:port or unix:/path; serve listens on --listen 0.0.0.0:1063 and --admin 0.0.0.0:1064 by default',
];

/** --config, else LLM_EXTPROC_CONFIG, else config/default.yaml. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? (env['LLM_EXTPROC_CONFIG'] || undefined) ?? DEFAULT_CONFIG_PATH;
}

export type ParsedFlags = { ok: true; values: Record<string, string | boolean | undefined> } | { ok: false; error: string };

/** node:util parseArgs, strict, with errors as values. */
export function parseFlags(args: string[], options: NonNullable<ParseArgsConfig['options']>): ParsedFlags {
  try {
    const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
    return { ok: true, values: values as Record<string, string | boolean | undefined> };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

export function stringFlag(values: Record<string, string | boolean | undefined>, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}
