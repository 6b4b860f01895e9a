import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, readTree, withSource, writeHook, type Layout } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end: pre-update hooks that block, post-update hooks that revert, which hooks run in
// what order, their environment, working directory and timeout.

/** Deploys `v1`, then changes the source to `v2` (not yet deployed). */
async function deployedV1(): Promise<{ layout: Layout; remote: string; first: string }> {
  const { layout, remote } = withSource({ 'v.txt': 'v1' });
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  writeTree(remote, { 'v.txt': 'v2' });
  return { layout, remote, first: layout.currentId()! };
}

test('pre-update hook failing blocks the update: exit 1, current unchanged, no release left', async () => {
  const { layout, remote, first } = await deployedV1();
  writeHook(layout, 'pre', '50-gate', 'echo "gate says no"; exit 3');
  writeHook(layout, 'post', '10-post');
  const r = await layout.fetch(remote);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /blocked/);
  assert.equal(layout.currentId(), first);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
  assert.deepEqual(layout.releases(), [first], 'the blocked release is removed');
  assert.deepEqual(layout.leftovers(), []);
  assert.deepEqual(hookRuns(layout).map((h) => h.name), ['50-gate'], 'post hooks never run for a blocked update');
  const s = await layout.status(remote);
  assert.equal(s.lastCheck?.result, 'blocked');
  assert.ok(s.failing, 'status names the failing version');
  assert.notEqual(s.failing.version, s.current?.version);
  assert.ok(s.lastHookOutput.some((l) => l.includes('gate says no')), JSON.stringify(s.lastHookOutput));
});

test('post-update hook failing reverts to the previous release and re-runs post hooks for it', async () => {
  const { layout, remote, first } = await deployedV1();
  // Fails for v2 only: the hook sees the release it is for as its working directory.
  writeHook(layout, 'post', '10-check', 'env | grep -E "^(REPO_DEPLOY_|CURRENT_CONFIG|PREVIOUS_CONFIG)" | sort > "$REPO_DEPLOY_LINK.env-$REPO_DEPLOY_REVERT"\ngrep -q v1 v.txt');
  const r = await layout.fetch(remote);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /reverted/);
  assert.equal(layout.currentId(), first);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
  const runs = hookRuns(layout);
  assert.equal(runs.length, 2);
  assert.notEqual(runs[0]!.release, first);
  assert.equal(runs[0]!.revert, '0');
  assert.deepEqual([runs[1]!.release, runs[1]!.revert], [first, '1'], 'post hooks ran again for the restored release');
  const revertEnv = readFileSync(`${layout.link}.env-1`, 'utf8');
  assert.match(revertEnv, new RegExp(`^CURRENT_CONFIG=${join(layout.releasesDir, first)}$`, 'm'));
  assert.match(revertEnv, /^REPO_DEPLOY_PHASE=post-update$/m);
  const s = await layout.status(remote);
  assert.equal(s.lastCheck?.result, 'reverted');
  assert.equal(s.current?.id, first);
  const failed = s.releases.find((x) => x.id === runs[0]!.release);
  assert.equal(failed?.status, 'failed', 'the reverted release is kept, marked failed');
});

test('post-update hook failing on a first deploy removes current again', async () => {
  const { layout, remote } = withSource({ 'v.txt': 'v1' });
  writeHook(layout, 'post', '10-fail', 'exit 1');
  const r = await layout.fetch(remote);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(existsSync(layout.link), false, 'nothing deployed');
  assert.equal(layout.currentId(), null);
  assert.deepEqual(hookRuns(layout).map((h) => h.revert), ['0'], 'no restored release to run hooks for');
  assert.deepEqual(layout.leftovers(), []);
  const s = await layout.status(remote);
  assert.equal(s.linkState, 'missing');
  assert.equal(s.current, undefined);
  assert.equal(s.lastCheck?.result, 'reverted');
});

test('hooks run in byte order; dotfiles, ~, .dpkg-old and non-executable files are skipped', async () => {
  const { layout, remote } = withSource({ 'v.txt': 'v1' });
  for (const name of ['b', 'B', '10-x', '2-y', 'a', '_z', '.hidden', 'a~', 'a.dpkg-old']) writeHook(layout, 'pre', name);
  writeHook(layout, 'pre', 'c-not-executable', '', 0o644);
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(hookRuns(layout).map((h) => h.name), ['10-x', '2-y', 'B', '_z', 'a', 'b']);
});

test('hook environment and working directory', async () => {
  const { layout, remote, first } = await deployedV1();
  const dump = 'env | grep -E "^(REPO_DEPLOY_|CURRENT_CONFIG|PREVIOUS_CONFIG)" | sort > "$REPO_DEPLOY_LINK.$REPO_DEPLOY_PHASE"\npwd -P >> "$REPO_DEPLOY_LINK.$REPO_DEPLOY_PHASE"';
  writeHook(layout, 'pre', '10-env', dump);
  writeHook(layout, 'post', '10-env', dump);
  const r = await layout.fetch(remote, ['-i', 'agent-7']);
  assert.equal(r.code, 0, r.stderr);
  const second = layout.currentId()!;
  const s = await layout.status(remote);
  for (const phase of ['pre-update', 'post-update']) {
    const lines = readFileSync(`${layout.link}.${phase}`, 'utf8').trim().split('\n');
    const cwd = lines.pop();
    const env = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(cwd, join(layout.releasesDir, second), `${phase}: cwd is the new release`);
    assert.equal(env.CURRENT_CONFIG, join(layout.releasesDir, second));
    assert.equal(env.PREVIOUS_CONFIG, join(layout.releasesDir, first));
    assert.equal(env.REPO_DEPLOY_PHASE, phase);
    assert.equal(env.REPO_DEPLOY_APP, 'default');
    assert.equal(env.REPO_DEPLOY_AGENT_ID, 'agent-7');
    assert.equal(env.REPO_DEPLOY_RELEASE, second);
    assert.equal(env.REPO_DEPLOY_PREVIOUS_RELEASE, first);
    assert.equal(env.REPO_DEPLOY_VERSION, s.current?.version);
    assert.equal(env.REPO_DEPLOY_PREVIOUS_VERSION, s.previous?.version);
    assert.equal(env.REPO_DEPLOY_LINK, layout.link);
    assert.equal(env.REPO_DEPLOY_REVERT, '0');
  }
});

test('hook timeout from the config file: a sleeping hook fails the update quickly', async () => {
  const { layout, remote, first } = await deployedV1();
  writeFileSync(layout.config, 'hook-timeout = 1s\n');
  writeHook(layout, 'pre', '10-sleep', 'sleep 30');
  const r = await layout.fetch(remote);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.durationMs < 10_000, `took ${r.durationMs} ms`);
  assert.match(r.stderr, /tim(e|ed) ?out/i);
  assert.equal(layout.currentId(), first);
  assert.deepEqual(layout.releases(), [first]);
});
