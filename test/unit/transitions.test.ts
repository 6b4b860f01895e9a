import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppState, InProgressRecord } from '../../src/pipeline/state.js';
import { apply, change, type Applier, type Transition } from '../../src/pipeline/transitions.js';

const good = (version: string) => ({ version, createdAt: '', status: 'good' as const });
const pending: InProgressRecord = { releaseId: 'r2', version: 'v2', phase: 'pre-update', previous: 'r1' };
const base = (): AppState => ({ releases: { r0: good('v0'), r1: good('v1') }, current: 'r1', previous: 'r0', lastHookOutput: ['old'] });
const failing = { version: 'v2', failures: 1, lastFailureAt: 't', nextTryAt: 't', reason: 'x' };

test('change, table-driven: each named transition and what it does to the state', () => {
  const cases: [string, AppState, Transition, AppState][] = [
    ['checked records the result', base(), { name: 'checked', record: { at: 't', result: 'up-to-date' } }, { ...base(), lastCheck: { at: 't', result: 'up-to-date' } }],
    ['condemned marks a release failed', base(), { name: 'condemned', releaseId: 'r1' }, { ...base(), releases: { r0: good('v0'), r1: { ...good('v1'), status: 'failed' } } }],
    ['unheld drops the hold', { ...base(), hold: { releaseId: 'r1', fromVersions: ['v2'], at: 't' } }, { name: 'unheld' }, base()],
    ['held sets it', base(), { name: 'held', hold: { releaseId: 'r0', fromVersions: ['v1'], at: 't' } }, { ...base(), hold: { releaseId: 'r0', fromVersions: ['v1'], at: 't' } }],
    ['staged records the pending update', base(), { name: 'staged', pending }, { ...base(), inProgress: pending }],
    ['rebased changes its previous', { ...base(), inProgress: pending }, { name: 'rebased', previous: 'rA' }, { ...base(), inProgress: { ...pending, previous: 'rA' } }],
    ['swapped moves it past the swap', { ...base(), inProgress: pending }, { name: 'swapped' }, { ...base(), inProgress: { ...pending, phase: 'swapped' } }],
    [
      'confirmed makes it good and current, clears seen and failing',
      { ...base(), inProgress: pending, seen: { version: 'v1b', releaseId: 'r1' }, failing },
      { name: 'confirmed', releaseId: 'r2', record: good('v2'), previous: 'r1', at: 'now', hookOutput: ['new'] },
      { releases: { r0: good('v0'), r1: good('v1'), r2: good('v2') }, current: 'r2', previous: 'r1', lastHookOutput: ['new'], lastSuccessAt: 'now' },
    ],
    [
      'confirmed on a first deploy has no previous',
      { releases: {}, inProgress: { ...pending, previous: null } },
      { name: 'confirmed', releaseId: 'r2', record: good('v2'), previous: null, at: 'now', hookOutput: [] },
      { releases: { r2: good('v2') }, current: 'r2', lastHookOutput: [], lastSuccessAt: 'now' },
    ],
    [
      'reverted fails the release and restores the previous one',
      { ...base(), inProgress: { ...pending, phase: 'swapped' } },
      { name: 'reverted', releaseId: 'r2', record: { ...good('v2'), status: 'failed' }, restored: 'r1', hookOutput: ['boom'] },
      { ...base(), releases: { ...base().releases, r2: { ...good('v2'), status: 'failed' } }, lastHookOutput: ['boom'] },
    ],
    [
      'reverted on a first deploy leaves nothing current',
      { releases: {}, inProgress: { ...pending, previous: null } },
      { name: 'reverted', releaseId: 'r2', record: { ...good('v2'), status: 'failed' }, restored: null, hookOutput: [] },
      { releases: { r2: { ...good('v2'), status: 'failed' } }, lastHookOutput: [] },
    ],
    ['blocked by a hook keeps its output', { ...base(), inProgress: pending }, { name: 'blocked', hookOutput: ['no'] }, { ...base(), lastHookOutput: ['no'] }],
    ['blocked by a broken release keeps the last output', { ...base(), inProgress: pending }, { name: 'blocked' }, base()],
    ['stopped before the swap', { ...base(), inProgress: pending }, { name: 'stopped' }, base()],
    ['discarded', { ...base(), inProgress: pending }, { name: 'discarded' }, base()],
    ['seen clears failing', { ...base(), failing }, { name: 'seen', version: 'v2', releaseId: 'r1' }, { ...base(), seen: { version: 'v2', releaseId: 'r1' } }],
    ['failed backs the version off', base(), { name: 'failed', failing }, { ...base(), failing }],
    ['pruned forgets the releases', base(), { name: 'pruned', releaseIds: ['r0'] }, { ...base(), releases: { r1: good('v1') } }],
    ['reconciled replaces the reconciled fields', base(), { name: 'reconciled', view: { releases: { r1: good('v1') }, current: 'r1' } }, { releases: { r1: good('v1') }, current: 'r1', lastHookOutput: ['old'] }],
  ];
  for (const [name, before, transition, after] of cases) {
    change(before, transition);
    assert.deepEqual(JSON.parse(JSON.stringify(before)), after, name);
  }
});

function applier(save: () => Promise<void>): { ctx: Applier; heard: [string, string, AppState][] } {
  const heard: [string, string, AppState][] = [];
  const ctx: Applier = {
    app: { name: 'web' } as Applier['app'],
    state: base(),
    save,
    events: { onTransition: (app, t, state) => heard.push([app, t.name, structuredClone(state)]) },
  };
  return { ctx, heard };
}

test('apply: changes, saves once, then tells the listener of each transition with the state after', async () => {
  let saves = 0;
  const { ctx, heard } = applier(async () => void saves++);
  await apply(ctx, { name: 'failed', failing }, { name: 'checked', record: { at: 't', result: 'failed' } });
  assert.equal(saves, 1);
  assert.deepEqual(heard.map(([app, name]) => [app, name]), [['web', 'failed'], ['web', 'checked']]);
  assert.deepEqual(heard[1]![2].failing, failing);
  assert.equal(ctx.state.lastCheck?.result, 'failed');
});

test('apply: a failed save throws, the change stays in memory, listeners hear nothing', async () => {
  const { ctx, heard } = applier(() => Promise.reject(new Error('disk full')));
  await assert.rejects(apply(ctx, { name: 'failed', failing }), /disk full/);
  assert.deepEqual(ctx.state.failing, failing);
  assert.deepEqual(heard, []);
});
