/**
 * Smoke test of `npm run bench`: runs bench/run.ts with --quick on the passthrough and start-up scenarios (the
 * built service from dist/ and the no-op baseline as child processes) and checks the JSON it writes: every row
 * has its fields and finite numbers. No timing is asserted (numbers on a shared machine say nothing here). The
 * bench runs in its own process group, killed in `after` if it is still running.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TARGET_KINDS = ['ratio', 'difference', 'absolute'];

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('npm run bench --quick', { timeout: 90_000 }, () => {
  const directory = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  let bench: ChildProcess | undefined;
  after(() => {
    if (bench?.pid !== undefined && bench.exitCode === null && bench.signalCode === null) process.kill(-bench.pid, 'SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  });

  it('writes a JSON report with every field and finite numbers (passthrough, startup)', { timeout: 90_000 }, async () => {
    assert.ok(existsSync(join(ROOT, 'dist/bundle/main.js')), 'dist/bundle/main.js is missing: run npm run build (npm test does)');
    const out = join(directory, 'results.json');
    let output = '';
    bench = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--only', 'passthrough,startup', '--out', out], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    bench.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    bench.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    assert.equal(await exited(bench), 0, output);

    const report = JSON.parse(readFileSync(out, 'utf8')) as { node: string; machine: { cpus: number }; results: Array<Record<string, unknown>> };
    assert.equal(report.node, process.version);
    assert.ok(report.machine.cpus > 0);
    const ids = new Set(report.results.map((row) => row['id']));
    assert.deepEqual([...ids].sort(), ['passthrough', 'startup']);
    assert.deepEqual(report.results.filter((row) => row['id'] === 'passthrough').map((row) => row['concurrency']), [1, 16, 64]);
    assert.deepEqual(report.results.filter((row) => row['id'] === 'startup').map((row) => row['metric']), ['ready_ms', 'validate_ms']);
    for (const row of report.results) {
      const label = `${String(row['id'])} ${String(row['metric'])}`;
      for (const field of ['scenario', 'service', 'compared', 'rounds']) assert.ok(Number.isFinite(row[field]), `${label}: ${field} = ${String(row[field])}`);
      for (const field of ['title', 'metric', 'unit']) assert.equal(typeof row[field], 'string', `${label}: ${field}`);
      assert.equal(typeof row['pass'], 'boolean', label);
      const target = row['target'] as { kind: string; op: string; value: number };
      assert.ok(TARGET_KINDS.includes(target.kind) && ['<', '<='].includes(target.op) && Number.isFinite(target.value), `${label}: target`);
      if (target.kind !== 'absolute') assert.ok(Number.isFinite(row['baseline']) && (row['baseline'] as number) > 0, `${label}: baseline`);
      assert.ok((row['service'] as number) > 0, `${label}: service > 0`);
    }
    assert.match(output, /\| # \| scenario/, 'the table was printed');
  });
});
