/** `llm-extproc envoy --config FILE [--extproc ADDR] [--ratelimit ADDR]`: prints the Envoy bootstrap YAML. */
import { COMMANDS, type CommandRun } from '../cli/commands.js';
import { configPath, parseFlags, stringFlag } from '../cli/options.js';
import { ATTEMPT_RESPONSE_HEADERS_NOTE, renderEnvoyConfig } from './index.js';
import { loadConfigForEnvoy } from './load.js';

export const runEnvoy: CommandRun = async (args, io, components) => {
  const flags = parseFlags(args, {
    config: { type: 'string', short: 'c' },
    extproc: { type: 'string' },
    ratelimit: { type: 'string' },
  });
  if (!flags.ok) {
    io.stderr(`llm-extproc envoy: ${flags.error}\nusage: ${COMMANDS.envoy.usage}\n`);
    return 2;
  }
  const path = configPath(stringFlag(flags.values, 'config'), io.env);
  const loaded = await loadConfigForEnvoy(path, components.configValidators);
  if (!loaded.ok) {
    io.stderr(`${path}: ${loaded.errors.length} error(s)\n${loaded.errors.map((error) => `  ${error}`).join('\n')}\n`);
    return 1;
  }
  const extProc = stringFlag(flags.values, 'extproc');
  const rateLimit = stringFlag(flags.values, 'ratelimit');
  const command = ['llm-extproc envoy --config', path, ...(extProc ? ['--extproc', extProc] : []), ...(rateLimit ? ['--ratelimit', rateLimit] : [])];
  const rendered = renderEnvoyConfig(loaded.config, { extProc, rateLimit }, { source: path, command: command.join(' ') });
  if (!rendered.ok) {
    io.stderr(`llm-extproc envoy: ${rendered.errors.join('\n')}\n`);
    return 2;
  }
  if (loaded.config.file.envoy.attemptResponseHeaders) io.stderr(`llm-extproc envoy: note: ${ATTEMPT_RESPONSE_HEADERS_NOTE}\n`);
  io.stdout(rendered.yaml);
  return 0;
};
