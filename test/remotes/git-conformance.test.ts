import assert from 'node:assert/strict';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { makeTestRemote, testContext, testRemoteConformance, type PublishedFile, type RemoteFixture } from './conformance.js';
import { freePort, startGitDaemon } from '../support/git-daemon.js';
import { startCountingProxy } from '../support/git-proxy.js';
import { TestRepo } from '../support/git-repos.js';
import { testdir, writeTree } from '../support/tmp.js';

// The shared remote conformance suite, run for git over file:// and over a git daemon (behind
// a counting proxy, so "one request, no body" is measured on the wire).

/** Publishing = replace the work tree's files, commit, push to the default branch. */
function publisher(repo: TestRepo): (files: Record<string, PublishedFile>) => Promise<void> {
  return async (files) => {
    for (const name of readdirSync(repo.work)) if (name !== '.git') rmSync(join(repo.work, name), { recursive: true, force: true });
    writeTree(repo.work, files);
    repo.commit('publish');
  };
}

async function fileFixture(): Promise<RemoteFixture> {
  const base = testdir();
  const repo = TestRepo.create({ baseDir: base, name: 'app.git' });
  return {
    url: repo.url,
    countsRequests: false,
    publish: publisher(repo),
    requests: () => ({ count: 0, bodyBytes: 0 }),
    resetCounters: () => {},
    missingUrl: () => pathToFileURL(join(base, 'missing.git')).href,
    unreachableUrl: () => {
      writeFileSync(join(base, 'plain-file'), 'x');
      return pathToFileURL(join(base, 'plain-file', 'app.git')).href;
    },
    close: async () => {},
  };
}

async function daemonFixture(): Promise<RemoteFixture> {
  const base = testdir();
  const repo = TestRepo.create({ baseDir: base, name: 'app.git', defaultBranch: 'trunk' });
  const daemon = await startGitDaemon(base);
  const proxy = await startCountingProxy(daemon.port);
  const closedPort = await freePort();
  return {
    url: `git://127.0.0.1:${proxy.port}/app.git`,
    publish: publisher(repo),
    requests: proxy.requests,
    resetCounters: proxy.resetCounters,
    truncateNext: proxy.truncateNextFetch,
    missingUrl: () => `git://127.0.0.1:${proxy.port}/missing.git`,
    unreachableUrl: () => `git://127.0.0.1:${closedPort}/app.git`,
    close: () => daemon.stop(),
  };
}

testRemoteConformance('git file://', fileFixture);
testRemoteConformance('git daemon', daemonFixture);

test('git daemon: a fetch is counted as a body, and a second fetch of the same commit sends nothing', async () => {
  const fx = await daemonFixture();
  await fx.publish({ 'a.txt': 'a'.repeat(10_000) });
  const remote = makeTestRemote(fx.url);
  const ctx = testContext();
  const seen = await remote.check(ctx);
  fx.resetCounters();
  const result = await remote.fetch(seen.version, testdir(), ctx);
  assert.ok(fx.requests().count >= 1 && fx.requests().bodyBytes > 0, JSON.stringify(fx.requests()));
  assert.ok(result.bytesDownloaded > 0);
  fx.resetCounters();
  const again = await remote.fetch(seen.version, testdir(), ctx);
  assert.deepEqual(fx.requests(), { count: 0, bodyBytes: 0 });
  assert.equal(again.bytesDownloaded, 0);
  await fx.close();
});
