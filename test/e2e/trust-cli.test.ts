import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, readTree, runCli, startBackground, waitFor, withSource, writeHook } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// Operator commands around one app: links that would share releases are refused, `retry`
// overrides a back-off, a second daemon refuses to start, `check` waits for its outcome.

test('a second link in the same deploy directory is refused with exit 2 naming both', async () => {
  const { layout, remote } = withSource({ 'index.html': 'whole' });
  assert.equal((await layout.fetch(remote)).code, 0);
  const other = join(layout.root, 'other');
  mkdirSync(other);
  writeTree(other, { 'index.html': 'other' });
  const web = join(layout.deployDir, 'web');
  const r = await runCli(['-c', layout.config, '--cache', layout.cache, other, web, '-f'], { cwd: layout.root });
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(web) && r.stderr.includes(layout.link), r.stderr);
  assert.deepEqual(readTree(layout.link), { 'index.html': 'whole' });
  assert.equal(layout.releases().length, 1);
  const checked = await runCli(['check-config', '-c', layout.config, other, web], { cwd: layout.root });
  assert.equal(checked.code, 2, checked.stderr);
  assert.ok(checked.stderr.includes(web) && checked.stderr.includes(layout.link), checked.stderr);
});

test('a link inside a releases directory is refused with exit 2', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1' });
  assert.equal((await layout.fetch(remote)).code, 0);
  const inside = join(layout.releasesDir, 'current');
  const r = await runCli(['-c', layout.config, '--cache', layout.cache, remote, inside, '-f'], { cwd: layout.root });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /releases directory/);
  // The same through a symlinked directory.
  const alias = join(layout.root, 'alias');
  symlinkSync(layout.releasesDir, alias);
  const through = await runCli(['-c', layout.config, '--cache', layout.cache, remote, join(alias, 'x'), '-f'], { cwd: layout.root });
  assert.equal(through.code, 2, through.stderr);
  assert.match(through.stderr, /releases directory/);
  assert.deepEqual(layout.releases(), [layout.currentId()]);
});

test('retry deploys a version that is backing off; -f keeps backing off', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1' });
  assert.equal((await layout.fetch(remote)).code, 0);
  const flag = join(layout.root, 'broken');
  writeFileSync(flag, '');
  writeHook(layout, 'pre', '10-gate', `test ! -e '${flag}'`);
  writeTree(remote, { 'index.html': 'v2' });
  assert.equal((await layout.fetch(remote)).code, 1);
  assert.equal((await layout.fetch(remote)).code, 1);
  const backing = await layout.fetch(remote);
  assert.equal(backing.code, 1);
  assert.match(backing.stderr, /next try/);
  // The operator fixes the gate: -f still waits for the back-off, retry does not.
  rmSync(flag);
  assert.match((await layout.fetch(remote)).stderr, /next try/);
  const r = await runCli(['retry', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /deployed/);
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v2' });
});

test('a second daemon for an app refuses to start (exit 75, naming the running pid)', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1' });
  const first = startBackground(layout.args(remote), { cwd: layout.root });
  await first.waitForLog('first deploy', (l) => l.msg === 'deployed');
  const second = await runCli(layout.args(remote), { cwd: layout.root, timeoutMs: 15_000 });
  assert.equal(second.code, 75, second.stderr);
  assert.ok(second.stderr.includes(`pid ${first.child.pid}`), second.stderr);
  first.child.kill('SIGTERM');
  assert.equal((await first.exited).code, 0);
});

test('check waits for the check it asked for and exits like -f; --no-wait returns at once', async () => {
  const { layout, remote } = withSource({ 'index.html': 'v1' });
  // A schedule that never fires during the test: only the start-up check and `check` run.
  writeFileSync(layout.config, 'schedule = 0 0 1 1 *\n');
  const daemon = startBackground(layout.args(remote), { cwd: layout.root });
  await daemon.waitForLog('first deploy', (l) => l.msg === 'deployed');
  await waitFor('pid file', () => {
    try {
      return readFileSync(join(layout.deployDir, '.repo-deploy', 'daemon.pid'), 'utf8').trim() === String(daemon.child.pid);
    } catch {
      return false;
    }
  });

  writeTree(remote, { 'index.html': 'v2' });
  const ok = await runCli(['check', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /deployed/);
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v2' }, 'deployed by the time check returned');

  writeHook(layout, 'post', '10-fail', 'exit 3');
  writeTree(remote, { 'index.html': 'v3' });
  const failed = await runCli(['check', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(failed.code, 1, failed.stderr);
  assert.match(failed.stderr, /reverted/);
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v2' });

  const askedAt = new Date();
  const noWait = await runCli(['check', '--no-wait', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(noWait.code, 0);
  assert.match(noWait.stdout, /asked the daemon/);
  // Let the check it asked for end before changing the hooks under it.
  const statePath = join(layout.deployDir, '.repo-deploy', 'state.json');
  await waitFor('the --no-wait check to be recorded', () => new Date((JSON.parse(readFileSync(statePath, 'utf8')) as { lastCheck: { at: string } }).lastCheck.at) >= askedAt, 20_000);

  // A daemon that dies during the check it was asked for: check says so at once (exit 75).
  rmSync(join(layout.post, '10-fail'));
  writeHook(layout, 'post', '20-slow', 'sleep 30');
  writeTree(remote, { 'index.html': 'v4' });
  const waiting = runCli(['check', ...layout.args(remote)], { cwd: layout.root, timeoutMs: 60_000 });
  await waitFor('the slow post-update hook to start', () => hookRuns(layout).some((h) => h.name === '20-slow'), 20_000);
  daemon.child.kill('SIGKILL');
  const gone = await waiting;
  assert.equal(gone.code, 75, gone.stderr);
  assert.match(gone.stderr, /exited before it finished/);
  assert.ok(gone.durationMs < 20_000, `check took ${gone.durationMs} ms`);
});
