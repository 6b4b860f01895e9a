import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, makeLayout, runCli, startBackground, type Layout } from '../support/cli.js';
import { startGitHttpServer } from '../support/git-http.js';
import { TestRepo } from '../support/git-repos.js';
import { startHttpServer } from '../support/http-server.js';
import { entriesOf, makeZip } from '../support/zip.js';

// Issue 13: credentials in the remote URL (userinfo, a token query parameter) never appear in
// what the agent prints or keeps: logs (at debug), `status` and `releases` (text and --json),
// state and every file of the deploy directory and the cache, error messages, /metrics.

/** Writes the config (remote, link, extra keys), returns the CLI arguments that go with it. */
function configure(layout: Layout, remote: string, extra = ''): string[] {
  writeFileSync(layout.config, `remote = ${remote}\nlocal = ${layout.link}\n${extra}`, { mode: 0o600 });
  return ['-c', layout.config, '--cache', layout.cache, '--pre-hooks', layout.pre, '--post-hooks', layout.post];
}

/** Every file under `dir` (following no links), as `path: content`. */
function filesUnder(dir: string): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) out.push(...filesUnder(path));
    else if (stat?.isFile()) out.push([path, readFileSync(path)]);
  }
  return out;
}

/** Runs a deploy, then every read-only command; asserts none of it, nor any file left, holds a secret. */
async function assertNothingLeaks(layout: Layout, args: string[], secrets: string[], expectCode: number): Promise<string> {
  const run = await runCli([...args, '-f', '-v'], { cwd: layout.root });
  assert.equal(run.code, expectCode, run.stderr.slice(-2000));
  const texts: Array<[string, string]> = [['-f -v output', run.stdout + run.stderr]];
  for (const command of [['status'], ['status', '--json'], ['releases', '--json'], ['check-config']]) {
    const r = await runCli([...command, ...args, '-v'], { cwd: layout.root });
    texts.push([command.join(' '), r.stdout + r.stderr]);
  }
  for (const dir of [layout.deployDir, layout.cache]) {
    for (const [path, content] of filesUnder(dir)) texts.push([path, content.toString('latin1')]);
  }
  for (const secret of secrets) {
    const leaks = texts.filter(([, text]) => text.includes(secret)).map(([where]) => where);
    assert.deepEqual(leaks, [], `"${secret}" found`);
  }
  return texts[0]![1] + texts[2]![1];
}

test('http zip with userinfo and a token parameter: deploys, then fails; no credential in output, status, state, cache', async () => {
  const password = 'zipPassw0rdSecret';
  const queryToken = 'qu3ryTokenSecret';
  const signature = 'g00gSignatureSecret';
  const server = await startHttpServer();
  after(() => server.close());
  server.requireAuth('zipuser', password);
  server.put('/app.zip', { body: await makeZip(entriesOf({ 'index.html': 'zip v1' })) });
  const layout = makeLayout();
  const args = configure(layout, `http://zipuser:${password}@127.0.0.1:${new URL(server.origin).port}/app.zip?token=${queryToken}&X-Goog-Signature=${signature}`);
  await assertNothingLeaks(layout, args, [password, queryToken, signature], 0);
  assert.equal(readFileSync(join(layout.link, 'index.html'), 'utf8'), 'zip v1');

  // A failure: the server's credentials changed. The error is shown, the secret is not.
  server.requireAuth('zipuser', 'rotated');
  server.put('/app.zip', { body: await makeZip(entriesOf({ 'index.html': 'zip v2' })) });
  const shown = await assertNothingLeaks(layout, args, [password, queryToken, signature], 1);
  assert.match(shown, /401/);
  assert.equal(readFileSync(join(layout.link, 'index.html'), 'utf8'), 'zip v1');
});

test('git over http with a token: deploys, then fails; no token in output, status, state, cache, metrics', async () => {
  const token = 'gitT0kenSecretValue';
  const repo = TestRepo.create({ name: 'app.git' });
  repo.commit('first', { 'index.html': 'git v1' });
  const server = await startGitHttpServer(dirname(repo.bare), { user: 'bob', password: token });
  const layout = makeLayout();
  const port = await freePort();
  const good = configure(layout, server.url('app.git', `bob:${token}`), `schedule = */1 * * * * *\nlisten = 127.0.0.1:${port}\n`);
  await assertNothingLeaks(layout, good, [token], 0);
  assert.equal(readFileSync(join(layout.link, 'index.html'), 'utf8'), 'git v1');

  // A repository that does not exist: git's error (which names the URL) reaches the output,
  // the token does not.
  const bad = configure(layout, server.url('gone.git', `bob:${token}`), `schedule = */1 * * * * *\nlisten = 127.0.0.1:${port}\n`);
  const shown = await assertNothingLeaks(layout, bad, [token], 1);
  assert.match(shown, /gone\.git/);

  // The daemon's /metrics after a failing check.
  const daemon = startBackground([...bad, '-v'], { cwd: layout.root });
  await daemon.waitForLog('a failed check', (l) => l.level === 'error');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).text();
  daemon.child.kill('SIGTERM');
  await daemon.exited;
  assert.match(metrics, /repo_deploy/);
  for (const [where, text] of [['metrics', metrics], ['healthz', health], ['daemon log', daemon.stderr()]]) {
    assert.ok(!text!.includes(token), `token in ${where}`);
  }
});
