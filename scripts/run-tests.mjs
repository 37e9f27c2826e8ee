// Runs every test file under test/ with Node's test runner: one process per file (`node --import tsx <file>`), two at
// a time, under three limits, so that a hang always ends the run, loudly, naming the file and the test:
//   - per test:   RUN_TESTS_TEST_TIMEOUT_MS (default 120000) for every test and hook that sets none (--test-timeout,
//                 which node 20 ignores for a file run directly, so see test-runner/per-test-timeout.mjs): a stuck test
//                 fails with "test timed out after N ms", and the rest of its file still runs;
//   - per file:   RUN_TESTS_FILE_TIMEOUT_MS (default 300000): a file whose process has not exited by then (a stuck hook,
//                 a handle left open) is killed with its whole process group:
//                 "TIMEOUT: <file> did not finish within N s (...); killed; still running: <suite> > <test>";
//   - whole run:  RUN_TESTS_TOTAL_TIMEOUT_MS (default 1800000): every file still running is killed and named.
// The defaults are generous: a loaded 2-core machine is slow, and the limits exist to end hangs, not to time tests.
//
//   node scripts/run-tests.mjs                    every test/**/*.test.ts
//   node scripts/run-tests.mjs hostile sse        the test files whose path contains "hostile" or "sse"
//   node scripts/run-tests.mjs path/to/file.ts    exactly that file (any name; how the runner's self-test runs fixtures)
//
// Each file's output (TAP, node's default off a TTY) is printed in one block when the file ends; the last line of the
// run is `N passed, N failed, N skipped` (tests, all files together). Exit status 0 only when nothing failed or hung.
// RUN_TESTS_CONCURRENCY (default 2) sets how many files run at once. LOG_LEVEL defaults to silent.
// Node 20's --test does not discover .ts files or accept globs, so the files are listed here.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) collect(full, out);
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`${name} must be a positive integer (milliseconds or a count), got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const TEST_TIMEOUT_MS = positiveInt('RUN_TESTS_TEST_TIMEOUT_MS', 120_000);
const FILE_TIMEOUT_MS = positiveInt('RUN_TESTS_FILE_TIMEOUT_MS', 300_000);
const TOTAL_TIMEOUT_MS = positiveInt('RUN_TESTS_TOTAL_TIMEOUT_MS', 1_800_000);
const CONCURRENCY = positiveInt('RUN_TESTS_CONCURRENCY', 2);
const seconds = (ms) => `${Number((ms / 1000).toFixed(1))} s`;

const args = process.argv.slice(2);
const explicit = args.filter((arg) => existsSync(arg) && statSync(arg).isFile());
const filters = args.filter((arg) => !explicit.includes(arg));
let files = [];
if (explicit.length === 0 || filters.length > 0) {
  files = collect('test', []).sort();
  if (filters.length > 0) files = files.filter((file) => filters.some((part) => file.includes(part)));
}
files = [...new Set([...explicit.map((file) => relative('.', file)), ...files])];
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const env = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' };
delete env.NODE_TEST_CONTEXT; // set when this runner is itself started from a test (its self-test)
env.RUN_TESTS_TEST_TIMEOUT_MS = String(TEST_TIMEOUT_MS); // read by test-runner/per-test-timeout.mjs
const perTestTimeout = new URL('./test-runner/per-test-timeout.mjs', import.meta.url).href;
const progressReporter = new URL('./test-runner/progress-reporter.mjs', import.meta.url).href;
const progressDir = mkdtempSync(join(tmpdir(), 'run-tests-'));
let fileCount = 0;
const startedAt = Date.now();
const running = new Map(); // file -> { child, output, started, timedOut, progressFile }
const results = []; // { file, pass, fail, skipped, timedOut, exitCode, ms }
let aborted = false;

/** The last `# <key> N` line of node's TAP summary. */
function summaryCount(output, key) {
  const matches = [...output.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))];
  return matches.length > 0 ? Number(matches.at(-1)[1]) : undefined;
}

/** The tests of a file that started and were not reported yet (from test-runner/progress-reporter.mjs), as "a > b". */
function stillRunning(progressFile) {
  let text = '';
  try {
    text = readFileSync(progressFile, 'utf8');
  } catch {
    return '';
  }
  const open = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      continue; // a line cut by the kill
    }
    if (event.type === 'test:dequeue') open.push(event);
    else {
      const index = open.findLastIndex((entry) => entry.name === event.name && entry.nesting === event.nesting);
      if (index >= 0) open.splice(index, 1);
    }
  }
  return open.map((entry) => entry.name).join(' > ');
}

/** Kills a file's process and everything it started (its own process group: esbuild for tsx, servers, children). */
function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone.
  }
}

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const progressFile = join(progressDir, `${(fileCount += 1)}.jsonl`);
    // The file runs as the main module, not under `node --test` (which would only add a process, and which
    // sets NODE_TEST_CONTEXT for every process a test starts). Node 20 ignores --test-timeout there, so
    // per-test-timeout.mjs gives each test and hook its timeout; the flag stays for nodes that apply it.
    const nodeArgs = [
      '--expose-internals',
      '--import',
      'tsx',
      '--import',
      perTestTimeout,
      `--test-timeout=${TEST_TIMEOUT_MS}`,
      '--test-reporter=tap',
      '--test-reporter-destination=stdout',
      `--test-reporter=${progressReporter}`,
      `--test-reporter-destination=${progressFile}`,
      file,
    ];
    const child = spawn(process.execPath, nodeArgs, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // a process group of its own, so a kill reaches every process the file started
    });
    const entry = { child, output: '', started, timedOut: undefined, progressFile };
    running.set(file, entry);
    child.stdout.setEncoding('utf8').on('data', (text) => (entry.output += text));
    child.stderr.setEncoding('utf8').on('data', (text) => (entry.output += text));
    const deadline = setTimeout(() => {
      const inTest = stillRunning(progressFile);
      entry.timedOut = `TIMEOUT: ${file} did not finish within ${seconds(FILE_TIMEOUT_MS)} (RUN_TESTS_FILE_TIMEOUT_MS); killed${inTest ? `; still running: ${inTest}` : ''}`;
      killGroup(child);
    }, FILE_TIMEOUT_MS);
    const closed = new Promise((resolve) => child.once('close', resolve));
    child.once('exit', async (code, signal) => {
      clearTimeout(deadline);
      killGroup(child); // whatever the file left behind in its group, so that its pipes close
      running.delete(file);
      // The rest of the output is read once the pipes close; a process that left the group could hold them open.
      let grace;
      await Promise.race([closed, new Promise((resolve) => (grace = setTimeout(resolve, 5000)))]);
      clearTimeout(grace);
      const ms = Date.now() - started;
      const output = entry.output;
      const pass = summaryCount(output, 'pass') ?? 0;
      let fail = (summaryCount(output, 'fail') ?? 0) + (summaryCount(output, 'cancelled') ?? 0);
      const skipped = (summaryCount(output, 'skipped') ?? 0) + (summaryCount(output, 'todo') ?? 0);
      const timedOut = entry.timedOut ?? (aborted ? `TIMEOUT: ${file} was still running when the whole run timed out; killed` : undefined);
      rmSync(progressFile, { force: true });
      if ((code !== 0 || timedOut) && fail === 0) fail = 1; // a hang or a crash outside any test still counts
      const result = { file, pass, fail, skipped, timedOut, exitCode: code ?? signal, ms };
      results.push(result);
      process.stdout.write(`# ---- ${file} (${seconds(ms)}, exit ${code ?? signal})\n${output}${output.endsWith('\n') || output === '' ? '' : '\n'}`);
      if (timedOut) process.stdout.write(`${timedOut}\n`);
      resolve(result);
    });
  });
}

function killAll() {
  for (const { child } of running.values()) killGroup(child);
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    aborted = true;
    killAll();
    rmSync(progressDir, { recursive: true, force: true });
    process.exit(130);
  });
}

const watchdog = setTimeout(() => {
  aborted = true;
  const stuck = [...running].map(([file, { progressFile }]) => {
    const inTest = stillRunning(progressFile);
    return inTest ? `${file} (in: ${inTest})` : file;
  });
  console.log(`TIMEOUT: the whole run did not finish within ${seconds(TOTAL_TIMEOUT_MS)} (RUN_TESTS_TOTAL_TIMEOUT_MS); still running: ${stuck.join(', ') || 'none'}`);
  killAll();
}, TOTAL_TIMEOUT_MS);

const queue = [...files];
async function worker() {
  while (queue.length > 0 && !aborted) await runFile(queue.shift());
}
await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, worker));
clearTimeout(watchdog);
rmSync(progressDir, { recursive: true, force: true });

const notRun = queue.length;
const total = results.reduce((sum, r) => ({ pass: sum.pass + r.pass, fail: sum.fail + r.fail, skipped: sum.skipped + r.skipped }), { pass: 0, fail: 0, skipped: 0 });
const failedFiles = results.filter((r) => r.fail > 0 || r.timedOut);
console.log(`# ==== ${results.length} of ${files.length} files in ${seconds(Date.now() - startedAt)}${notRun > 0 ? `; ${notRun} not run (whole-run timeout)` : ''}`);
for (const r of failedFiles) console.log(`# FAILED ${r.file}: ${r.timedOut ?? `${r.fail} failed, exit ${r.exitCode}`}`);
console.log(`${total.pass} passed, ${total.fail + notRun} failed, ${total.skipped} skipped`);
process.exit(failedFiles.length > 0 || notRun > 0 || aborted ? 1 : 0);
