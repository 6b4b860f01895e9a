import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, makeAppsLayout, readTree, startBackground, waitFor, writeHook, type LogLine } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end (issue 5): several apps in one config. Under the daemon they update
// independently: one app's hung hook never delays another. With -f all apps are checked and
// the exit code is the worst outcome, while the others are still deployed.

/** Daemon lines that are about the daemon itself, not about one app's check. */
const daemonMessages = new Set([
  'daemon scheduled',
  'stopping at the next safe point',
  'stopping, waiting for checks in progress to reach a safe point',
  'stopped',
]);

const appOf = (line: LogLine) => line.app as string | undefined;

test('daemon, two apps: api hangs in a post-update hook, web still deploys a new version promptly', async () => {
  const layout = makeAppsLayout(['web', 'api']);
  const { web, api } = layout.apps as Record<'web' | 'api', (typeof layout.apps)[string]>;
  layout.writeConfig('schedule = */1 * * * * *\nhook-timeout = 20s');
  writeTree(web.remote, { 'v.txt': 'web v1' });
  writeTree(api.remote, { 'v.txt': 'api v1' });
  const hang = join(api.root, 'hang');
  const hookPid = join(api.root, 'hook.pid');
  writeFileSync(hang, '');
  for (const app of [web, api]) writeHook(app, 'pre', '10-app', `echo "$REPO_DEPLOY_APP" >> '${join(app.root, 'app-env')}'`);
  writeHook(web, 'post', '10-restart', `echo "$REPO_DEPLOY_APP" >> '${join(web.root, 'app-env')}'`);
  // `exec` so the pid written is the sleeping process the agent waits for.
  writeHook(api, 'post', '10-restart', `echo "$REPO_DEPLOY_APP" >> '${join(api.root, 'app-env')}'\nif [ -e '${hang}' ]; then echo $$ > '${hookPid}'; exec sleep 30; fi`);

  const daemon = startBackground(['-c', layout.config], { cwd: layout.root });
  const deployed = (app: string) => daemon.logs.filter((l) => l.msg === 'deployed' && appOf(l) === app);
  await daemon.waitForLog('web deployed at start', () => deployed('web').length >= 1);
  await waitFor('api post-update hook hanging', () => existsSync(hookPid));
  const sleeper = Number(readFileSync(hookPid, 'utf8'));

  const changedAt = Date.now();
  writeTree(web.remote, { 'v.txt': 'web v2' });
  await daemon.waitForLog('web deploys v2 while api hangs', () => deployed('web').length >= 2, 8_000);
  const tookMs = Date.now() - changedAt;
  assert.ok(tookMs < 5_000, `web took ${tookMs} ms to deploy a new version while api's hook hung`);
  assert.deepEqual(readTree(web.link), { 'v.txt': 'web v2' });
  assert.doesNotThrow(() => process.kill(sleeper, 0), 'api hook still running');
  assert.deepEqual(deployed('api'), [], 'api never finished while its hook hung');
  // The daemon does not pile up checks of the hung app: it skips them, naming the app.
  await daemon.waitForLog('api tick skipped', (l) => /still running, skipping/.test(l.msg) && appOf(l) === 'api');

  // The hang ends (as if the operator killed it): killed by a signal counts as a failure, the
  // first deploy is reverted; the next tick retries and, no longer hanging, deploys.
  rmSync(hang);
  process.kill(sleeper, 'SIGKILL');
  const failed = await daemon.waitForLog('api update failed', (l) => l.msg === 'update failed' && appOf(l) === 'api');
  assert.equal(failed.result, 'reverted');
  assert.match(String(failed.err), /10-restart/);
  await daemon.waitForLog('api deployed on retry', () => deployed('api').length >= 1, 10_000);
  assert.deepEqual(readTree(api.link), { 'v.txt': 'api v1' });
  assert.deepEqual(readTree(web.link), { 'v.txt': 'web v2' });

  daemon.child.kill('SIGTERM');
  const end = await daemon.exited;
  assert.equal(end.code, 0, daemon.stderr().slice(-2000));

  // REPO_DEPLOY_APP names the app in every hook that ran for it.
  for (const app of [web, api]) {
    const names = readFileSync(join(app.root, 'app-env'), 'utf8').trim().split('\n');
    assert.ok(names.length >= 2, `${app.name} hooks ran: ${names.join(',')}`);
    assert.deepEqual([...new Set(names)], [app.name]);
  }
  // Every log line of a check names its app; only the daemon's own lines do not.
  const anonymous = daemon.logs.filter((l) => appOf(l) === undefined && !daemonMessages.has(l.msg));
  assert.deepEqual(anonymous.map((l) => l.msg), [], 'log lines without app');
  for (const app of ['web', 'api']) assert.ok(daemon.logs.some((l) => appOf(l) === app && typeof l.hook === 'string'), `hook output of ${app} logged with app`);
});

test('-f with two apps: both deployed, exit 0; one blocked -> exit 1 and the other still deployed', async () => {
  const layout = makeAppsLayout(['web', 'api']);
  const { web, api } = layout.apps as Record<'web' | 'api', (typeof layout.apps)[string]>;
  layout.writeConfig();
  writeTree(web.remote, { 'v.txt': 'web v1' });
  writeTree(api.remote, { 'v.txt': 'api v1' });
  writeHook(web, 'post', '10-post');
  writeHook(api, 'post', '10-post');

  const first = await layout.run(['-f']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^web: deployed /m);
  assert.match(first.stdout, /^api: deployed /m);
  assert.deepEqual(readTree(web.link), { 'v.txt': 'web v1' });
  assert.deepEqual(readTree(api.link), { 'v.txt': 'api v1' });
  const apiBefore = api.currentId();

  writeTree(web.remote, { 'v.txt': 'web v2' });
  writeTree(api.remote, { 'v.txt': 'api v2' });
  writeHook(api, 'pre', '50-gate', 'echo "api gate says no"; exit 1');
  const second = await layout.run(['-f']);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stdout, /^web: deployed /m);
  assert.match(second.stderr, /api: blocked: .*50-gate/);
  assert.deepEqual(readTree(web.link), { 'v.txt': 'web v2' });
  assert.equal(api.currentId(), apiBefore, 'api unchanged');
  assert.deepEqual(api.releases(), [apiBefore]);
  assert.deepEqual(hookRuns(api).map((h) => `${h.name} ${h.phase}`), ['10-post post-update', '50-gate pre-update']);
  assert.equal(hookRuns(web).filter((h) => h.phase === 'post-update').length, 2);
  for (const line of second.logs) assert.ok(appOf(line) === 'web' || appOf(line) === 'api', `log line without app: ${JSON.stringify(line)}`);
});

test('named apps without hook settings use <config dir>/NAME/pre-update.d and post-update.d', async () => {
  const layout = makeAppsLayout(['web', 'api']);
  const { web, api } = layout.apps as Record<'web' | 'api', (typeof layout.apps)[string]>;
  // makeAppsLayout puts each app's hook dirs at <config dir>/NAME/…: the defaults, so leave them out.
  const sections = [web, api].map((a) => `[app ${a.name}]\nremote = ${a.remote}\nlocal = ${a.link}\n`).join('\n');
  writeFileSync(layout.config, `cache = ${layout.cache}\n${sections}`);
  writeTree(web.remote, { 'v.txt': 'web v1' });
  writeTree(api.remote, { 'v.txt': 'api v1' });
  writeHook(web, 'pre', '10-pre');
  writeHook(api, 'post', '10-post');
  const r = await layout.run(['-f']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(hookRuns(web).map((h) => `${h.name} ${h.phase} ${h.release}`), [`10-pre pre-update ${web.currentId()}`]);
  assert.deepEqual(hookRuns(api).map((h) => `${h.name} ${h.phase} ${h.release}`), [`10-post post-update ${api.currentId()}`]);
});
