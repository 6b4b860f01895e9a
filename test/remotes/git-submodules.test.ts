import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gitKind } from '../../src/remotes/git/git.js';
import { resolveSubmoduleUrl } from '../../src/remotes/git/submodules.js';
import { gitConfig, gitContext, releaseDir, snapshot } from '../support/git-context.js';
import { startGitDaemon } from '../support/git-daemon.js';
import { TestRepo } from '../support/git-repos.js';
import { testdir } from '../support/tmp.js';

// Submodules are checked out recursively (relative URLs resolved as git does), or not at all
// with gitSubmodules = false; a remote repository may not point a submodule at this host.

/** app.git with web/lib -> ../lib.git, and lib.git with deep -> ../deep.git. */
function nestedRepos(base = testdir()) {
  const deep = TestRepo.create({ baseDir: base, name: 'deep.git' });
  deep.commit('deep', { 'deep.txt': 'deep' });
  const lib = TestRepo.create({ baseDir: base, name: 'lib.git' });
  lib.commit('lib', { 'lib.js': 'lib v1', 'tool.sh': { content: '#!/bin/sh\n', mode: 0o755 } });
  lib.git('-c', 'protocol.file.allow=always', 'submodule', '--quiet', 'add', '../deep.git', 'deep');
  lib.commit('add deep');
  const app = TestRepo.create({ baseDir: base, name: 'app.git' });
  app.write({ 'web/index.html': 'app', 'api/x': 'api' });
  app.git('-c', 'protocol.file.allow=always', 'submodule', '--quiet', 'add', '../lib.git', 'web/lib');
  const commit = app.commit('add lib');
  return { base, app, lib, deep, commit };
}

describe('git submodules', () => {
  it('checks out submodules recursively into the subdirectory, without .git', async () => {
    const { app, commit } = nestedRepos();
    const remote = gitKind.create(`${app.url}/web`, gitConfig());
    const ctx = gitContext();
    const into = releaseDir();
    const result = await remote.fetch((await remote.check(ctx)).version, into, ctx);
    assert.deepEqual(snapshot(into), {
      'index.html': 'file:app',
      lib: 'dir',
      'lib/.gitmodules': 'file:[submodule "deep"]\n\tpath = deep\n\turl = ../deep.git\n',
      'lib/deep': 'dir',
      'lib/deep/deep.txt': 'file:deep',
      'lib/lib.js': 'file:lib v1',
      'lib/tool.sh': 'file:#!/bin/sh\n +x',
    });
    assert.equal(result.files, 5);
    assert.equal(result.detail?.submodules, '1');
    // The gitlink is part of the tree id, so moving the submodule changes the content id.
    assert.equal(result.contentId, `git-tree:${app.git('rev-parse', `${commit}:web`)}`);
  });

  it('a submodule bump changes the content id and the deployed files', async () => {
    const { app, lib } = nestedRepos();
    const remote = gitKind.create(`${app.url}/web`, gitConfig());
    const ctx = gitContext();
    const before = await remote.contentIdOf!((await remote.check(ctx)).version, ctx);
    lib.commit('lib v2', { 'lib.js': 'lib v2' });
    app.git('-c', 'protocol.file.allow=always', 'submodule', '--quiet', 'update', '--remote', 'web/lib');
    const bumped = app.commit('bump lib');
    assert.notEqual(await remote.contentIdOf!(bumped, ctx), before);
    const into = releaseDir();
    await remote.fetch(bumped, into, ctx);
    assert.equal(snapshot(into)['lib/lib.js'], 'file:lib v2');
  });

  it('gitSubmodules = false leaves submodules out', async () => {
    const { app } = nestedRepos();
    const remote = gitKind.create(`${app.url}/web`, gitConfig({ gitSubmodules: false }));
    const ctx = gitContext();
    const into = releaseDir();
    const result = await remote.fetch((await remote.check(ctx)).version, into, ctx);
    assert.equal(result.files, 1);
    assert.ok(!existsSync(join(into, 'lib')) || readdirSync(join(into, 'lib')).length === 0);
    assert.ok(!existsSync(join(ctx.cacheDir, 'modules')));
  });

  it('over git://, relative submodules are fetched from the daemon too', async () => {
    const { base, app } = nestedRepos();
    const daemon = await startGitDaemon(base);
    const remote = gitKind.create(`${daemon.url('app.git')}/web`, gitConfig());
    const ctx = gitContext();
    const into = releaseDir();
    await remote.fetch((await remote.check(ctx)).version, into, ctx);
    assert.equal(snapshot(into)['lib/deep/deep.txt'], 'file:deep');
    void app;
  });

  it('a network remote may not point a submodule at a local path', async () => {
    const base = testdir();
    const secret = TestRepo.create({ baseDir: base, name: 'secret.git' });
    secret.commit('secret', { 'secret.txt': 'host secret' });
    const app = TestRepo.create({ baseDir: base, name: 'app.git' });
    app.git('-c', 'protocol.file.allow=always', 'submodule', '--quiet', 'add', secret.url, 'stolen');
    app.commit('steal');
    const daemon = await startGitDaemon(base);
    const remote = gitKind.create(daemon.url('app.git'), gitConfig());
    const ctx = gitContext();
    await assert.rejects(remote.fetch((await remote.check(ctx)).version, releaseDir(), ctx), /submodule "stolen" has an unsupported url/);
  });

  it('resolves relative submodule urls as git does', () => {
    const cases: Array<[string, string, string]> = [
      ['../lib.git', 'https://host/org/app.git', 'https://host/org/lib.git'],
      ['./lib.git', 'https://host/org/app.git', 'https://host/org/app.git/lib.git'],
      ['../../other/lib.git', 'ssh://git@host:22/org/app.git', 'ssh://git@host:22/other/lib.git'],
      ['../lib.git', 'git@host:org/app.git', 'git@host:org/lib.git'],
      ['../lib.git', 'git@host:app.git', 'git@host:lib.git'],
      ['../lib.git', 'file:///srv/git/app.git', 'file:///srv/git/lib.git'],
      ['https://elsewhere/x.git', 'git@host:app.git', 'https://elsewhere/x.git'],
    ];
    for (const [url, parent, want] of cases) assert.equal(resolveSubmoduleUrl(url, parent), want, `${url} from ${parent}`);
  });
});
