import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gitKind } from '../../src/remotes/git/git.js';
import { gitConfig, gitContext, releaseDir } from '../support/git-context.js';
import { startGitHttpServer } from '../support/git-http.js';
import { TestRepo } from '../support/git-repos.js';
import { testdir } from '../support/tmp.js';

// The URL's credentials reach git through a credential helper scoped to the scheme, host and
// port (issue 13): a submodule on the same server authenticates with them too, with no
// credential in any URL git is given.

test('git over http with credentials: a relative submodule on the same server is fetched with the same credentials', async () => {
  const base = testdir();
  const lib = TestRepo.create({ baseDir: base, name: 'lib.git' });
  lib.commit('lib', { 'lib.js': 'lib' });
  const app = TestRepo.create({ baseDir: base, name: 'app.git' });
  app.write({ 'index.html': 'app' });
  app.git('-c', 'protocol.file.allow=always', 'submodule', '--quiet', 'add', '../lib.git', 'lib');
  app.commit('add lib');
  const server = await startGitHttpServer(base, { user: 'bob', password: 'pa:ss@w/rd' });
  const remote = gitKind.create(server.url('app.git', 'bob:pa%3Ass%40w%2Frd'), gitConfig());
  const ctx = gitContext();
  const into = releaseDir();
  await remote.fetch((await remote.check(ctx)).version, into, ctx);
  assert.equal(readFileSync(join(into, 'index.html'), 'utf8'), 'app');
  assert.equal(readFileSync(join(into, 'lib', 'lib.js'), 'utf8'), 'lib');
  const basic = `Basic ${Buffer.from('bob:pa:ss@w/rd').toString('base64')}`;
  assert.ok(server.authorizations().includes(basic), 'the percent-decoded credentials were sent');
  assert.ok(!ctx.lines.join('\n').includes('pa:ss@w/rd') && !ctx.lines.join('\n').includes('pa%3Ass'));
});
