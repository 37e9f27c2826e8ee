/**
 * The CLI's subcommands, one line each. A command's module is loaded only when it runs, so `validate` does not
 * pay for the gRPC server and `serve` does not pay for the Envoy generator. Adding one is a module exporting a
 * CommandRun plus one entry below.
 */
import type { Components } from '../components.js';

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
    usage: 'llm-extproc serve [--config FILE] [--listen ADDR] [--admin ADDR] [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]   (ADDR: host:port | unix:/path)',
    load: async () => (await import('./serve.js')).runServe,
  },
  validate: {
    summary: 'check a config file (secrets included) and print every error',
    usage: 'llm-extproc validate --config FILE [--allow-no-models]',
    load: async () => (await import('./validate.js')).runValidate,
  },
  envoy: {
    summary: 'print the Envoy bootstrap (YAML) for a config',
    usage: 'llm-extproc envoy --config FILE [--extproc ADDR] [--ratelimit ADDR]',
    load: async () => (await import('../envoy/cli.js')).runEnvoy,
  },
} as const satisfies Record<string, Command>;

export type CommandName = keyof typeof COMMANDS;

export function findCommand(name: string): Command | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
}

export function usageText(): string {
  const lines = ['Usage:'];
  for (const command of Object.values(COMMANDS)) lines.push(`  ${command.usage}`);
  lines.push('', 'Commands:');
  for (const [name, command] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  return `${lines.join('\n')}\n`;
}
