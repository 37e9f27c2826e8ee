/**
 * `npm run soak [-- --duration 120 --concurrency 16 --default-close]`: drives the built service (run `npm run build`
 * first) through the Envoy stand-in for a fixed time, with faults injected, and prints what it saw; exits 1 when a
 * request failed, an object leaked, the heap grew past its bound or a socket was left behind. See test/soak/soak.ts.
 * The child inherits MALLOC_* variables (MALLOC_ARENA_MAX=2, say) from this process's environment.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeResult, runSoak, soakFailures } from '../test/soak/soak.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '120' },
    concurrency: { type: 'string', default: '16' },
    'default-close': { type: 'boolean', default: false },
  },
});
if (!existsSync(new URL('../dist/bundle/main.js', import.meta.url))) {
  console.error('dist/bundle/main.js is missing: run `npm run build` first');
  process.exit(2);
}
const env = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[0].startsWith('MALLOC_') && entry[1] !== undefined));
const defaultClose = values['default-close'] === true;
console.log(`soak: ${values.duration} s, concurrency ${values.concurrency}, ${defaultClose ? "Envoy's default close (reset storm)" : 'graceful close'}${Object.keys(env).length > 0 ? `, ${JSON.stringify(env)}` : ''}`);
const result = await runSoak({
  durationMs: Number(values.duration) * 1000,
  concurrency: Number(values.concurrency),
  defaultClose,
  stormWorkers: 16,
  env,
  log: (line) => console.log(line),
});
console.log(describeResult(result));
const failures = soakFailures(result, { errorsAllowed: defaultClose });
if (failures.length > 0) {
  console.log(`FAILED:\n${failures.map((failure) => `  ${failure}`).join('\n')}`);
  process.exit(1);
}
console.log('passed');
