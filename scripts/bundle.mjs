// Second step of `npm run build`: the JavaScript tsc compiled into dist/ is bundled from dist/main.js into
// dist/bundle/ (main.js, plus one chunk per lazily imported part: a command, the tracing SDK). That is what every
// entry point runs. Loading ~200 small modules one by one cost ~150-200 ms of start-up (resolution, file reads, one
// compile each). Only the service's own modules are bundled: packages stay in node_modules and load as installed.
//
// dist/bundle/ sits two levels below the package root, as dist/<dir>/*.js does, so the paths modules resolve against
// their own location (proto/, config/default.yaml, package.json) are the same bundled or not. Plain JavaScript: the
// build runs it with node, before anything else is compiled.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const outdir = `${root}dist/bundle`;

// Chunk names carry a content hash: without a clean start, chunks of earlier builds would pile up.
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['dist/main.js'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // Composed with tsc's source maps, so a stack trace (node --enable-source-maps) points into src/.
  sourcemap: true,
  // Not minified: stack traces and profiles read as the source. No `keepNames`: it wraps every function created,
  // closures per request included, in a naming call, and nothing in the service reads a function's name.
  minify: false,
  logLevel: 'warning',
});
