import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { makeLayout, readTree, runCli, writeHook } from '../support/cli.js';
import { startGitHttpServer } from '../support/git-http.js';
import { TestRepo } from '../support/git-repos.js';

// Issue 13: configuration that holds a secret, set through `REPO_DEPLOY_*` variables, must not
// reach the hooks' environment (nor the app they restart), while the deploy itself uses it.

const token = 'tok3n-in-the-remote-url';
const secrets = {
  REPO_DEPLOY_AWS_ACCESS_KEY: 'AKIAHOOKENVTEST0001',
  REPO_DEPLOY_AWS_SECRET_KEY: 'aws/s3cret+hook+env+value',
  REPO_DEPLOY_ETCD_PASSWORD: 'etcd-passw0rd-value',
};

/** Parses `env -0` output. */
function readEnv(path: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readFileSync(path, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) out.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return out;
}

test('secrets set through REPO_DEPLOY_* variables are used for the deploy but kept out of every hook environment', async () => {
  const repo = TestRepo.create({ name: 'app.git' });
  repo.commit('first', { 'index.html': 'from an authenticated remote' });
  const server = await startGitHttpServer(dirname(repo.bare), { user: 'bob', password: token });
  const layout = makeLayout();
  const remote = `${server.url('app.git', `bob:${token}`)}#main`;
  const dump = (phase: string) => `env -0 > "${join(layout.root, `${phase}.env`)}"\n`;
  writeHook(layout, 'pre', '10-env', dump('pre'));
  writeHook(layout, 'post', '10-env', dump('post'));
  // A second hook dir's hook also sees the filtered environment, and so does what a hook starts.
  writeHook(layout, 'post', '20-child', `sh -c '${dump('child').trim()}'\n`);

  const run = await runCli(['-c', layout.config, '--cache', layout.cache, '--pre-hooks', layout.pre, '--post-hooks', layout.post, '-l', layout.link, '-f'], {
    cwd: layout.root,
    env: { ...secrets, REPO_DEPLOY_ETCD_USER: 'deployer', REPO_DEPLOY_REMOTE: remote, HOOK_ENV_PROBE: 'kept' },
  });
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  assert.deepEqual(readTree(layout.link), { 'index.html': 'from an authenticated remote' });

  for (const phase of ['pre', 'post', 'child']) {
    const path = join(layout.root, `${phase}.env`);
    const text = readFileSync(path, 'utf8');
    for (const value of [...Object.values(secrets), token]) assert.ok(!text.includes(value), `${phase} hook saw ${value}`);
    const env = readEnv(path);
    for (const name of Object.keys(secrets)) assert.ok(!env.has(name), `${phase} hook has ${name}`);
    assert.equal(env.get('REPO_DEPLOY_REMOTE'), `${server.url('app.git')}#main`, 'the remote is kept, without its userinfo');
    assert.equal(env.get('HOOK_ENV_PROBE'), 'kept', 'the rest of the environment is passed on');
    assert.equal(env.get('REPO_DEPLOY_PHASE'), phase === 'pre' ? 'pre-update' : 'post-update');
  }
});
