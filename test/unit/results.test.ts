import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FleetUnavailableError } from '../../src/fleet/errors.js';
import { assessHealth } from '../../src/metrics/health.js';
import type { CheckOutcome } from '../../src/pipeline/check.js';
import { allResults, describeOutcome, exitCodeOfOutcome, exitCodeOfResult, results } from '../../src/pipeline/results.js';
import type { CheckResult } from '../../src/pipeline/state.js';

// result, exit code, healthy, metrics success, counted as an update attempt, printed line
const table: [CheckResult, number, boolean, boolean, boolean, RegExp][] = [
  ['up-to-date', 0, true, true, false, /^web: up to date at v2 \(release r2\)$/],
  ['deployed', 0, true, true, true, /^web: deployed v2 \(release r2\)$/],
  ['would-deploy', 0, true, false, false, /^web: would deploy v2$/],
  ['held', 0, true, true, false, /^web: held at release r2 by a rollback \(remote still at v2\); repo-deploy resume lifts it$/],
  ['stopped', 0, true, false, true, /^web: stopped at a safe point \(before the swap: nothing changed; or during a bake: the next start finishes it\)$/],
  ['blocked', 1, false, false, true, /^web: blocked: why$/],
  ['reverted', 1, false, false, true, /^web: reverted: why$/],
  ['failed', 1, false, false, true, /^web: failed: why$/],
  ['backing-off', 1, false, false, false, /^web: backing-off: why$/],
  ['quarantined', 1, true, false, false, /^web: quarantined: why$/],
  ['busy', 75, true, false, true, /^web: busy: why$/],
  ['paused', 0, true, true, false, /^web: v2 not started: the rollout group is paused \(repo-deploy fleet resume\)$/],
  ['outside-window', 0, true, true, false, /^web: v2 not started: outside the deploy window; next opening never$/],
  ['rolled-back', 0, true, true, true, /^web: rolled back to release r2: v2 was quarantined by the fleet$/],
];

test('results: each result has one exit code, health, metrics meaning and wording', () => {
  assert.deepEqual(table.map(([r]) => r).sort(), [...allResults].sort(), 'the table covers every result');
  for (const [result, exitCode, healthy, success, attempt, words] of table) {
    const meaning = results[result];
    assert.deepEqual({ exitCode: meaning.exitCode, healthy: meaning.healthy, success: meaning.success, attempt: meaning.attempt }, { exitCode, healthy, success, attempt }, result);
    assert.equal(exitCodeOfResult(result), exitCode, result);
    const outcome: CheckOutcome = { app: 'web', result, version: 'v2', releaseId: 'r2', error: new Error('why') };
    assert.match(describeOutcome(outcome), words, result);
  }
});

test('results agree with each other: a success exits 0 and is healthy, exit 0 is healthy', () => {
  for (const result of allResults) {
    const { exitCode, healthy, success } = results[result];
    if (success) assert.ok(exitCode === 0 && healthy, result);
    if (exitCode === 0) assert.ok(healthy, result);
  }
});

test('exitCodeOfOutcome: a failure takes its typed error exit code, a success is 0 whatever error it carries', () => {
  const unreachable = new FleetUnavailableError(['http://127.0.0.1:2379'], 'reading quarantined versions');
  assert.equal(exitCodeOfOutcome({ app: 'web', result: 'failed', error: unreachable }), 75);
  assert.equal(exitCodeOfOutcome({ app: 'web', result: 'failed', error: new Error('plain') }), 1);
  assert.equal(exitCodeOfOutcome({ app: 'web', result: 'would-deploy', version: 'v2' }), 0);
  assert.equal(exitCodeOfOutcome({ app: 'web', result: 'stopped', error: unreachable }), 0);
});

test('/healthz judges by the same table', () => {
  const since = new Date('2026-11-21T12:00:00Z');
  for (const result of allResults) {
    const report = assessHealth([{ app: 'web', intervalMs: 60_000, since, lastCheckAt: since, lastResult: result }], since);
    assert.equal(report.status === 'ok', results[result].healthy, result);
  }
});
