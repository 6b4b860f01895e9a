import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planCheck, recordFailure, maxBackoffMs } from '../../src/pipeline/plan.js';
import type { AppState } from '../../src/pipeline/state.js';
import { planPrune } from '../../src/release/retention.js';
import { makeReleaseId, isReleaseId } from '../../src/release/release-id.js';

const now = new Date('2026-11-21T12:00:00Z');
const key = 'src-a';
const state = (extra: Partial<AppState> = {}): AppState => ({
  releases: { r1: { version: 'v1', createdAt: '', status: 'good', sourceKey: key } },
  ...extra,
});
const base = { sourceKey: key, intact: new Set(['r1']), now };

test('planCheck, table-driven', () => {
  const failing = (nextTryAt: string, extra = {}) => ({ version: 'v2', failures: 2, lastFailureAt: '', nextTryAt, reason: 'x', ...extra });
  const withOld = (status: 'good' | 'failed', sourceKey = key) => state({ releases: { r0: { version: 'v2', createdAt: '', status, sourceKey }, r1: { version: 'v1', createdAt: '', status: 'good', sourceKey: key } } });
  const cases: [string, Parameters<typeof planCheck>[0], string][] = [
    ['same version as current', { ...base, observed: 'v1', currentRelease: 'r1', state: state() }, 'up-to-date'],
    ['new version', { ...base, observed: 'v2', currentRelease: 'r1', state: state() }, 'deploy'],
    ['nothing deployed', { ...base, intact: new Set(), observed: 'v1', currentRelease: null, state: state({ releases: {} }) }, 'deploy'],
    ['current lost, its release still on disk and intact', { ...base, observed: 'v1', currentRelease: null, state: state() }, 'reuse'],
    ['same version, another source (subdirectory, ref, submodules changed)', { ...base, sourceKey: 'src-b', observed: 'v1', currentRelease: 'r1', state: state() }, 'deploy'],
    ['seen version with the same content', { ...base, observed: 'v2', currentRelease: 'r1', state: state({ seen: { version: 'v2', releaseId: 'r1' } }) }, 'up-to-date'],
    ['seen for another release does not count', { ...base, observed: 'v2', currentRelease: 'r1', state: state({ seen: { version: 'v2', releaseId: 'r0' } }) }, 'deploy'],
    ['held by a rollback', { ...base, observed: 'v2', currentRelease: 'r1', state: state({ hold: { releaseId: 'r1', fromVersions: ['v2'], at: '' } }) }, 'held'],
    ['a hold does not survive a change of source', { ...base, sourceKey: 'src-b', observed: 'v2', currentRelease: 'r1', state: state({ hold: { releaseId: 'r1', fromVersions: ['v2'], at: '' } }) }, 'deploy'],
    ['failing version, before next try', { ...base, observed: 'v2', currentRelease: 'r1', state: state({ failing: failing('2026-11-21T12:05:00Z') }) }, 'backing-off'],
    ['failing version, retry asked', { ...base, ignoreBackoff: true, observed: 'v2', currentRelease: 'r1', state: state({ failing: failing('2026-11-21T12:05:00Z') }) }, 'deploy'],
    ['failing version of another source is not backed off', { ...base, observed: 'v2', currentRelease: 'r1', state: state({ failing: failing('2026-11-21T12:05:00Z', { sourceKey: 'src-b' }) }) }, 'deploy'],
    ['failing version, after next try', { ...base, observed: 'v2', currentRelease: 'r1', state: state({ failing: failing('2026-11-21T11:59:00Z') }) }, 'deploy'],
    ['a new version resets back-off', { ...base, observed: 'v3', currentRelease: 'r1', state: state({ failing: { ...failing('2026-11-21T13:00:00Z'), failures: 5 } }) }, 'deploy'],
    ['version on disk as a good release is reused', { ...base, intact: new Set(['r0', 'r1']), observed: 'v2', currentRelease: 'r1', state: withOld('good') }, 'reuse'],
    ['a failed release is not reused', { ...base, intact: new Set(['r0', 'r1']), observed: 'v2', currentRelease: 'r1', state: withOld('failed') }, 'deploy'],
    ['a release of another source is not reused', { ...base, intact: new Set(['r0', 'r1']), observed: 'v2', currentRelease: 'r1', state: withOld('good', 'src-b') }, 'deploy'],
    ['an incomplete release is not reused', { ...base, observed: 'v2', currentRelease: 'r1', state: withOld('good') }, 'deploy'],
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
