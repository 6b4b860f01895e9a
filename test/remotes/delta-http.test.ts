import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RemoteError } from '../../src/errors.js';
import type { RemoteConfig } from '../../src/remotes/types.js';
import { entryLayout } from '../support/zip.js';
import { withHttpServer, type ServedObject, type TestHttpServer } from '../support/http-server.js';
import { testdir } from '../support/tmp.js';
import { makeTestRemote, testContext } from './conformance.js';
import { baseTree, cachedArchive, changed, changes, describeTree, filler, zipOfTree, type Tree } from './delta-fixtures.js';

// Delta downloads over HTTP against a real server (test/support/http-server.ts) that serves
// ranges, or not, or lies in them. Every delta-built release is compared with a full deploy
// of the same archive: contents, modes, mtimes, link targets.

/** Serves `body` at /app.zip (with its .sha256 beside it), each publication its own second. */
let published = 0;
function publish(server: TestHttpServer, body: Buffer, served: Omit<ServedObject, 'body'> = { ranges: true }): void {
  const modified = new Date(Date.UTC(2024, 0, 1) + ++published * 1000);
  server.put('/app.zip', { ...served, modified, body });
  server.put('/app.zip.sha256', { body: Buffer.from(`${createHash('sha256').update(body).digest('hex')}  app.zip\n`) });
}

/** A full deploy of `body` by a remote with an empty cache: what every delta must equal. */
async function fullDeploy(server: TestHttpServer, config: Partial<RemoteConfig> = {}): Promise<Record<string, string>> {
  const remote = makeTestRemote(`${server.origin}/app.zip`, config);
  const ctx = testContext();
  const into = testdir();
  const result = await remote.fetch((await remote.check(ctx)).version, into, ctx);
  assert.match(result.detail?.download ?? '', /^full: /);
  return describeTree(into);
}

/** Deploys the base version, publishes `next`, and fetches it with the same cache. */
async function deployThenUpdate(server: TestHttpServer, next: Buffer, options: { config?: Partial<RemoteConfig>; served?: Omit<ServedObject, 'body'> } = {}) {
  publish(server, await zipOfTree(baseTree()), options.served);
  const remote = makeTestRemote(`${server.origin}/app.zip`, options.config);
  const ctx = testContext();
  await remote.fetch((await remote.check(ctx)).version, testdir(), ctx);
  publish(server, next, options.served);
  server.resetCounters();
  const seen = await remote.check(ctx);
  const into = testdir();
  const result = await remote.fetch(seen.version, into, ctx);
  return { remote, ctx, seen, into, result, requests: server.requests() };
}

for (const [name, change] of changes) {
  test(`http delta: ${name} is fetched as ranges and deploys what a full download deploys`, async () => {
    await withHttpServer(async (server) => {
      const next = await zipOfTree(changed(baseTree(), change));
      const { ctx, into, result, requests } = await deployThenUpdate(server, next);
      assert.match(result.detail?.download ?? '', /^delta: \d+ of \d+ bytes in \d+ requests?$/);
      assert.ok(result.bytesDownloaded > 0 && result.bytesDownloaded < next.length / 3, `${result.bytesDownloaded} of ${next.length} bytes downloaded`);
      assert.ok(requests.bodyBytes < next.length / 3, `the server sent ${requests.bodyBytes} of ${next.length} bytes`);
      assert.ok(cachedArchive(ctx.cacheDir).equals(next), 'the rebuilt archive differs from the served one');
      assert.deepEqual(describeTree(into), await fullDeploy(server));
    });
  });
}

test('http delta: a second fetch of the same version reports no bytes; the first reports the download', async () => {
  await withHttpServer(async (server) => {
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    const { remote, ctx, seen, result } = await deployThenUpdate(server, next);
    assert.ok(result.bytesDownloaded > 0);
    const again = await remote.fetch(seen.version, testdir(), ctx);
    assert.equal(again.bytesDownloaded, 0);
    assert.match(again.detail?.download ?? '', /^cache: 0 of /);
  });
});

test('http delta: sha256 verification runs over the rebuilt archive', async () => {
  await withHttpServer(async (server) => {
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    const { into, result } = await deployThenUpdate(server, next, { config: { verify: { verifySha256: true } } });
    assert.equal(result.detail?.verified, 'sha256');
    assert.match(result.detail?.download ?? '', /^delta: /);
    assert.deepEqual(describeTree(into), await fullDeploy(server, { verify: { verifySha256: true } }));
  });
});

test('http delta: minisign verification runs over the rebuilt archive', async () => {
  await withHttpServer(async (server) => {
    const dir = testdir();
    const run = (args: string[]) => spawnSync('minisign', args, { cwd: dir, encoding: 'utf8', input: '' });
    assert.equal(run(['-G', '-W', '-p', 'k.pub', '-s', 'k.key']).status, 0);
    const key = readFileSync(join(dir, 'k.pub'), 'utf8').trim().split('\n')[1]!;
    const signed = async (body: Buffer): Promise<Buffer> => {
      writeFileSync(join(dir, 'app.zip'), body);
      assert.equal(run(['-S', '-s', 'k.key', '-m', 'app.zip', '-t', `build ${body.length}`]).status, 0);
      return readFileSync(join(dir, 'app.zip.minisig'));
    };
    const base = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), changes[1]![1]));
    const config = { verify: { verifySha256: false, minisignKey: key } };
    publish(server, base);
    server.put('/app.zip.minisig', { body: await signed(base) });
    const remote = makeTestRemote(`${server.origin}/app.zip`, config);
    const ctx = testContext();
    await remote.fetch((await remote.check(ctx)).version, testdir(), ctx);
    publish(server, next);
    server.put('/app.zip.minisig', { body: await signed(next) });
    const into = testdir();
    const result = await remote.fetch((await remote.check(ctx)).version, into, ctx);
    assert.equal(result.detail?.verified, 'minisign');
    assert.equal(result.detail?.trustedComment, `build ${next.length}`);
    assert.match(result.detail?.download ?? '', /^delta: /);
    assert.deepEqual(describeTree(into), await fullDeploy(server, config));
  });
});

test('http delta: a range whose data differs from the full body is caught (CRC) and the archive downloaded whole', async () => {
  await withHttpServer(async (server) => {
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    const lying = Buffer.from(next);
    lying[entryLayout(next).get('d1/f05.txt')!.data + 10]! ^= 0xff;
    const { ctx, into, result } = await deployThenUpdate(server, next, { served: { ranges: true, rangeBody: lying } });
    assert.match(result.detail?.download ?? '', /^full: /);
    assert.ok(cachedArchive(ctx.cacheDir).equals(next));
    assert.deepEqual(describeTree(into), await fullDeploy(server));
  });
});

test('http delta: a lying range that CRCs cannot see is caught by sha256 over the rebuilt archive', async () => {
  await withHttpServer(async (server) => {
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    const lying = Buffer.from(next);
    // The DOS time in the changed entry's local header: no CRC covers it.
    lying[entryLayout(next).get('d1/f05.txt')!.local + 10]! ^= 0x01;
    const config = { verify: { verifySha256: true } };
    const { ctx, into, result } = await deployThenUpdate(server, next, { config, served: { ranges: true, rangeBody: lying } });
    assert.match(result.detail?.download ?? '', /^full: /);
    assert.equal(result.detail?.verified, 'sha256');
    assert.ok(cachedArchive(ctx.cacheDir).equals(next));
    assert.deepEqual(describeTree(into), await fullDeploy(server, config));
  });
});

test('http delta: a server without Range support gets a full download, same result', async () => {
  await withHttpServer(async (server) => {
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    const { ctx, into, result } = await deployThenUpdate(server, next, { served: { ranges: false } });
    assert.match(result.detail?.download ?? '', /^full: /);
    assert.equal(result.bytesDownloaded, next.length);
    assert.ok(cachedArchive(ctx.cacheDir).equals(next));
    assert.deepEqual(describeTree(into), await fullDeploy(server));
  });
});

for (const validator of ['etag', 'last-modified'] as const) {
  test(`http delta: a ${validator} that moves between range requests means a full download`, async () => {
    await withHttpServer(async (server) => {
      const served = validator === 'etag' ? { ranges: true } : { ranges: true, etag: false };
      publish(server, await zipOfTree(baseTree()), served);
      const remote = makeTestRemote(`${server.origin}/app.zip`);
      const ctx = testContext();
      await remote.fetch((await remote.check(ctx)).version, testdir(), ctx);
      publish(server, await zipOfTree(changed(baseTree(), changes[0]![1])), served);
      const seen = await remote.check(ctx);
      // The first range request (end records) still sees the checked version; then it moves.
      const third = await zipOfTree(changed(baseTree(), changes[1]![1]));
      server.replaceAfter('/app.zip', 1, { ...served, body: third, modified: new Date(Date.UTC(2024, 0, 1) + ++published * 1000) });
      server.resetCounters();
      const refused = testdir();
      await assert.rejects(remote.fetch(seen.version, refused, ctx), (error) => error instanceof RemoteError && /changed between check and fetch/.test(error.message));
      assert.deepEqual(readdirSync(refused), []);
      const statuses = server.log().map((r) => r.status);
      assert.deepEqual(statuses.slice(0, 2), [206, 200], `answers: ${statuses.join(', ')}`);
      assert.ok(statuses.filter((s) => s === 200).length >= 1);
      // The full download is the new version: the next check and fetch deploy it.
      const into = testdir();
      const result = await remote.fetch((await remote.check(ctx)).version, into, ctx);
      assert.ok(cachedArchive(ctx.cacheDir).equals(third));
      assert.deepEqual(describeTree(into), await fullDeploy(server));
      assert.match(result.detail?.download ?? '', /^full: /);
    });
  });
}

for (const lie of [false, true]) {
  test(`http delta: a changed file over 8 MiB is checked streaming${lie ? ', and a lying range in it caught' : ''}`, async () => {
    await withHttpServer(async (server) => {
      const withBig = (seed: string): Tree => ({ ...baseTree(10), 'assets/big.txt': { content: filler(seed, 9 * 1024 * 1024) } });
      publish(server, await zipOfTree(withBig('one')));
      const remote = makeTestRemote(`${server.origin}/app.zip`);
      const ctx = testContext();
      await remote.fetch((await remote.check(ctx)).version, testdir(), ctx);
      const next = await zipOfTree(withBig('two'));
      const lying = Buffer.from(next);
      lying[entryLayout(next).get('assets/big.txt')!.data + 4_000_000]! ^= 0xff;
      publish(server, next, lie ? { ranges: true, rangeBody: lying } : { ranges: true });
      const into = testdir();
      const result = await remote.fetch((await remote.check(ctx)).version, into, ctx);
      assert.match(result.detail?.download ?? '', lie ? /^full: / : /^delta: /);
      assert.ok(cachedArchive(ctx.cacheDir).equals(next));
      assert.deepEqual(describeTree(into), await fullDeploy(server));
    });
  });
}

test('http delta: a remote that goes back to the cached version before the fetch is that version again, and the next check is a 304', async () => {
  await withHttpServer(async (server) => {
    const base = await zipOfTree(baseTree());
    publish(server, base);
    const remote = makeTestRemote(`${server.origin}/app.zip`);
    const ctx = testContext();
    const v1 = (await remote.check(ctx)).version;
    await remote.fetch(v1, testdir(), ctx);
    publish(server, await zipOfTree({ ...baseTree(), 'new.txt': { content: 'v2' } }));
    assert.notEqual((await remote.check(ctx)).version, v1, 'the ranged check sees v2 (kept as pending)');
    // Back to v1's bytes, with v1's validator: the remote is v1 again.
    server.put('/app.zip', { ranges: true, modified: new Date(Date.UTC(2024, 0, 1) + (published - 1) * 1000), body: base });
    assert.equal((await remote.check(ctx)).version, v1);
    server.resetCounters();
    assert.equal((await remote.check(ctx)).version, v1);
    assert.deepEqual(server.log().map((r) => r.status), [304], 'the forgotten pending version no longer turns unchanged checks into ranged answers');
  });
});
