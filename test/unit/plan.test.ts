import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planCheck, recordFailure, maxBackoffMs } from '../../src/pipeline/plan.js';
import type { AppState } from '../../src/pipeline/state.js';
import { planPrune } from '../../src/release/retention.js';
import { makeReleaseId, isReleaseId } from '../../src/release/release-id.js';

const now = new Date('2026-11-21T12:00:00Z');
const state = (extra: Partial<AppState> = {}): AppState => ({
  releases: { r1: { version: 'v1', createdAt: '', status: 'good' } },
  ...extra,
});

test('planCheck, table-driven', () => {
  const cases: [string, Parameters<typeof planCheck>[0], string][] = [
    ['same version as current', { observed: 'v1', currentRelease: 'r1', state: state(), now }, 'up-to-date'],
    ['new version', { observed: 'v2', currentRelease: 'r1', state: state(), now }, 'deploy'],
    ['nothing deployed', { observed: 'v1', currentRelease: null, state: state(), now }, 'deploy'],
    ['seen version with the same content', { observed: 'v2', currentRelease: 'r1', state: state({ seen: { version: 'v2', releaseId: 'r1' } }), now }, 'up-to-date'],
    ['seen for another release does not count', { observed: 'v2', currentRelease: 'r1', state: state({ seen: { version: 'v2', releaseId: 'r0' } }), now }, 'deploy'],
    ['failing version, before next try', { observed: 'v2', currentRelease: 'r1', state: state({ failing: { version: 'v2', failures: 2, lastFailureAt: '', nextTryAt: '2026-11-21T12:05:00Z', reason: 'x' } }), now }, 'backing-off'],
    ['failing version, after next try', { observed: 'v2', currentRelease: 'r1', state: state({ failing: { version: 'v2', failures: 2, lastFailureAt: '', nextTryAt: '2026-11-21T11:59:00Z', reason: 'x' } }), now }, 'deploy'],
    ['a new version resets back-off', { observed: 'v3', currentRelease: 'r1', state: state({ failing: { version: 'v2', failures: 5, lastFailureAt: '', nextTryAt: '2026-11-21T13:00:00Z', reason: 'x' } }), now }, 'deploy'],
  ];
  for (const [name, input, action] of cases) assert.equal(planCheck(input).action, action, name);
});

test('back-off: next tick first, then doubling from 2 minutes, capped at 1 hour', () => {
  let failing = recordFailure(undefined, 'v2', 'boom', now);
  const waits: number[] = [];
  for (let i = 0; i < 9; i++) {
    waits.push((new Date(failing.nextTryAt).getTime() - now.getTime()) / 60_000);
    failing = recordFailure(failing, 'v2', 'boom', now);
  }
  assert.deepEqual(waits, [0, 2, 4, 8, 16, 32, 60, 60, 60]);
  assert.equal(maxBackoffMs, 3_600_000);
  assert.equal(recordFailure(failing, 'v3', 'other', now).failures, 1);
});

test('planPrune keeps N good, current and previous, and the newest failed', () => {
  const good = (id: string) => ({ id, status: 'good' as const });
  const failed = (id: string) => ({ id, status: 'failed' as const });
  const releases = [good('a'), good('b'), failed('c'), good('d'), failed('e'), good('f'), good('g')];
  assert.deepEqual(planPrune(releases, { current: 'g', previous: 'f' }, 2), ['a', 'b', 'c', 'd']);
  assert.deepEqual(planPrune(releases, { current: 'g', previous: 'a' }, 2), ['b', 'c', 'd', 'f']);
  assert.deepEqual(planPrune(releases, { current: 'g', previous: 'f' }, 5), ['c']);
  // keep = 1 still never removes current or previous
  assert.deepEqual(planPrune([good('a'), good('b')], { current: 'b', previous: 'a' }, 1), []);
});

test('release ids sort by time, show the version and stay unique', () => {
  const a = makeReleaseId(new Date('2026-11-21T12:00:00.123Z'), '"3f2a9c1b7e4d55"');
  assert.equal(a, '20261121T120000Z-3f2a9c1b7e4d');
  assert.ok(isReleaseId(a));
  const taken = new Set([a]);
  const b = makeReleaseId(new Date('2026-11-21T12:00:00.500Z'), '"3f2a9c1b7e4d55"', (id) => taken.has(id));
  assert.equal(b, `${a}.2`);
  assert.ok(makeReleaseId(new Date('2026-11-21T12:00:01Z'), 'x') > a);
  assert.equal(makeReleaseId(now, 'sha256:abcdef0123456789'), '20261121T120000Z-abcdef012345');
});
