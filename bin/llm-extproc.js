#!/usr/bin/env node
// llm-extproc CLI: runs the compiled JavaScript in dist/ (built by `npm ci` through the prepare script, or by
// `npm run build`). No TypeScript compiler runs at run time.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('llm-extproc: dist/main.js is missing; run `npm run build` (npm ci runs it) first\n');
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli(process.argv.slice(2));
