/**
 * llm-extproc command line: `llm-extproc <command> [flags]`. Commands live in
 * src/cli/commands.ts. Runs directly (`node --import tsx src/main.ts serve`) or through
 * bin/llm-extproc.js.
 */
import { pathToFileURL } from 'node:url';
import { commandUsageText, findCommand, usageText, type CommandIo } from './cli/commands.js';
import { createComponents, type Components } from './components.js';
import { packageVersion } from './core/package-version.js';

const processIo: CommandIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
};

/** Runs one command line; resolves with the exit code. The service's tables are built here, once. */
export async function main(argv: string[], io: CommandIo = processIo, components: Components = createComponents()): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout)(usageText());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout(`llm-extproc ${await packageVersion()}\n`);
    return 0;
  }
  const command = findCommand(name);
  if (command === undefined) {
    io.stderr(`llm-extproc: unknown command "${name}"\n${usageText()}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(commandUsageText(command));
    return 0;
  }
  const run = await command.load();
  return run(args, io, components);
}

/** Entry point used by this file when run directly and by bin/llm-extproc.js. */
export async function runCli(argv: string[]): Promise<void> {
  process.exitCode = await main(argv);
  // Whatever a library left open must not keep a finished command (or a stopped server) alive.
  setTimeout(() => process.exit(), 1_000).unref();
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  await runCli(process.argv.slice(2));
}
