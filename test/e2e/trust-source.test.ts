import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, makeLayout, readTree, runCli, writeHook } from '../support/cli.js';
import { writeZip } from '../support/zip.js';
import { TestRepo } from '../support/git-repos.js';

// "Up to date" means same source and same version: a change of what the config names (the
// subdirectory, the submodules setting) deploys anew at the same commit, through a real config
// file and a real git repository; changing back activates the release already on disk.

function gitLayout() {
  const repo = TestRepo.create();
  repo.commit('first', { 'README.md': 'whole tree', 'deploy/web/index.html': 'web v1' });
  const layout = makeLayout();
  writeHook(layout, 'post', '10-post');
  const configure = (remote: string, extra = '') =>
    writeFileSync(layout.config, `remote = ${remote}\nlocal = ${layout.link}\ncache = ${layout.cache}\npre-hooks = ${layout.pre}\npost-hooks = ${layout.post}\n${extra}`);
  const fetch = () => runCli(['-c', layout.config, '-f'], { cwd: layout.root });
  return { repo, layout, configure, fetch };
}

test('changing remote to a subdirectory of the same commit deploys the subdirectory', async () => {
  const { repo, layout, configure, fetch } = gitLayout();
  configure(repo.url);
  assert.equal((await fetch()).code, 0);
  const whole = layout.currentId();
  assert.deepEqual(readTree(layout.link), { 'README.md': 'whole tree', 'deploy/web/index.html': 'web v1' });

  configure(`${repo.url}/deploy/web`);
  const r = await fetch();
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /up to date/);
  assert.notEqual(layout.currentId(), whole, 'a new release for the new source');
  assert.deepEqual(readTree(layout.link), { 'index.html': 'web v1' });

  // Back to the whole repository: the release on disk is activated again, nothing fetched.
  configure(repo.url);
  const back = await fetch();
  assert.equal(back.code, 0, back.stderr);
  assert.equal(layout.currentId(), whole);
  assert.equal(layout.releases().length, 2, 'no third release: the first one was reused');
  assert.ok(back.logs.some((l) => /activating it again/.test(l.msg)), back.stderr);
  assert.equal(hookRuns(layout).filter((h) => h.phase === 'post-update').length, 3, 'post-update hooks ran for the reactivation');

  const again = await fetch();
  assert.match(again.stdout, /up to date/);
});

test('changing git-submodules deploys anew at the same commit', async () => {
  const { repo, layout, configure, fetch } = gitLayout();
  configure(repo.url);
  assert.equal((await fetch()).code, 0);
  const first = layout.currentId();
  configure(repo.url, 'git-submodules = false\n');
  const r = await fetch();
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /up to date/);
  assert.notEqual(layout.currentId(), first);
  assert.deepEqual(readTree(layout.link), { 'README.md': 'whole tree', 'deploy/web/index.html': 'web v1' });
  assert.match((await fetch()).stdout, /up to date/);
});

test('a changed ref of the same commit is a new source too', async () => {
  const { repo, layout, configure, fetch } = gitLayout();
  repo.git('push', '--quiet', 'origin', 'HEAD:refs/heads/release');
  configure(`${repo.url}/deploy/web`);
  assert.equal((await fetch()).code, 0);
  const first = layout.currentId();
  // A `#ref` in the file is part of the value, not a comment.
  configure(`${repo.url}/deploy/web#release`);
  const r = await fetch();
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /up to date/);
  assert.notEqual(layout.currentId(), first);
  assert.deepEqual(readTree(layout.link), { 'index.html': 'web v1' });
});

test('changing archive-root of the same zip deploys anew', async () => {
  const layout = makeLayout();
  const zip = join(layout.root, 'app.zip');
  await writeZip(zip, [{ name: 'app-1/index.html', content: 'v1' }]);
  const configure = (extra = '') => writeFileSync(layout.config, `remote = ${zip}\nlocal = ${layout.link}\ncache = ${layout.cache}\n${extra}`);
  const fetch = () => runCli(['-c', layout.config, '-f'], { cwd: layout.root });
  configure();
  assert.equal((await fetch()).code, 0);
  assert.deepEqual(readTree(layout.link), { 'app-1/index.html': 'v1' });
  configure('archive-root = auto\n');
  const r = await fetch();
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /up to date/);
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v1' });
});
