#!/usr/bin/env node
// llm-extproc CLI: runs the compiled JavaScript in dist/bundle/ (tsc's output, bundled; built by `npm ci` through the
// prepare script, or by `npm run build`). No TypeScript compiler or bundler runs at run time.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bundle/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('llm-extproc: dist/bundle/main.js is missing; run `npm run build` (npm ci runs it) first\n');
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli(process.argv.slice(2));
