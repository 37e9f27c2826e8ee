#!/usr/bin/env node
// llm-extproc CLI shim: registers tsx so the TypeScript sources run as they are, then
// hands the command line to src/main.ts.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/main.ts');
await runCli(process.argv.slice(2));
