import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, makeLayout, startBackground, writeHook, type AppStatusJson, type Layout } from '../support/cli.js';
import { testdir, writeTree } from '../support/tmp.js';

// Progressive delivery on one host, without etcd, through the built CLI: validation hooks
// revert a release that fails them right after its post-update hooks, and a deploy window in
// a time zone keeps a new version from starting while it is closed.

interface ProgressiveStatusJson extends AppStatusJson {
  baking?: { releaseId: string; version: string; until: string; validatedAt?: string };
  deployWindow?: { window: string; open: boolean; nextOpening?: string };
}

/** A layout with a local directory remote, a validate.d, and `keys` in its config file. */
function host(keys: string[] = []): { layout: Layout; remote: string; validate: string; configure(keys: string[]): void; publish(v: string): void } {
  const layout = makeLayout();
  const remote = join(testdir(), 'remote');
  const validate = join(layout.root, 'validate.d');
  mkdirSync(validate);
  const configure = (extra: string[]) => writeFileSync(layout.config, [`validate-hooks = ${validate}`, ...extra, ''].join('\n'));
  configure(keys);
  return { layout, remote, validate, configure, publish: (v) => writeTree(remote, { 'v.txt': v }) };
}

const served = (layout: Layout) => readFileSync(join(layout.link, 'v.txt'), 'utf8');

test('a validation hook failing right after the post-update hooks reverts the update', async () => {
  const h = host();
  writeHook(h.layout, 'post', '10-record');
  // Validation looks at the release being confirmed (its cwd) and rejects v2.
  writeHook({ root: h.layout.root, pre: h.validate, post: h.validate }, 'pre', '10-smoke', 'if grep -q v2 v.txt; then echo "smoke test failed on v2" >&2; exit 4; fi');

  h.publish('v1');
  const first = await h.layout.fetch(h.remote);
  assert.equal(first.code, 0, first.stderr);
  const v1 = h.layout.currentId();
  assert.ok(hookRuns(h.layout).some((r) => r.name === '10-smoke' && r.phase === 'validate' && r.release === v1), 'validation ran for v1 with REPO_DEPLOY_PHASE=validate');

  h.publish('v2');
  const second = await h.layout.fetch(h.remote);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, /reverted/);
  assert.match(second.stderr, /validate hook 10-smoke exited with status 4/);
  assert.equal(h.layout.currentId(), v1, 'current is the v1 release again');
  assert.equal(served(h.layout), 'v1');
  const runs = hookRuns(h.layout);
  assert.ok(runs.some((r) => r.name === '10-record' && r.release === v1 && r.revert === '1'), 'post-update hooks re-ran for v1 with REPO_DEPLOY_REVERT=1');
  const status = await h.layout.status(h.remote);
  assert.equal(status.lastCheck?.result, 'reverted');
  assert.ok(status.failing, 'the version backs off like a failing post-update hook');
  assert.equal(status.releases.find((r) => r.version === status.failing?.version)?.status, 'failed');
});

/** `HH:MM` of the hour `offset` hours from now in Asia/Tokyo (UTC+9 all year). */
function tokyoHour(offset: number): string {
  const hour = (new Date().getUTCHours() + 9 + offset + 48) % 24;
  return `${String(hour).padStart(2, '0')}:00`;
}

test('deploy window in a time zone: closed, the new version waits (exit 0); open, it deploys', async () => {
  const h = host();
  h.publish('v1');
  assert.equal((await h.layout.fetch(h.remote)).code, 0);
  const v1 = h.layout.currentId();

  // Closed: it opens in two hours (Tokyo time), for an hour.
  h.configure([`deploy-window = Mon-Sun ${tokyoHour(2)}-${tokyoHour(3)} Asia/Tokyo`]);
  h.publish('v2');
  const hourStart = (at: number) => Math.floor(at / 3_600_000) * 3_600_000;
  const before = Date.now();
  const closed = await h.layout.fetch(h.remote);
  const afterRun = Date.now();
  assert.equal(closed.code, 0, closed.stderr);
  assert.match(closed.stdout, /outside the deploy window/);
  assert.equal(h.layout.currentId(), v1, 'current unchanged');
  assert.equal(served(h.layout), 'v1');
  assert.equal(h.layout.releases().length, 1, 'nothing fetched into a release');
  const status = (await h.layout.status(h.remote)) as ProgressiveStatusJson;
  assert.equal(status.lastCheck?.result, 'outside-window');
  assert.equal(status.deployWindow?.open, false);
  const expected = [hourStart(before), hourStart(afterRun)].map((t) => new Date(t + 2 * 3_600_000).toISOString());
  assert.ok(expected.includes(status.deployWindow?.nextOpening ?? ''), `next opening ${status.deployWindow?.nextOpening} is two hours on (${expected.join(' or ')})`);

  // Open in Tokyo now; read as UTC these hours would be closed, so the zone is what opens it.
  h.configure([`deploy-window = Sat 10:00-11:00, ${tokyoHour(-1)}-${tokyoHour(2)} Asia/Tokyo`]);
  const open = await h.layout.fetch(h.remote);
  assert.equal(open.code, 0, open.stderr);
  assert.equal(served(h.layout), 'v2');
  const after = (await h.layout.status(h.remote)) as ProgressiveStatusJson;
  assert.equal(after.lastCheck?.result, 'deployed');
  assert.equal(after.deployWindow?.open, true);
});

test('deploy window: a malformed value is a config error naming the file, line and what to write', async () => {
  const h = host(['deploy-window = Sat,Sun 10:00-12:00']);
  h.publish('v1');
  const r = await h.layout.fetch(h.remote);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${h.layout.config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2`));
  assert.match(r.stderr, /deploy-window/);
  assert.match(r.stderr, /DAYS HH:MM-HH:MM/);
  assert.equal(h.layout.currentId(), null, 'nothing deployed');
});

test('SIGTERM during the bake leaves the release baking; the next start validates it and finishes the bake', async () => {
  const h = host(['bake = 15s', 'validate-interval = 1s']);
  writeHook(h.layout, 'post', '10-record');
  writeHook({ root: h.layout.root, pre: h.validate, post: h.validate }, 'pre', '10-smoke');
  h.publish('v1');
  const run = startBackground([...h.layout.args(h.remote), '-f'], { cwd: h.layout.root });
  await run.waitForLog('the bake to start', (l) => /^baking release/.test(l.msg), 30_000);
  const baking = (await h.layout.status(h.remote)) as ProgressiveStatusJson;
  assert.ok(baking.baking, 'status says the release is baking');
  assert.equal(baking.baking.releaseId, h.layout.currentId());
  run.child.kill('SIGTERM');
  const end = await run.exited;
  assert.equal(end.code, 0, run.stderr());
  const release = h.layout.currentId();
  assert.ok(release, 'the baking release stays current');
  const stopped = (await h.layout.status(h.remote)) as ProgressiveStatusJson;
  assert.equal(stopped.baking?.releaseId, release, 'still baking after the stop, for the next start to finish');

  const next = await h.layout.fetch(h.remote, [], { timeoutMs: 60_000 });
  assert.equal(next.code, 0, next.stderr);
  assert.ok(next.logs.some((l) => l.msg === 'release baked: confirming it'), 'the bake was finished');
  assert.equal(h.layout.currentId(), release);
  const after = (await h.layout.status(h.remote)) as ProgressiveStatusJson;
  assert.equal(after.baking, undefined);
  assert.equal(after.current?.status, 'good');
  assert.equal(after.lastCheck?.result, 'up-to-date');
  const posts = hookRuns(h.layout).filter((r) => r.name === '10-record' && r.release === release);
  assert.equal(posts.length, 1, 'post-update hooks are not run again when a bake resumes');
});
