/**
 * The CLI's subcommands. Adding one (e.g. `llm-extproc envoy ...`) is a new module
 * exporting a Command plus one line in COMMANDS below.
 */
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
  /** Resolves with the process exit code (2 for usage errors). */
  run(args: string[], io: CommandIo): Promise<number>;
}

export const COMMANDS: Map<string, Command> = new Map<string, Command>([
  ['serve', serveCommand],
  ['validate', validateCommand],
  ['envoy', envoyCommand],
]);

/** Lets a module add a subcommand at run time (the table above is preferred). */
export function registerCommand(name: string, command: Command): void {
  COMMANDS.set(name, command);
}

export function usageText(): string {
  const lines = ['Usage:'];
  for (const command of COMMANDS.values()) lines.push(`  ${command.usage}`);
  lines.push('', 'Commands:');
  for (const [name, command] of COMMANDS) lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  return `${lines.join('\n')}\n`;
}
