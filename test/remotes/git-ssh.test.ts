import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RemoteError } from '../../src/errors.js';
import { gitKind } from '../../src/remotes/git/git.js';
import { gitConfig, gitContext, releaseDir, snapshot } from '../support/git-context.js';
import { TestRepo } from '../support/git-repos.js';
import { startSshd } from '../support/sshd.js';

// Git over SSH against a real sshd on loopback: the configured key is used for this remote
// only, host keys are checked against the configured known_hosts, and nothing prompts.

describe('git over ssh', () => {
  it('checks and fetches with the configured key, in both url forms', async () => {
    const sshd = await startSshd();
    const repo = TestRepo.create();
    const commit = repo.commit('first', { 'web/index.html': 'over ssh', 'web/run.sh': { content: '#!/bin/sh\n', mode: 0o755 } });
    const config = gitConfig({ gitSshKey: sshd.clientKey, gitKnownHosts: sshd.knownHosts });
    for (const url of [`${sshd.url(repo.bare)}/web#main`, `git+${sshd.url(repo.bare)}/web`]) {
      const remote = gitKind.create(url, config);
      const ctx = gitContext();
      const seen = await remote.check(ctx);
      assert.deepEqual(seen.detail, { commit, ref: 'refs/heads/main' });
      const into = releaseDir();
      const result = await remote.fetch(seen.version, into, ctx);
      assert.deepEqual(snapshot(into), { 'index.html': 'file:over ssh', 'run.sh': 'file:#!/bin/sh\n +x' });
      assert.equal(result.contentId, `git-tree:${repo.treeOf('web')}`);
    }
  });

  it('a key the server does not accept, or a host key that does not match, fails without prompting', async () => {
    const sshd = await startSshd();
    const repo = TestRepo.create();
    repo.commit('first', { 'a.txt': 'a' });
    const cases = [
      { gitSshKey: sshd.strangerKey, gitKnownHosts: sshd.knownHosts },
      { gitSshKey: sshd.clientKey, gitKnownHosts: sshd.wrongKnownHosts },
    ];
    for (const config of cases) {
      const remote = gitKind.create(sshd.url(repo.bare), gitConfig(config));
      const started = Date.now();
      await assert.rejects(remote.check(gitContext()), (error: unknown) => {
        assert.ok(error instanceof RemoteError);
        assert.match(error.message, /git ls-remote failed/);
        assert.ok(!error.message.includes('PRIVATE KEY'));
        return true;
      });
      assert.ok(Date.now() - started < 8000);
    }
  });
});
