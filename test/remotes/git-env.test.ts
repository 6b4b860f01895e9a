import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gitKind } from '../../src/remotes/git/git.js';
import { gitConfig, gitContext, releaseDir } from '../support/git-context.js';
import { TestRepo } from '../support/git-repos.js';

// An operator's interactive environment (npm itself sets EDITOR) must not break git remotes,
// nor make git wait for an askpass program. Each test file runs in its own process, so setting
// them here touches nothing else.
test('git remote works with EDITOR, PAGER, GIT_PAGER, GIT_ASKPASS and SSH_ASKPASS set', async () => {
  Object.assign(process.env, { EDITOR: 'vi', VISUAL: 'vi', PAGER: 'less', GIT_PAGER: 'less', GIT_ASKPASS: '/bin/false', SSH_ASKPASS: '/bin/false' });
  const repo = TestRepo.create();
  const commit = repo.commit('first', { 'index.html': 'hello' });
  const remote = gitKind.create(repo.url, gitConfig());
  const ctx = gitContext();
  const seen = await remote.check(ctx);
  assert.equal(seen.version, commit);
  const into = releaseDir();
  await remote.fetch(seen.version, into, ctx);
  assert.equal(readFileSync(join(into, 'index.html'), 'utf8'), 'hello');
});
