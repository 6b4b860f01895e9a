import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { makeLayout, readTree, spawnCli, startBackground, type CliOptions, type Layout } from '../support/cli.js';
import { startSilentServer } from '../support/git-daemon.js';
import { startGitHttpServer } from '../support/git-http.js';
import { TestRepo } from '../support/git-repos.js';
import { watchArgv } from '../support/proc-tree.js';

// Issue 13: a credential in a git URL must be on no command line of any process the agent
// starts (git's own helpers included), at any moment: `/proc/<pid>/cmdline` is readable by
// every local user. The remote comes from a 0600 config file, so the agent's own argv is
// watched too.

const token = 'ghp_s3cretTOKEN4242';

/** Writes the config (remote and link in the file), returns the CLI arguments without them. */
function configure(layout: Layout, remote: string, extra = ''): string[] {
  writeFileSync(layout.config, `remote = ${remote}\nlocal = ${layout.link}\n${extra}`, { mode: 0o600 });
  return ['-c', layout.config, '--cache', layout.cache, '--pre-hooks', layout.pre, '--post-hooks', layout.post];
}

/** Runs the CLI to its end while watching its process tree's command lines. */
async function runWatched(args: string[], options: CliOptions = {}) {
  const child = spawnCli(args, options);
  const watch = watchArgv(child.pid!);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout!.resume();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stderr, argv: watch.stop() };
}

function assertNoToken(argv: string[], secret = token): void {
  const leaks = argv.filter((a) => a.includes(secret));
  assert.deepEqual(leaks, [], 'a command line holds the token');
}

for (const scheme of ['http', 'https']) {
  test(`a token in a ${scheme} git URL is on no command line while git waits on a server that never answers`, async () => {
    const silent = await startSilentServer();
    let connections = 0;
    silent.server.on('connection', () => (connections += 1));
    const layout = makeLayout();
    const args = configure(layout, `${scheme}://bob:${token}@127.0.0.1:${silent.port}/org/app.git#main`, 'connect-timeout = 1s\nread-timeout = 3s\n');
    const run = await runWatched([...args, '-f'], { cwd: layout.root });
    assert.equal(run.code, 1, run.stderr.slice(-2000));
    assert.ok(connections > 0, 'git never reached the server');
    // The watch must have seen git's remote helper, which is where the token used to be.
    assert.ok(run.argv.some((a) => /remote-https?\b/.test(a)), `no git remote helper seen in ${JSON.stringify(run.argv)}`);
    assertNoToken(run.argv);
    assert.ok(!run.stderr.includes(token), 'the token is in the output');
    assert.equal(layout.currentId(), null);
  });
}

test('a token-authenticated http git remote deploys (-f, then the daemon, which fetches in a child), never putting the token on a command line', async () => {
  const repo = TestRepo.create({ name: 'app.git' });
  repo.commit('first', { 'index.html': 'v1' });
  const server = await startGitHttpServer(dirname(repo.bare), { user: 'bob', password: token });
  const layout = makeLayout();
  const args = configure(layout, `${server.url('app.git', `bob:${token}`)}#main`, 'schedule = */1 * * * * *\n');

  const once = await runWatched([...args, '-f'], { cwd: layout.root });
  assert.equal(once.code, 0, once.stderr.slice(-2000));
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v1' });
  assert.ok(server.authorizations().includes(`Basic ${Buffer.from(`bob:${token}`).toString('base64')}`));
  assert.ok(once.argv.some((a) => a.startsWith('git ')), `no git process seen in ${JSON.stringify(once.argv)}`);
  assertNoToken(once.argv);

  repo.commit('second', { 'index.html': 'v2' });
  const daemon = startBackground([...args, '-v'], { cwd: layout.root });
  const watch = watchArgv(daemon.child.pid!);
  await daemon.waitForLog('the daemon deploys the second commit', (l) => l.msg === 'deployed', 90_000);
  const argv = watch.stop();
  daemon.child.kill('SIGTERM');
  await daemon.exited;
  assert.deepEqual(readTree(layout.link), { 'index.html': 'v2' });
  assert.ok(daemon.logs.some((l) => l.msg === 'fetched in a child process'), 'the daemon did not fetch in a child');
  assertNoToken(argv);
  assert.ok(!daemon.stderr().includes(token), 'the token is in the daemon log');
});

test('a bare token as the user name of an http git URL (https://TOKEN@host/…) deploys, on no command line', async () => {
  const repo = TestRepo.create({ name: 'app.git' });
  repo.commit('first', { 'index.html': 'token only' });
  const server = await startGitHttpServer(dirname(repo.bare), { user: token, password: '' });
  const layout = makeLayout();
  const args = configure(layout, server.url('app.git', token));
  const run = await runWatched([...args, '-f'], { cwd: layout.root });
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  assert.deepEqual(readTree(layout.link), { 'index.html': 'token only' });
  assertNoToken(run.argv);
});
