import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RemoteError } from '../../src/errors.js';
import { gitKind } from '../../src/remotes/git/git.js';
import { gitConfig, gitContext, releaseDir, snapshot } from '../support/git-context.js';
import { startGitDaemon } from '../support/git-daemon.js';
import { TestRepo, git } from '../support/git-repos.js';
import { testdir } from '../support/tmp.js';

// The git kind against real repositories: file:// and a git daemon on 127.0.0.1.

const app = {
  'web/index.html': 'hello',
  'web/bin/run.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 },
  'web/link': { symlink: 'index.html' },
  'api/server.js': 'api',
};

describe('git remote', () => {
  it('checks the default branch with ls-remote and deploys the whole tree with modes and symlinks', async () => {
    const repo = TestRepo.create();
    const commit = repo.commit('first', app);
    const remote = gitKind.create(repo.url, gitConfig());
    const ctx = gitContext();
    const seen = await remote.check(ctx);
    assert.equal(seen.version, commit);
    assert.deepEqual(seen.detail, { commit, ref: 'refs/heads/main' });
    const into = releaseDir();
    const result = await remote.fetch(seen.version, into, ctx);
    assert.deepEqual(snapshot(into), {
      api: 'dir',
      'api/server.js': 'file:api',
      web: 'dir',
      'web/bin': 'dir',
      'web/bin/run.sh': 'file:#!/bin/sh\necho run\n +x',
      'web/index.html': 'file:hello',
      'web/link': 'link:index.html',
    });
    assert.equal(result.contentId, `git-tree:${repo.git('rev-parse', 'HEAD^{tree}')}`);
    assert.equal(result.files, 4);
    assert.ok(result.bytesDownloaded > 0);
    assert.ok(!existsSync(join(into, '.git')));
  });

  it('follows a default branch that is not main (trunk)', async () => {
    const repo = TestRepo.create({ defaultBranch: 'trunk' });
    const commit = repo.commit('first', app);
    repo.checkout('main').commit('other branch', { 'web/index.html': 'not me' });
    const seen = await gitKind.create(repo.url, gitConfig()).check(gitContext());
    assert.equal(seen.version, commit);
    assert.equal(seen.detail?.ref, 'refs/heads/trunk');
  });

  it('deploys a subdirectory at a branch, an annotated tag, a light tag and a commit id', async () => {
    const repo = TestRepo.create();
    const first = repo.commit('first', app);
    repo.git('tag', '-a', 'v1', '-m', 'release 1');
    repo.git('tag', 'light');
    repo.git('push', '--quiet', 'origin', 'v1', 'light');
    repo.checkout('feature');
    const feature = repo.commit('feature', { 'web/index.html': 'feature' });
    for (const [ref, want, text] of [
      ['feature', feature, 'feature'],
      ['v1', first, 'hello'],
      ['light', first, 'hello'],
      ['refs/tags/v1', first, 'hello'],
      [first, first, 'hello'],
    ] as const) {
      const remote = gitKind.create(`${repo.url}/web#${ref}`, gitConfig());
      const ctx = gitContext();
      const seen = await remote.check(ctx);
      assert.equal(seen.version, want, ref);
      const into = releaseDir();
      const result = await remote.fetch(seen.version, into, ctx);
      assert.equal(snapshot(into)['index.html'], `file:${text}`, ref);
      assert.ok(!existsSync(join(into, 'api')) && existsSync(join(into, 'bin/run.sh')), ref);
      assert.equal(result.contentId, `git-tree:${git(repo.work, 'rev-parse', `${want}:web`)}`, ref);
    }
  });

  it('monorepo no-op: a commit touching only another directory keeps the content id', async () => {
    const repo = TestRepo.create();
    const first = repo.commit('first', app);
    const remote = gitKind.create(`${repo.url}/web`, gitConfig());
    const ctx = gitContext();
    const before = await remote.contentIdOf!(first, ctx);
    const second = repo.commit('api only', { 'api/server.js': 'api v2' });
    const seen = await remote.check(ctx);
    assert.equal(seen.version, second);
    assert.equal(await remote.contentIdOf!(second, ctx), before);
    const third = repo.commit('web too', { 'web/index.html': 'changed' });
    assert.notEqual(await remote.contentIdOf!(third, ctx), before);
    // contentIdOf wrote no release; the fetch that follows reuses the mirror and reports the
    // bytes contentIdOf brought into it (they are this deploy's download), once.
    const result = await remote.fetch(third, releaseDir(), ctx);
    assert.ok(result.bytesDownloaded > 0, 'the deploy reports what its commit cost to fetch');
    assert.equal(result.contentId, await remote.contentIdOf!(third, ctx));
    assert.equal((await remote.fetch(third, releaseDir(), ctx)).bytesDownloaded, 0, 'nothing fetched twice');
  });

  it('an unchanged remote costs one ls-remote and fetches nothing', async () => {
    const repo = TestRepo.create();
    repo.commit('first', app);
    const remote = gitKind.create(repo.url, gitConfig());
    const ctx = gitContext();
    const first = await remote.check(ctx);
    const again = await remote.check(ctx);
    assert.equal(again.version, first.version);
    assert.ok(!existsSync(join(ctx.cacheDir, 'mirror.git')), 'check never creates or fetches a mirror');
  });

  it('follows a force-pushed branch', async () => {
    const repo = TestRepo.create();
    repo.commit('first', app);
    const bad = repo.commit('bad', { 'web/index.html': 'bad' });
    const remote = gitKind.create(`${repo.url}/web`, gitConfig());
    const ctx = gitContext();
    assert.equal((await remote.check(ctx)).version, bad);
    await remote.fetch(bad, releaseDir(), ctx);
    repo.git('reset', '--quiet', '--hard', 'HEAD~1');
    const fixed = repo.commit('fixed', { 'web/index.html': 'fixed' });
    const seen = await remote.check(ctx);
    assert.equal(seen.version, fixed);
    const into = releaseDir();
    await remote.fetch(seen.version, into, ctx);
    assert.equal(snapshot(into)['index.html'], 'file:fixed');
  });

  it('a deleted ref is a RemoteError naming the ref and the url', async () => {
    const repo = TestRepo.create();
    repo.commit('first', app);
    repo.checkout('gone').commit('on gone');
    const remote = gitKind.create(`${repo.url}#gone`, gitConfig());
    await remote.check(gitContext());
    repo.git('push', '--quiet', 'origin', '--delete', 'gone');
    await assert.rejects(remote.check(gitContext()), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.match(error.message, /ref "gone" not found/);
      assert.equal(error.url, repo.url + '#gone');
      return true;
    });
  });

  it('a missing subdirectory is a RemoteError naming it', async () => {
    const repo = TestRepo.create();
    const commit = repo.commit('first', app);
    const remote = gitKind.create(`${repo.url}/nope`, gitConfig());
    await assert.rejects(remote.fetch(commit, releaseDir(), gitContext()), /subdirectory "nope" not found at commit/);
  });

  it('works the same over git:// against a git daemon', async () => {
    const base = testdir();
    const repo = TestRepo.create({ baseDir: base, name: 'org/app.git', defaultBranch: 'trunk' });
    const commit = repo.commit('first', app);
    const daemon = await startGitDaemon(base);
    const remote = gitKind.create(`${daemon.url('org/app.git')}/web`, gitConfig());
    const ctx = gitContext();
    const started = performance.now();
    const seen = await remote.check(ctx);
    const checkMs = performance.now() - started;
    assert.equal(seen.version, commit);
    const into = releaseDir();
    const result = await remote.fetch(seen.version, into, ctx);
    assert.equal(snapshot(into)['bin/run.sh'], 'file:#!/bin/sh\necho run\n +x');
    assert.equal(result.contentId, `git-tree:${repo.treeOf('web')}`);
    ctx.logger.info({ checkMs }, 'ls-remote against git daemon');
    assert.ok(checkMs < 5000, `check took ${checkMs} ms`);
  });
});
