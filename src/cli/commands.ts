/**
 * The CLI's subcommands. Adding one is a new module exporting a Command plus one line in COMMANDS below.
 */
import type { Components } from '../components.js';
import { serveCommand } from './serve.js';
import { validateCommand } from './validate.js';
import { envoyCommand } from '../envoy/cli.js';

/** What a command may touch, injectable for tests. */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  /** One line for the usage text. */
  summary: string;
  /** The command's own usage line(s), e.g. "llm-extproc validate --config FILE". */
  usage: string;
  /** Resolves with the process exit code (2 for usage errors). `components` come from src/components.ts. */
  run(args: string[], io: CommandIo, components: Components): Promise<number>;
}

export const COMMANDS: ReadonlyMap<string, Command> = new Map<string, Command>([
  ['serve', serveCommand],
  ['validate', validateCommand],
  ['envoy', envoyCommand],
]);

export function usageText(): string {
  const lines = ['Usage:'];
  for (const command of COMMANDS.values()) lines.push(`  ${command.usage}`);
  lines.push('', 'Commands:');
  for (const [name, command] of COMMANDS) lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  return `${lines.join('\n')}\n`;
}
