/**
 * Delta downloads from S3 against a real s3rver: ranged GetObjects (one range each), pinned to
 * the ETag the check saw. Every delta-built release is compared with a full deploy of the
 * same object.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RemoteError } from '../../src/errors.js';
import type { RemoteConfig } from '../../src/remotes/types.js';
import { s3rverKeys, startS3rver } from '../support/s3rver.js';
import { testdir } from '../support/tmp.js';
import { entryLayout } from '../support/zip.js';
import { makeTestRemote, testContext } from './conformance.js';
import { baseTree, changed, changes, describeTree, zipOfTree } from './delta-fixtures.js';

const bucket = 'releases';
const server = await startS3rver([bucket]);
after(() => server.close());
let keys = 0;

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

/** Uploads `body` (and its .sha256) at `key`. */
async function publish(key: string, body: Buffer): Promise<void> {
  await server.put(bucket, key, body);
  await server.put(bucket, `${key}.sha256`, `${createHash('sha256').update(body).digest('hex')}  app.zip\n`);
}

function remoteFor(key: string, config: Partial<RemoteConfig> = {}) {
  return makeTestRemote(`s3://${bucket}/${key}`, { awsAccessKey: s3rverKeys.accessKeyId, awsSecretKey: s3rverKeys.secretAccessKey, s3Endpoint: server.endpoint, ...config });
}

/** A full deploy of the object at `key` with an empty cache. */
async function fullDeploy(key: string, config: Partial<RemoteConfig> = {}): Promise<Record<string, string>> {
  const remote = remoteFor(key, config);
  const ctx = testContext();
  const into = testdir();
  const result = await remote.fetch((await remote.check(ctx)).version, into, ctx);
  assert.match(result.detail?.download ?? '', /^full: /);
  return describeTree(into);
}

/** Deploys the base version at a fresh key, uploads `next`, then checks and fetches with the same cache. */
async function deployThenUpdate(next: Buffer, config: Partial<RemoteConfig> = {}) {
  const key = `apps/${++keys}/app.zip`;
  await publish(key, await zipOfTree(baseTree()));
  const remote = remoteFor(key, config);
  const ctx = testContext();
  await remote.fetch((await remote.check(ctx)).version, testdir(), ctx);
  await publish(key, next);
  server.reset();
  const seen = await remote.check(ctx);
  const into = testdir();
  const result = await remote.fetch(seen.version, into, ctx);
  const gets = server.seen.filter((r) => r.method === 'GET' && r.path === `/${bucket}/${key}`);
  return { key, remote, ctx, seen, into, result, gets };
}

for (const [name, change] of changes) {
  test(`s3 delta: ${name} is fetched as ranged GetObjects and deploys what a full download deploys`, async () => {
    const next = await zipOfTree(changed(baseTree(), change));
    const { key, ctx, seen, into, result, gets } = await deployThenUpdate(next);
    assert.equal(seen.version, `"${md5(next)}"`);
    assert.match(result.detail?.download ?? '', /^delta: \d+ of \d+ bytes in \d+ requests?$/);
    assert.ok(result.bytesDownloaded > 0 && result.bytesDownloaded < next.length / 3, `${result.bytesDownloaded} of ${next.length} bytes`);
    const sent = gets.reduce((n, r) => n + r.bodyBytes, 0);
    assert.ok(sent < next.length / 3, `s3rver sent ${sent} of ${next.length} bytes`);
    // Each ranged GetObject is pinned to the checked ETag.
    for (const get of gets.slice(1)) assert.equal(get.headers['if-match'], seen.version);
    assert.ok(readFileSync(join(ctx.cacheDir, 'archive.zip')).equals(next), 'the rebuilt archive differs from the object');
    assert.deepEqual(describeTree(into), await fullDeploy(key));
  });
}

test('s3 delta: sha256 verification runs over the rebuilt archive', async () => {
  const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
  const config = { verify: { verifySha256: true } };
  const { key, into, result } = await deployThenUpdate(next, config);
  assert.equal(result.detail?.verified, 'sha256');
  assert.match(result.detail?.download ?? '', /^delta: /);
  assert.deepEqual(describeTree(into), await fullDeploy(key, config));
});

test('s3 delta: a ranged answer whose bytes differ from the object is caught and the object downloaded whole', async () => {
  const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
  const lying = Buffer.from(next);
  lying[entryLayout(next).get('d1/f05.txt')!.data + 10]! ^= 0xff;
  // Ranged GetObjects of the fetch (they carry If-Match) are answered from the lying copy.
  server.intercept = (req, res) => {
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (req.method !== 'GET' || !range || !req.headers['if-match']) return false;
    const [start, end] = [Number(range[1]), Number(range[2])];
    res.writeHead(206, { etag: `"${md5(next)}"`, 'content-range': `bytes ${start}-${end}/${next.length}`, 'content-length': end - start + 1 });
    res.end(lying.subarray(start, end + 1));
    return true;
  };
  try {
    const { key, ctx, into, result } = await deployThenUpdate(next);
    assert.match(result.detail?.download ?? '', /^full: /);
    assert.ok(readFileSync(join(ctx.cacheDir, 'archive.zip')).equals(next));
    server.intercept = undefined;
    assert.deepEqual(describeTree(into), await fullDeploy(key));
  } finally {
    server.intercept = undefined;
  }
});

test('s3 delta: an object replaced between check and fetch means a full download of the new one', async () => {
  const key = `apps/${++keys}/app.zip`;
  await publish(key, await zipOfTree(baseTree()));
  const remote = remoteFor(key);
  const ctx = testContext();
  await remote.fetch((await remote.check(ctx)).version, testdir(), ctx);
  await publish(key, await zipOfTree(changed(baseTree(), changes[0]![1])));
  const seen = await remote.check(ctx);
  const third = await zipOfTree(changed(baseTree(), changes[1]![1]));
  await publish(key, third);
  const refused = testdir();
  await assert.rejects(remote.fetch(seen.version, refused, ctx), (error) => error instanceof RemoteError && /changed since the check/.test(error.message));
  assert.deepEqual(readdirSync(refused), []);
  const into = testdir();
  const latest = await remote.check(ctx);
  assert.equal(latest.version, `"${md5(third)}"`);
  const result = await remote.fetch(latest.version, into, ctx);
  assert.ok(readFileSync(join(ctx.cacheDir, 'archive.zip')).equals(third));
  assert.ok(result.detail?.download);
  assert.deepEqual(describeTree(into), await fullDeploy(key));
});
