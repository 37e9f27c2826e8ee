/**
 * The CLI's subcommands, one line each. A command's module is loaded only when it runs, so `validate` does not
 * pay for the gRPC server and `serve` does not pay for the Envoy generator. Adding one is a module exporting a
 * CommandRun plus one entry below.
 */
import type { Components } from '../components.js';
import { USAGE_NOTES } from './options.js';

/** What a command may touch, injectable for tests. */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

/** Runs a command; resolves with the process exit code (2 for usage errors). `components` come from src/components.ts. */
export type CommandRun = (args: string[], io: CommandIo, components: Components) => Promise<number>;

export interface Command {
  /** One line for the usage text. */
  readonly summary: string;
  /** The command's own usage line(s), e.g. "llm-extproc validate --config FILE". */
  readonly usage: string;
  readonly load: () => Promise<CommandRun>;
}

export const COMMANDS = {
  serve: {
    summary: 'run the ext_proc gRPC service and the admin HTTP server',
    usage: 'llm-extproc serve [--config FILE] [--listen ADDR] [--admin ADDR] [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]',
    load: async () => (await import('./serve.js')).runServe,
  },
  validate: {
    summary: 'check a config file (secrets and the files it names included) and print every error',
    usage: 'llm-extproc validate [--config FILE] [--skip-secrets] [--allow-no-models] [--envoy-config FILE]',
    load: async () => (await import('./validate.js')).runValidate,
  },
  envoy: {
    summary: 'print the Envoy bootstrap (YAML) for a config',
    usage: 'llm-extproc envoy [--config FILE] [--extproc ADDR] [--ratelimit ADDR]',
    load: async () => (await import('../envoy/cli.js')).runEnvoy,
  },
  run: {
    summary: 'run a local gateway: the ext_proc service in-process, plus Envoy with a generated bootstrap',
    usage: 'llm-extproc run [--config FILE] [--envoy PATH] [--admin ADDR] [--envoy-log-level LEVEL]',
    load: async () => (await import('./run.js')).runRun,
  },
} as const satisfies Record<string, Command>;

export type CommandName = keyof typeof COMMANDS;

export function findCommand(name: string): Command | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
}

/** The usage of one command, with the notes on FILE and ADDR. */
export function commandUsageText(command: Command): string {
  return `usage: ${command.usage}\n\n${USAGE_NOTES.join('\n')}\n`;
}

export function usageText(): string {
  const lines = ['Usage:'];
  for (const command of Object.values(COMMANDS)) lines.push(`  ${command.usage}`);
  lines.push('', 'Commands:');
  for (const [name, command] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  lines.push('', ...USAGE_NOTES, '', 'llm-extproc --version prints the version.');
  return `${lines.join('\n')}\n`;
}
