/** The bench's pure parts: the .cpuprofile summariser and how a result row compares per round. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summariseProfile } from '../../bench/profile-summary.js';
import { rowFromRounds } from '../../bench/report.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 });

describe('summariseProfile', () => {
  const profile = {
    startTime: 1_000,
    endTime: 2_000,
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('parse', 'file:///x/node_modules/pkg/a.js', 9) },
      { id: 4, callFrame: frame('parse', 'file:///x/node_modules/pkg/a.js', 9) },
      { id: 5, callFrame: frame('') },
    ],
    // Each sample stands for the delta to the next one.
    samples: [3, 4, 2, 5, 3],
    timeDeltas: [0, 100, 300, 50, 50],
  };

  it('sums self time per function across call paths, leaves idle out of busy time', () => {
    const summary = summariseProfile(profile);
    assert.equal(summary.idleMs, 0.05);
    assert.equal(summary.busyMs, 0.45);
    assert.deepEqual(
      summary.top.map((entry) => [entry.frame, entry.selfMs]),
      [
        ['parse node_modules/pkg/a.js:10', 0.4],
        ['(anonymous)', 0.05],
      ],
    );
    assert.equal(Math.round(summary.top[0]?.percentOfBusy ?? 0), 89);
    assert.deepEqual(summary.topScripts[0], { frame: 'node_modules/pkg', selfMs: 0.4, percentOfBusy: summary.top[0]?.percentOfBusy });
  });

  it('keeps only the samples inside the window', () => {
    // Sample timestamps: 1000, 1100, 1400, 1450, 1500.
    const summary = summariseProfile(profile, 15, { fromMicros: 1_050, toMicros: 1_420 });
    assert.deepEqual(summary.top.map((entry) => [entry.frame, entry.selfMs]), [['parse node_modules/pkg/a.js:10', 0.3]]);
    assert.equal(summary.idleMs, 0.05);
  });
});

describe('rowFromRounds', () => {
  const head = { scenario: 1, id: 'x', title: 'x', concurrency: 1, metric: 'cpu', unit: 'µs' };

  it('compares per round, then takes the median and the spread', () => {
    const row = rowFromRounds({ ...head, target: { kind: 'ratio', op: '<=', value: 1.2 } }, { service: [12, 30, 11], baseline: [10, 10, 10] });
    assert.equal(row.compared, 1.2);
    assert.deepEqual(row.spread, { min: 1.1, max: 3 });
    assert.equal(row.service, 12);
    assert.equal(row.baseline, 10);
    assert.equal(row.pass, true);
  });

  it('differences and absolute targets', () => {
    assert.equal(rowFromRounds({ ...head, target: { kind: 'difference', op: '<', value: 1 } }, { service: [5], baseline: [4] }).pass, false);
    const absolute = rowFromRounds({ ...head, target: { kind: 'absolute', op: '<=', value: 120 } }, { service: [100], baseline: [] });
    assert.equal(absolute.baseline, null);
    assert.equal(absolute.pass, true);
  });
});
