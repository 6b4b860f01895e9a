import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FleetUnavailableError, SlotTimeoutError, VersionQuarantinedError } from '../../src/fleet/errors.js';
import { planFetched, planUpdate, resultOfRefusal, type Observed, type UpdateContext, type UpdatePlan } from '../../src/pipeline/plan.js';
import type { AppState } from '../../src/pipeline/state.js';

const now = new Date('2026-11-21T12:00:00Z');
const key = 'src-a';
const good = (version: string, sourceKey = key) => ({ version, createdAt: '', status: 'good' as const, sourceKey, contentId: `c-${version}` });
const state = (extra: Partial<AppState> = {}): AppState => ({ releases: { r1: good('v1') }, previous: 'r0', ...extra });
const twoReleases = (extra: Partial<AppState> = {}): AppState => state({ releases: { r0: good('v0'), r1: good('v1') }, ...extra });
const at = (id: string) => ({ kind: 'release' as const, id });
const seen = (over: Partial<Observed> = {}): Observed => ({ version: 'v2', link: at('r1'), broken: null, intact: new Set(['r0']), ...over });
const facts = (over: Partial<UpdateContext> = {}): UpdateContext => ({ state: state(), sourceKey: key, now, ...over });

test('planUpdate, table-driven: every decision of a check before the fleet is asked', () => {
  const cases: [string, Observed, UpdateContext, Partial<UpdatePlan>][] = [
    ['up to date', seen({ version: 'v1' }), facts(), { action: 'up-to-date', releaseId: 'r1', condemn: null }],
    ['new version: deploy, previous = current, same-content check against current', seen(), facts(), { action: 'deploy', previous: 'r1', sameContentAs: 'r1', repair: false, adoptDirectory: false, endsHold: false }],
    ['dry run: would deploy, nothing else', seen(), facts({ dryRun: true }), { action: 'would-deploy', reuse: null, previous: 'r1' }],
    ['dry run of a reuse names the release', seen({ version: 'v0', intact: new Set(['r0']) }), facts({ state: twoReleases(), dryRun: true }), { action: 'would-deploy', reuse: 'r0' }],
    ['dry run of an up-to-date app is still up to date', seen({ version: 'v1' }), facts({ dryRun: true }), { action: 'up-to-date' }],
    ['held by a rollback', seen(), facts({ state: state({ hold: { releaseId: 'r1', fromVersions: ['v2'], at: '' } }) }), { action: 'held', releaseId: 'r1' }],
    ['a new version ends the hold', seen({ version: 'v3' }), facts({ state: state({ hold: { releaseId: 'r1', fromVersions: ['v2'], at: '' } }) }), { action: 'deploy', endsHold: true }],
    ['backing off', seen(), facts({ state: state({ failing: { version: 'v2', failures: 2, lastFailureAt: '', nextTryAt: '2026-11-21T12:05:00Z', reason: 'x' } }) }), { action: 'backing-off' }],
    ['retry overrides the back-off', seen(), facts({ retry: true, state: state({ failing: { version: 'v2', failures: 2, lastFailureAt: '', nextTryAt: '2026-11-21T12:05:00Z', reason: 'x' } }) }), { action: 'deploy' }],
    ['a good release of the version on disk is reused, reverting to current', seen({ version: 'v0' }), facts({ state: twoReleases() }), { action: 'reuse', releaseId: 'r0', previous: 'r1', endsHold: false }],
    [
      'broken current: repair, condemn it, revert to the intact previous',
      seen({ version: 'v1', broken: 'release r1 is missing' }),
      facts({ state: twoReleases({ previous: 'r0' }) }),
      { action: 'deploy', repair: true, condemn: 'r1', previous: 'r0', sameContentAs: null },
    ],
    [
      'broken current whose previous is not intact reverts to nothing',
      seen({ version: 'v1', broken: 'release r1 is missing', intact: new Set() }),
      facts({ state: twoReleases({ previous: 'r0' }) }),
      { action: 'deploy', repair: true, condemn: 'r1', previous: null },
    ],
    ['broken current still condemned while its version backs off', seen({ broken: 'incomplete' }), facts({ state: state({ failing: { version: 'v2', failures: 2, lastFailureAt: '', nextTryAt: '2026-11-21T12:05:00Z', reason: 'x' } }) }), { action: 'backing-off', condemn: 'r1' }],
    ['a release the state does not know is not condemned (nothing to mark)', seen({ link: at('rX'), broken: 'release rX is not one this agent knows' }), facts(), { action: 'deploy', condemn: null, repair: true }],
    ['a real directory at current is adopted', seen({ link: { kind: 'directory' }, intact: new Set() }), facts({ state: { releases: {} } }), { action: 'deploy', adoptDirectory: true, previous: null, sameContentAs: null }],
    ['nothing at current: first deploy', seen({ link: { kind: 'missing' }, intact: new Set() }), facts({ state: { releases: {} } }), { action: 'deploy', previous: null, adoptDirectory: false }],
    ['another source: no same-content skip', seen({ version: 'v1' }), facts({ sourceKey: 'src-b' }), { action: 'deploy', sameContentAs: null, previous: 'r1' }],
  ];
  for (const [name, observed, context, expected] of cases) {
    const plan = planUpdate(observed, context) as Record<string, unknown>;
    for (const [field, value] of Object.entries(expected)) assert.deepEqual(plan[field], value, `${name}: ${field} (${JSON.stringify(plan)})`);
  }
});

test('planFetched, table-driven: same content, empty, publish', () => {
  const cases: [string, string | undefined, string | undefined, number | undefined, string][] = [
    ['same content as current', 'c1', 'c1', 3, 'same-content'],
    ['announced content (before fetching) equals current', 'c1', 'c1', undefined, 'same-content'],
    ['other content', 'c1', 'c2', 3, 'publish'],
    ['no current content to compare with', undefined, 'c2', 3, 'publish'],
    ['neither has a content id', undefined, undefined, 3, 'publish'],
    ['no regular file', 'c1', 'c2', 0, 'empty'],
  ];
  for (const [name, current, fetched, files, expected] of cases) assert.equal(planFetched(current, fetched, files), expected, name);
});

test('resultOfRefusal: each fleet refusal has one result, none backs the version off', () => {
  const record = { version: 'v2', host: 'h1', time: '', reason: 'x' };
  assert.equal(resultOfRefusal({ verdict: 'quarantined', error: new VersionQuarantinedError(record) }), 'quarantined');
  assert.equal(resultOfRefusal({ verdict: 'busy', error: new SlotTimeoutError('g', 1, 10) }), 'busy');
  assert.equal(resultOfRefusal({ verdict: 'unavailable', error: new FleetUnavailableError(['http://e:2379'], 'x') }), 'failed');
  assert.equal(resultOfRefusal({ verdict: 'stopped' }), 'stopped');
});
