/**
 * scripts/run-tests.mjs ends a hang, loudly: it is run (as CI runs it) on fixtures outside the `*.test.ts`
 * discovery (test/runner/fixtures/), with short limits, and must fail non-zero naming the file (and test) that never
 * finished, kill it, and still end with the `N passed, N failed, N skipped` line. Nothing here waits on a timer: every limit is the runner's own, each
 * case waits for the runner process to exit, and the bounds are loose enough for a loaded machine.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const HANGS = 'test/runner/fixtures/hangs.fixture.ts';
const PASSES = 'test/runner/fixtures/passes.fixture.ts';
const FAILS = 'test/runner/fixtures/fails.fixture.ts';
const SLOW_TEST = 'test/runner/fixtures/slow-test.fixture.ts';
/** How long a case may take: the limits under test are a few seconds; tsx startup on a busy 2-core machine is slow. */
const BOUND_MS = 60_000;

interface RunResult {
  code: number | null;
  output: string;
  lastLine: string;
  ms: number;
}

function runTests(files: string[], limits: Record<string, string>, signal: AbortSignal): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const env: NodeJS.ProcessEnv = { ...process.env, RUN_TESTS_TEST_TIMEOUT_MS: '600000', RUN_TESTS_FILE_TIMEOUT_MS: '600000', RUN_TESTS_TOTAL_TIMEOUT_MS: '600000', RUN_TESTS_CONCURRENCY: '2', ...limits };
    // If this test itself times out, the runner gets SIGTERM and kills what it started.
    const child = spawn(process.execPath, ['scripts/run-tests.mjs', ...files], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], signal, killSignal: 'SIGTERM' });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = output.trimEnd().split('\n');
      resolve({ code, output, lastLine: lines.at(-1) ?? '', ms: Date.now() - started });
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

describe('scripts/run-tests.mjs watchdog', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'watchdog-test-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('a file that never finishes is killed at its deadline, named, and fails the run', { timeout: 120_000 }, async (t) => {
    const pidFile = join(scratch, 'hang.pid');
    const run = await runTests([HANGS], { RUN_TESTS_FILE_TIMEOUT_MS: '3000', HANG_FIXTURE_PID_FILE: pidFile }, t.signal);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^TIMEOUT: ${HANGS} did not finish within 3 s`, 'm'), run.output);
    assert.match(run.output, new RegExp(`^# FAILED ${HANGS}: TIMEOUT`, 'm'), run.output);
    assert.equal(run.lastLine, '0 passed, 1 failed, 0 skipped', run.output);
    assert.ok(run.ms < BOUND_MS, `the run took ${run.ms} ms`);
    // The fixture writes its pid when it has loaded (on a very busy machine the deadline can come first).
    let pid: number | undefined;
    try {
      pid = Number(readFileSync(pidFile, 'utf8'));
    } catch {
      pid = undefined;
    }
    if (pid !== undefined) {
      assert.ok(!isAlive(pid), `the hung file's process ${pid} was killed`);
      assert.match(run.output, /still running: waits for an event that never comes/, 'the hung test is named');
    }
  });

  it('a test that never settles fails at the per-test timeout, and the rest of its file still runs', { timeout: 120_000 }, async (t) => {
    const run = await runTests([SLOW_TEST], { RUN_TESTS_TEST_TIMEOUT_MS: '2000' }, t.signal);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, /^not ok 1 - never settles$/m, run.output);
    assert.match(run.output, /test timed out after 2000ms/, run.output);
    assert.match(run.output, new RegExp(`location: '[^']*${SLOW_TEST}:`), 'the location is the test file, not the runner');
    assert.match(run.output, /^ok 2 - runs after it$/m, run.output);
    assert.doesNotMatch(run.output, /TIMEOUT/, 'the file ended by itself');
    assert.equal(run.lastLine, '1 passed, 1 failed, 0 skipped', run.output);
    assert.ok(run.ms < BOUND_MS, `the run took ${run.ms} ms`);
  });

  it('the whole-run watchdog names the files still running and counts the ones never started', { timeout: 120_000 }, async (t) => {
    const run = await runTests([HANGS, PASSES], { RUN_TESTS_TOTAL_TIMEOUT_MS: '3000', RUN_TESTS_CONCURRENCY: '1' }, t.signal);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^TIMEOUT: the whole run did not finish within 3 s .*still running: ${HANGS}`, 'm'), run.output);
    assert.equal(run.lastLine, '0 passed, 2 failed, 0 skipped', run.output);
    assert.ok(run.ms < BOUND_MS, `the run took ${run.ms} ms`);
  });

  it('totals over files: passes, failures and skips, exit status 1 when anything failed', { timeout: 120_000 }, async (t) => {
    const run = await runTests([PASSES, FAILS], {}, t.signal);
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, new RegExp(`^# FAILED ${FAILS}: 1 failed`, 'm'), run.output);
    assert.doesNotMatch(run.output, /TIMEOUT/);
    assert.equal(run.lastLine, '1 passed, 1 failed, 1 skipped', run.output);
    const clean = await runTests([PASSES], {}, t.signal);
    assert.equal(clean.code, 0, clean.output);
    assert.equal(clean.lastLine, '1 passed, 0 failed, 1 skipped', clean.output);
  });
});
