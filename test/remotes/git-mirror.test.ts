import assert from 'node:assert/strict';
import { readdirSync, rmSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RemoteError } from '../../src/errors.js';
import { gitKind } from '../../src/remotes/git/git.js';
import { gitConfig, gitContext, releaseDir, snapshot } from '../support/git-context.js';
import { freePort, startSilentServer } from '../support/git-daemon.js';
import { TestRepo, git } from '../support/git-repos.js';

// The mirror is a cache: corrupt or foreign ones are rebuilt without help; the remote's own
// failures (hung server, bad credentials) are reported promptly and without secrets.

// Object files (loose, and packs: small fetches arrive as loose objects).
function objectFiles(mirror: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name !== 'info') walk(join(dir, entry.name));
      else if (entry.isFile() && !entry.name.endsWith('.idx')) out.push(join(dir, entry.name));
    }
  };
  walk(join(mirror, 'objects'));
  assert.ok(out.length > 0, 'the mirror has objects to corrupt');
  return out;
}

async function deployed(repoUrl: string, ctx: ReturnType<typeof gitContext>) {
  const remote = gitKind.create(`${repoUrl}/web`, gitConfig());
  const seen = await remote.check(ctx);
  const into = releaseDir();
  const result = await remote.fetch(seen.version, into, ctx);
  return { seen, into, result };
}

describe('git mirror', () => {
  const corruptions: Array<[string, (mirror: string) => void]> = [
    ['deleted objects', (m) => rmSync(join(m, 'objects'), { recursive: true, force: true })],
    ['garbage in HEAD', (m) => writeFileSync(join(m, 'HEAD'), 'garbage\n')],
    ['truncated object files', (m) => objectFiles(m).forEach((p) => truncateSync(p, Math.min(8, statSync(p).size)))],
    ['garbage config', (m) => writeFileSync(join(m, 'config'), '[[[ not a config\n')],
  ];
  for (const [name, corrupt] of corruptions) {
    it(`rebuilds a mirror with ${name} and deploys`, async () => {
      const repo = TestRepo.create();
      repo.commit('first', { 'web/index.html': 'v1' });
      const ctx = gitContext();
      const first = await deployed(repo.url, ctx);
      assert.equal(snapshot(first.into)['index.html'], 'file:v1');
      corrupt(join(ctx.cacheDir, 'mirror.git'));
      // The same commit again (what a retry would do), then a new one.
      const again = await deployed(repo.url, ctx);
      assert.equal(again.result.contentId, first.result.contentId);
      assert.equal(snapshot(again.into)['index.html'], 'file:v1');
      repo.commit('second', { 'web/index.html': 'v2' });
      const next = await deployed(repo.url, ctx);
      assert.equal(snapshot(next.into)['index.html'], 'file:v2');
      assert.equal(git(ctx.cacheDir, '--git-dir=mirror.git', 'fsck', '--connectivity-only', '--no-dangling', '--no-progress'), '');
      assert.ok(ctx.lines.some((l) => /git mirror (unusable|corrupt)/.test(l)), 'the rebuild is logged');
    });
  }

  // The fetch that follows `contentIdOf` of the same commit takes what it found (no second
  // round of git commands); a mirror broken in between must still be noticed and rebuilt.
  for (const [name, corrupt] of corruptions) {
    it(`a fetch right after contentIdOf rebuilds a mirror with ${name} in between`, async () => {
      const repo = TestRepo.create();
      repo.commit('first', { 'web/index.html': 'v1' });
      const ctx = gitContext();
      await deployed(repo.url, ctx);
      repo.commit('second', { 'web/index.html': 'v2', 'web/new.txt': 'new' });
      const remote = gitKind.create(`${repo.url}/web`, gitConfig());
      const seen = await remote.check(ctx);
      const contentId = await remote.contentIdOf!(seen.version, ctx);
      corrupt(join(ctx.cacheDir, 'mirror.git'));
      const into = releaseDir();
      const result = await remote.fetch(seen.version, into, ctx);
      assert.equal(result.contentId, contentId);
      assert.deepEqual(snapshot(into), { 'index.html': 'file:v2', 'new.txt': 'file:new' });
    });
  }

  it('rebuilds a mirror whose origin is another url', async () => {
    const a = TestRepo.create({ name: 'a.git' });
    a.commit('a', { 'web/index.html': 'from a' });
    const b = TestRepo.create({ name: 'b.git' });
    b.commit('b', { 'web/index.html': 'from b' });
    const ctx = gitContext();
    await deployed(a.url, ctx);
    const fromB = await deployed(b.url, ctx);
    assert.equal(snapshot(fromB.into)['index.html'], 'file:from b');
    assert.equal(git(ctx.cacheDir, '--git-dir=mirror.git', 'config', 'remote.origin.url'), b.url);
    assert.ok(ctx.lines.some((l) => l.includes('for another url')));
  });

  it('a hung remote times out: check and fetch end with a RemoteError, promptly', async () => {
    const { port } = await startSilentServer();
    const remote = gitKind.create(`git://127.0.0.1:${port}/app.git`, gitConfig({ connectTimeoutMs: 300, readTimeoutMs: 700 }));
    const ctx = gitContext();
    for (const attempt of [() => remote.check(ctx), () => remote.contentIdOf!('0'.repeat(40), ctx)]) {
      const started = Date.now();
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof RemoteError);
        assert.match(error.message, /timed out: no answer for 1s/);
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 4000, `took ${elapsed} ms`);
    }
  });

  it('the agent stopping aborts a hung command', async () => {
    const { port } = await startSilentServer();
    const remote = gitKind.create(`git://127.0.0.1:${port}/app.git`, gitConfig());
    const controller = new AbortController();
    const ctx = { ...gitContext(), signal: controller.signal };
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    await assert.rejects(remote.check(ctx), /aborted/);
    assert.ok(Date.now() - started < 3000);
  });

  it('https credentials reach the server but never an error, a log line or display', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(String(req.headers.authorization ?? ''));
      if (!req.headers.authorization) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
        return;
      }
      res.writeHead(500).end('server broke for user:s3cretpw');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    after(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const url = `http://deployer:s3cretpw@127.0.0.1:${port}/org/app.git`;
    const remote = gitKind.create(`${url}#main`, gitConfig());
    const ctx = gitContext();
    await assert.rejects(remote.check(ctx), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.ok(!error.message.includes('s3cretpw') && !error.message.includes('deployer'), error.message);
      assert.ok(!JSON.stringify(error).includes('s3cretpw'));
      assert.ok(!String((error as { stack?: string }).stack).includes('s3cretpw'));
      return true;
    });
    const basic = `Basic ${Buffer.from('deployer:s3cretpw').toString('base64')}`;
    assert.ok(seen.includes(basic), `server saw ${JSON.stringify(seen)}`);
    assert.equal(remote.display, `http://127.0.0.1:${port}/org/app.git#main`);
    assert.ok(!ctx.lines.join('\n').includes('s3cretpw'));
    // The same for a closed port: git's own message names the URL it tried.
    const closed = gitKind.create(`http://deployer:s3cretpw@127.0.0.1:${await freePort()}/app.git`, gitConfig());
    await assert.rejects(closed.check(ctx), (error: unknown) => !(error as Error).message.includes('s3cretpw'));
  });
});
