import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RemoteError, VerificationError } from '../../src/errors.js';
import { localKind } from '../../src/remotes/local/local.js';
import { testdir, writeTree } from '../support/tmp.js';
import { makeTestRemote, readTree, testContext, testRemoteConformance, zipOfFiles, type PublishedFile, type RemoteFixture } from './conformance.js';

/** A directory remote: publishing replaces the tree. */
async function directoryFixture(): Promise<RemoteFixture> {
  const base = testdir();
  const dir = join(base, 'app');
  return {
    url: dir,
    countsRequests: false,
    async publish(files: Record<string, PublishedFile>) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      writeTree(dir, files);
    },
    requests: () => ({ count: 0, bodyBytes: 0 }),
    resetCounters: () => {},
    missingUrl: () => join(base, 'missing-app'),
    // A path under a regular file: ENOTDIR, a different failure from ENOENT.
    unreachableUrl: () => {
      writeFileSync(join(base, 'plain-file'), 'x');
      return join(base, 'plain-file', 'app');
    },
    close: async () => {},
  };
}

/** A `.zip` remote given as a file:// URL. */
async function zipFixture(): Promise<RemoteFixture> {
  const base = testdir();
  const file = join(base, 'app.zip');
  return {
    url: pathToFileURL(file).href,
    countsRequests: false,
    async publish(files) {
      writeFileSync(file, await zipOfFiles(files));
    },
    requests: () => ({ count: 0, bodyBytes: 0 }),
    resetCounters: () => {},
    missingUrl: () => pathToFileURL(join(base, 'missing.zip')).href,
    unreachableUrl: () => {
      writeFileSync(join(base, 'plain-file'), 'x');
      return join(base, 'plain-file', 'app.zip');
    },
    close: async () => {},
  };
}

testRemoteConformance('local directory', directoryFixture);
testRemoteConformance('local zip', zipFixture);

test('local remote URLs: paths and file:// match, other schemes and scp-like addresses do not', () => {
  for (const url of ['/srv/app', './app', 'app.zip', '../x/app.zip', 'file:///srv/app.zip']) assert.ok(localKind.matches(url), url);
  for (const url of ['https://h/app.zip', 's3://b/k.zip', 'git@github.com:org/app.git', 'ssh://h/app.git', '']) {
    assert.ok(!localKind.matches(url), url);
  }
});

test('local zip: first deploy, update, modes, and the hash is cached by size and times', async () => {
  const fx = await zipFixture();
  await fx.publish({ 'a.txt': 'one\n', 'run.sh': { content: '#!/bin/sh\n', mode: 0o755 } });
  const remote = makeTestRemote(fx.url);
  const ctx = testContext();
  const first = await remote.check(ctx);
  assert.match(first.version, /^[0-9a-f]{64}$/);
  const into = testdir();
  const result = await remote.fetch(first.version, into, ctx);
  assert.equal(result.contentId, `sha256:${first.version}`);
  assert.deepEqual(readTree(into), { 'a.txt': 'one\n', 'run.sh': '#!/bin/sh\n' });
  assert.ok(statSync(join(into, 'run.sh')).mode & 0o100);
  // The cached hash is used while size and times are unchanged: proven by planting a wrong
  // one, which an unchanged file must return as is.
  const cacheFile = join(ctx.cacheDir, 'zip-hash.json');
  const cached = JSON.parse(readFileSync(cacheFile, 'utf8'));
  writeFileSync(cacheFile, JSON.stringify({ ...cached, sha256: 'planted' }));
  assert.equal((await remote.check(ctx)).version, 'planted');
  await fx.publish({ 'a.txt': 'two, longer\n' });
  const second = await remote.check(ctx);
  assert.notEqual(second.version, 'planted');
  assert.notEqual(second.version, first.version);
});

test('local zip: a half-written archive fails, the whole one deploys', async () => {
  const dir = testdir();
  const file = join(dir, 'app.zip');
  const whole = await zipOfFiles({ 'a.txt': 'one\n' });
  writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)));
  const remote = makeTestRemote(file);
  const ctx = testContext();
  await assert.rejects(async () => {
    const seen = await remote.check(ctx);
    await remote.fetch(seen.version, testdir(), ctx);
  });
  writeFileSync(file, whole);
  const seen = await remote.check(ctx);
  const into = testdir();
  await remote.fetch(seen.version, into, ctx);
  assert.deepEqual(readTree(into), { 'a.txt': 'one\n' });
});

test('local directory: symlinks inside the tree are kept, release modes by execute bit, contents not read by check', async () => {
  const dir = testdir({ 'a.txt': 'hello\n', 'sub/b.txt': 'b\n', 'link': { symlink: 'sub/b.txt' }, 'x.sh': { content: '#!/bin/sh\n', mode: 0o750 } });
  const fixedTime = new Date('2024-05-01T12:00:00Z');
  utimesSync(join(dir, 'a.txt'), fixedTime, fixedTime);
  const remote = makeTestRemote(dir);
  const ctx = testContext();
  const seen = await remote.check(ctx);
  const into = testdir();
  const result = await remote.fetch(seen.version, into, ctx);
  assert.equal(readlinkSync(join(into, 'link')), 'sub/b.txt');
  assert.equal(statSync(join(into, 'x.sh')).mode & 0o777, 0o755);
  assert.equal(result.files, 3);
  assert.match(result.contentId, /^tree-sha256:[0-9a-f]{64}$/);
  // Same size and mtime, different bytes: check does not read contents, so the version holds.
  writeFileSync(join(dir, 'a.txt'), 'HELLO\n');
  utimesSync(join(dir, 'a.txt'), fixedTime, fixedTime);
  assert.equal((await remote.check(ctx)).version, seen.version);
  chmodSync(join(dir, 'a.txt'), 0o600);
  assert.notEqual((await remote.check(ctx)).version, seen.version);
});

test('local directory: links that are absolute, escape, or escape through a chain are refused', async () => {
  for (const [name, tree] of [
    ['absolute', { 'a.txt': 'x', evil: { symlink: '/etc/passwd' } }],
    ['dot-dot', { 'a.txt': 'x', 'sub/evil': { symlink: '../../outside' } }],
  ] as const) {
    const dir = testdir(tree);
    const remote = makeTestRemote(dir);
    const ctx = testContext();
    const seen = await remote.check(ctx);
    await assert.rejects(remote.fetch(seen.version, testdir(), ctx), VerificationError, name);
  }
  const dir = testdir({ 'a.txt': 'x' });
  symlinkSync('.', join(dir, 'self'));
  symlinkSync('self/..', join(dir, 'up'));
  const remote = makeTestRemote(dir);
  const ctx = testContext();
  const seen = await remote.check(ctx);
  await assert.rejects(remote.fetch(seen.version, testdir(), ctx), /resolves outside/);
});

test('local: a tree changed between check and fetch is refused, sidecars are read beside the path', async () => {
  const base = testdir({ 'app.zip': 'not really a zip', 'app.zip.sha256': 'abc  app.zip\n' });
  const dir = testdir({ 'a.txt': 'x' });
  const remote = makeTestRemote(dir);
  const ctx = testContext();
  const seen = await remote.check(ctx);
  writeFileSync(join(dir, 'b.txt'), 'new');
  await assert.rejects(remote.fetch(seen.version, testdir(), ctx), (e: unknown) => e instanceof RemoteError && /changed between check and fetch/.test(e.message));
  const zipRemote = makeTestRemote(join(base, 'app.zip'));
  assert.equal((await zipRemote.fetchSidecar!('.sha256', ctx)).toString(), 'abc  app.zip\n');
  await assert.rejects(zipRemote.fetchSidecar!('.minisig', ctx), (e: unknown) => e instanceof RemoteError && e.message.includes('app.zip.minisig'));
  assert.ok(lstatSync(base).isDirectory());
});
