import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { VerificationError } from '../../src/errors.js';
import type { Remote } from '../../src/remotes/types.js';
import { makeTestRemote, readTree, testContext } from './conformance.js';
import { makeLayout } from '../support/cli.js';
import { startGitDaemon } from '../support/git-daemon.js';
import { startCountingProxy } from '../support/git-proxy.js';
import { TestRepo } from '../support/git-repos.js';
import { allowedSigners, pushTag, signedCommit, signingKey, signWith } from '../support/git-signing.js';
import { testdir } from '../support/tmp.js';

// Signed commits and tags (issue 6) and escaping symlinks (DESIGN §10) through the git remote
// as the agent builds it (createRemote), signed by real git with real ssh-keygen keys.

const trusted = signingKey('release');
const stranger = signingKey('stranger');
const signers = allowedSigners([['release@example.com', trusted]]);
const app = { 'index.html': '<h1>app</h1>\n', 'bin/run.sh': { content: '#!/bin/sh\n', mode: 0o755 } };

function remoteFor(url: string, gitVerify?: 'commit' | 'tag'): Remote {
  return makeTestRemote(url, { verify: { verifySha256: false, gitAllowedSigners: signers, ...(gitVerify ? { gitVerify } : {}) } });
}

/** Checks and fetches through `remote`; returns the refusal and asserts nothing was written. */
async function refused(remote: Remote): Promise<string> {
  const ctx = testContext();
  const into = testdir();
  const seen = await remote.check(ctx);
  const error = await remote.fetch(seen.version, into, ctx).then(
    () => assert.fail('fetch should have been refused'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof VerificationError, `expected VerificationError, got ${String(error)}`);
  assert.deepEqual(readdirSync(into), [], 'release dir not empty after a refusal');
  assert.ok(error.message.includes(remote.display), `message does not name the remote: ${error.message}`);
  return error.message;
}

describe('git remote: signed commits (git-verify = commit)', () => {
  it('a commit signed by a listed key deploys, and the signer is reported', async () => {
    const repo = TestRepo.create();
    const commit = signedCommit(repo, trusted, 'signed', app);
    const remote = remoteFor(repo.url);
    const ctx = testContext();
    const seen = await remote.check(ctx);
    assert.equal(seen.version, commit);
    const into = testdir();
    const result = await remote.fetch(seen.version, into, ctx);
    assert.deepEqual(readTree(into), { 'index.html': '<h1>app</h1>\n', 'bin/run.sh': '#!/bin/sh\n' });
    assert.equal(result.detail?.signer, 'release@example.com');
    assert.equal(result.detail?.signedBy, trusted.fingerprint);
    assert.equal(result.detail?.commit, commit);
    // The no-op path verifies too, and agrees with fetch on the content id.
    assert.equal(await remote.contentIdOf!(seen.version, ctx), result.contentId);
  });

  it('an unsigned commit is refused, naming the commit, and nothing is written', async () => {
    const repo = TestRepo.create();
    const commit = repo.commit('unsigned', app);
    const message = await refused(remoteFor(repo.url));
    assert.match(message, new RegExp(`^commit ${commit} is not signed; git-allowed-signers requires a signature by a key listed in `));
  });

  it('an unsigned commit is refused on the no-op path too (contentIdOf)', async () => {
    const repo = TestRepo.create();
    const signed = signedCommit(repo, trusted, 'signed', app);
    // Same tree, unsigned: its content id equals the deployed one, and still must not pass.
    const unsigned = repo.commit('same tree, unsigned');
    const remote = remoteFor(repo.url);
    const ctx = testContext();
    assert.match(await remote.contentIdOf!(signed, ctx), /^git-tree:[0-9a-f]{40}$/);
    await assert.rejects(remote.contentIdOf!(unsigned, ctx), (error: unknown) => {
      assert.ok(error instanceof VerificationError, String(error));
      assert.match(error.message, new RegExp(`^commit ${unsigned} is not signed`));
      return true;
    });
  });

  it('a commit signed by a key not in the allowed signers is refused, naming that key', async () => {
    const repo = TestRepo.create();
    const commit = signedCommit(repo, stranger, 'by a stranger', app);
    const message = await refused(remoteFor(repo.url));
    assert.ok(message.startsWith(`commit ${commit} is signed by key ${stranger.fingerprint}, which is not listed in ${signers}`), message);
  });

  it('without git-allowed-signers an unsigned commit deploys as before', async () => {
    const repo = TestRepo.create();
    repo.commit('unsigned', app);
    const remote = makeTestRemote(repo.url);
    const ctx = testContext();
    const result = await remote.fetch((await remote.check(ctx)).version, testdir(), ctx);
    assert.equal(result.detail?.signer, undefined);
    assert.equal(result.detail?.signedBy, undefined);
  });
});

describe('git remote: signed tags (git-verify = tag)', () => {
  it('a signed tag deploys; a second fetch uses the tag already in the mirror', async () => {
    const base = testdir();
    const repo = TestRepo.create({ baseDir: base });
    // The commit itself is unsigned: in tag mode the tag carries the signature.
    const commit = repo.commit('release', app);
    pushTag(repo, 'v1', trusted);
    repo.commit('later work on main', { 'index.html': 'not released' });
    const daemon = await startGitDaemon(base);
    const proxy = await startCountingProxy(daemon.port);
    const remote = remoteFor(`git://127.0.0.1:${proxy.port}/app.git#v1`, 'tag');
    const ctx = testContext();
    const seen = await remote.check(ctx);
    assert.equal(seen.version, commit);
    const into = testdir();
    const result = await remote.fetch(seen.version, into, ctx);
    assert.equal(readTree(into)['index.html'], '<h1>app</h1>\n');
    assert.deepEqual(
      { signer: result.detail?.signer, signedBy: result.detail?.signedBy, signedTag: result.detail?.signedTag },
      { signer: 'release@example.com', signedBy: trusted.fingerprint, signedTag: 'v1' },
    );
    proxy.resetCounters();
    const again = await remote.fetch(seen.version, testdir(), ctx);
    assert.equal(again.detail?.signedTag, 'v1');
    assert.deepEqual(proxy.requests(), { count: 0, bodyBytes: 0 });
  });

  it('a branch, the default branch or a commit id is refused: only a tag can be signed', async () => {
    const base = testdir();
    const repo = TestRepo.create({ baseDir: base });
    const commit = signedCommit(repo, trusted, 'signed commit, still not a tag', app);
    pushTag(repo, 'v1', trusted);
    const daemon = await startGitDaemon(base);
    for (const url of [`${repo.url}#main`, daemon.url('app.git#main')]) {
      assert.match(await refused(remoteFor(url, 'tag')), /git-verify = tag requires the remote to name a signed tag .* but it names branch main/);
    }
    assert.match(await refused(remoteFor(repo.url, 'tag')), /but it names the remote's default branch/);
    assert.match(await refused(remoteFor(`${repo.url}#${commit}`, 'tag')), new RegExp(`but it names commit ${commit}`));
  });

  it('an unsigned annotated tag, a lightweight tag and a stranger-signed tag are refused', async () => {
    const repo = TestRepo.create();
    repo.commit('release', app);
    pushTag(repo, 'plain', 'annotated');
    pushTag(repo, 'light', 'light');
    pushTag(repo, 'theirs', stranger);
    assert.match(await refused(remoteFor(`${repo.url}#plain`, 'tag')), /^tag plain is not signed; git-verify = tag requires a tag signed by a key listed in /);
    assert.match(await refused(remoteFor(`${repo.url}#light`, 'tag')), /^tag light is a lightweight tag and cannot carry a signature/);
    const message = await refused(remoteFor(`${repo.url}#theirs`, 'tag'));
    assert.ok(message.startsWith(`tag theirs is signed by key ${stranger.fingerprint}, which is not listed`), message);
  });

  it('a signed tag re-published under another name is refused (no replay of an old release)', async () => {
    const repo = TestRepo.create();
    repo.commit('old release', app);
    pushTag(repo, 'v1', trusted);
    repo.commit('new release', { 'index.html': 'v2' });
    // v2 on the remote is v1's signed tag object: valid signature, wrong name, old code.
    repo.git('update-ref', 'refs/tags/v2', repo.git('rev-parse', 'refs/tags/v1'));
    repo.git('push', '--quiet', 'origin', 'refs/tags/v2');
    const message = await refused(remoteFor(`${repo.url}#v2`, 'tag'));
    assert.match(message, /^tag v2 holds a tag object signed under the name "v1"/);
  });

  it('a tag signed by a listed key but pointing elsewhere than the deployed commit is refused', async () => {
    const repo = TestRepo.create();
    const first = repo.commit('first', app);
    pushTag(repo, 'v1', trusted);
    const second = repo.commit('second', { 'index.html': 'second' });
    const remote = remoteFor(`${repo.url}#v1`, 'tag');
    const ctx = testContext();
    assert.equal((await remote.check(ctx)).version, first);
    const into = testdir();
    await assert.rejects(remote.fetch(second, into, ctx), (error: unknown) => {
      assert.ok(error instanceof VerificationError, String(error));
      assert.match(error.message, new RegExp(`^signed tag v1 points at commit ${first}, but the commit to deploy is ${second}`));
      return true;
    });
    assert.deepEqual(readdirSync(into), []);
  });
});

describe('git remote: symlinks', () => {
  it('in-tree symlinks are kept', async () => {
    const repo = TestRepo.create();
    signedCommit(repo, trusted, 'links', {
      ...app,
      'web/index.html': 'web',
      'web/home': { symlink: '../index.html' },
      'web/self': { symlink: './index.html' },
      'up': { symlink: 'web/..' },
      'données/lien-é': { symlink: '../fichier-ü' },
      'fichier-ü': 'ü',
    });
    const remote = remoteFor(repo.url);
    const ctx = testContext();
    const into = testdir();
    await remote.fetch((await remote.check(ctx)).version, into, ctx);
    const tree = readTree(into);
    assert.equal(tree['web/home'], '-> ../index.html');
    assert.equal(tree['web/self'], '-> ./index.html');
    assert.equal(tree['up'], '-> web/..');
    assert.equal(tree['données/lien-é'], '-> ../fichier-ü');
  });

  const escaping: Array<[string, Record<string, { symlink: string } | string>, string, RegExp]> = [
    ['absolute', { 'etc': { symlink: '/etc' } }, '', /symlink "etc" -> "\/etc" has an absolute target/],
    ['climbing out', { 'conf/passwd': { symlink: '../../etc/passwd' } }, '', /symlink "conf\/passwd" -> "..\/..\/etc\/passwd" leads outside the release/],
    ['through another link', { 'd/up': { symlink: '..' }, 'x': { symlink: 'd/up/..' } }, '', /symlink "x" -> "d\/up\/.." leads outside the release/],
    ['out of the deployed subdirectory', { 'web/api': { symlink: '../api/server.js' }, 'api/server.js': 'api' }, '/web', /symlink "api" -> "..\/api\/server.js" leads outside the release/],
    ['with non-ASCII names', { 'données/lien-é': { symlink: '../../ailleurs-ü' } }, '', /symlink "données\/lien-é" -> "..\/..\/ailleurs-ü" leads outside the release/],
    ['a loop', { 'a': { symlink: 'b/x' }, 'b': { symlink: 'a/y' } }, '', /is part of a symlink loop/],
  ];
  for (const [name, files, subdir, pattern] of escaping) {
    it(`a symlink ${name} is refused and nothing is written`, async () => {
      const repo = TestRepo.create();
      const commit = signedCommit(repo, trusted, name, { ...app, 'web/index.html': 'web', ...files });
      const message = await refused(remoteFor(`${repo.url}${subdir}`));
      assert.ok(message.startsWith(`refusing commit ${commit} of `), message);
      assert.match(message, pattern);
    });
  }

  it('checked without allowed signers too', async () => {
    const repo = TestRepo.create();
    repo.commit('unsigned, escaping', { 'x': { symlink: '../outside' } });
    const remote = makeTestRemote(repo.url);
    const ctx = testContext();
    const into = testdir();
    await assert.rejects(remote.fetch((await remote.check(ctx)).version, into, ctx), VerificationError);
    assert.deepEqual(readdirSync(into), []);
  });

  it("a submodule's symlink climbing out through the superproject's links is refused", async () => {
    const base = testdir();
    const lib = TestRepo.create({ baseDir: base, name: 'lib.git' });
    lib.commit('lib', { 'lib.js': 'lib', 'x': { symlink: '../d/up/..' } });
    const repo = TestRepo.create({ baseDir: base, name: 'app.git' });
    repo.write({ 'd/up': { symlink: '..' }, 'index.html': 'app' });
    repo.git('-c', 'protocol.file.allow=always', 'submodule', '--quiet', 'add', '../lib.git', 's');
    signedCommit(repo, trusted, 'add lib');
    // The superproject is already written when its submodules are fetched: the caller removes
    // the staging dir on any error (Remote.fetch), so only the refusal itself is asserted here.
    const remote = remoteFor(repo.url);
    const ctx = testContext();
    await assert.rejects(remote.fetch((await remote.check(ctx)).version, testdir(), ctx), (error: unknown) => {
      assert.ok(error instanceof VerificationError, String(error));
      assert.match(error.message, /symlink "s\/x" -> "..\/d\/up\/.." leads outside the release/);
      return true;
    });
  });
});

describe('git remote: through the CLI', () => {
  it('unsigned: exit 1, no release, status says why; signed: deployed with the signer recorded', async () => {
    const layout = makeLayout();
    writeFileSync(layout.config, `git-allowed-signers = ${signers}\n`);
    const repo = TestRepo.create();
    const unsigned = repo.commit('unsigned', app);
    const refusedRun = await layout.fetch(repo.url);
    assert.equal(refusedRun.code, 1, refusedRun.stderr);
    assert.match(refusedRun.stderr, new RegExp(`commit ${unsigned} is not signed`));
    assert.equal(layout.currentId(), null);
    assert.deepEqual(layout.releases(), []);
    assert.match((await layout.status(repo.url)).lastCheck?.error ?? '', /is not signed/);

    const signed = signedCommit(repo, trusted, 'signed', { 'index.html': 'signed' });
    const run = await layout.fetch(repo.url);
    assert.equal(run.code, 0, run.stderr);
    const status = await layout.status(repo.url);
    assert.equal(status.current?.version, signed);
    const record = status.releases.find((r) => r.id === layout.currentId()) as { detail?: Record<string, string> } | undefined;
    assert.equal(record?.detail?.signedBy, trusted.fingerprint);
  });
});
