/** `llm-extproc validate --config FILE`: every config error with its path, exit 1; "ok", exit 0. */
import { loadConfigFile } from '../config/load.js';
// Registers the CEL cost validator with the config loader (bad expressions are config errors).
import '../costs/index.js';
import type { Command } from './commands.js';
import { configPath, parseFlags, stringFlag } from './options.js';

export const validateCommand: Command = {
  summary: 'check a config file (secrets included) and print every error',
  usage: 'llm-extproc validate --config FILE',
  async run(args, io) {
    const flags = parseFlags(args, { config: { type: 'string', short: 'c' } });
    if (!flags.ok) {
      io.stderr(`llm-extproc validate: ${flags.error}\nusage: ${this.usage}\n`);
      return 2;
    }
    const path = configPath(stringFlag(flags.values, 'config'), io.env);
    const result = await loadConfigFile(path, io.env);
    if (result.ok) {
      io.stdout('ok\n');
      return 0;
    }
    const count = result.errors.length;
    io.stderr(`${path}: ${count} error${count === 1 ? '' : 's'}\n${result.errors.map((error) => `  ${error}`).join('\n')}\n`);
    return 1;
  },
};
