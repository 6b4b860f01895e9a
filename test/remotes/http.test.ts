import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createHash } from 'node:crypto';
import { RemoteError, VerificationError } from '../../src/errors.js';
import { httpKind } from '../../src/remotes/http/http.js';
import { startHttpServer, withHttpServer, type ServedObject } from '../support/http-server.js';
import { testdir } from '../support/tmp.js';
import { makeTestRemote, readTree, testContext, testRemoteConfig, testRemoteConformance, zipOfFiles, type PublishedFile, type RemoteFixture } from './conformance.js';

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Conformance fixture: one zip at /app.zip on a fresh server, served with `served` options. */
function fixture(served: Omit<ServedObject, 'body'> = {}): () => Promise<RemoteFixture> {
  return async () => {
    const server = await startHttpServer();
    const port = await closedPort();
    let published = 0;
    return {
      url: `${server.origin}/app.zip`,
      async publish(files: Record<string, PublishedFile>) {
        // Without an ETag, Last-Modified is the only validator: give each publication its own
        // second, as a real deploy would have.
        const modified = new Date(Date.UTC(2024, 0, 1) + ++published * 1000);
        server.put('/app.zip', { ...served, modified, body: await zipOfFiles(files) });
      },
      requests: () => server.requests(),
      resetCounters: () => server.resetCounters(),
      missingUrl: () => `${server.origin}/missing/app.zip`,
      unreachableUrl: () => `http://127.0.0.1:${port}/app.zip`,
      truncateNext: () => server.truncateNext(),
      close: () => server.close(),
    };
  };
}

testRemoteConformance('http', fixture());
testRemoteConformance('http without etag', fixture({ etag: false }));

const files = { 'a.txt': 'hello\n', 'run.sh': { content: '#!/bin/sh\n', mode: 0o755 } };

test('http URLs are matched by scheme', () => {
  assert.ok(httpKind.matches('http://h/app.zip'));
  assert.ok(httpKind.matches('HTTPS://h/app.zip'));
  assert.ok(!httpKind.matches('s3://b/app.zip'));
  assert.ok(!httpKind.matches('/srv/app.zip'));
});

test('http: the check is conditional and the fetch reuses its download', async () => {
  await withHttpServer(async (server) => {
    const body = await zipOfFiles(files);
    server.put('/app.zip', { body });
    const remote = makeTestRemote(`${server.origin}/app.zip`);
    const ctx = testContext();
    const seen = await remote.check(ctx);
    assert.match(seen.version, /^etag:"[0-9a-f]{16}"$/);
    assert.deepEqual(server.requests(), { count: 1, bodyBytes: body.length });
    server.resetCounters();
    const into = testdir();
    const result = await remote.fetch(seen.version, into, ctx);
    assert.equal(server.requests().count, 0, 'fetch after check made a request');
    // The check's download is reported by the fetch that uses it (metrics count it once).
    assert.equal(result.bytesDownloaded, body.length);
    assert.equal((await remote.fetch(seen.version, testdir(), ctx)).bytesDownloaded, 0);
    assert.match(result.contentId, /^sha256:[0-9a-f]{64}$/);
    await remote.check(ctx);
    const [conditional] = server.log();
    assert.equal(conditional!.headers['if-none-match'], seen.detail!.etag);
    assert.equal(conditional!.status, 304);
  });
});

test('http: an archive cached by an earlier run is re-hashed, and downloaded again when damaged', async () => {
  await withHttpServer(async (server) => {
    const body = await zipOfFiles(files);
    server.put('/app.zip', { body });
    const ctx = testContext();
    const seen = await makeTestRemote(`${server.origin}/app.zip`).check(ctx);
    // Damage the cached archive: same size, one byte flipped (a disk error, a stray edit).
    const [cached] = readdirSync(ctx.cacheDir).filter((n) => n.startsWith('sha256-') && n.endsWith('.zip'));
    const path = `${ctx.cacheDir}/${cached}`;
    const damaged = readFileSync(path);
    damaged[damaged.length >> 1]! ^= 0xff;
    writeFileSync(path, damaged);
    server.resetCounters();
    // A new run (a new remote object) does not trust what the earlier one left.
    const into = testdir();
    const result = await makeTestRemote(`${server.origin}/app.zip`).fetch(seen.version, into, ctx);
    assert.deepEqual(server.requests(), { count: 1, bodyBytes: body.length });
    assert.equal(result.bytesDownloaded, body.length);
    assert.equal(result.contentId, `sha256:${createHash('sha256').update(body).digest('hex')}`);
    assert.deepEqual(readTree(into), { 'a.txt': 'hello\n', 'run.sh': '#!/bin/sh\n' });
  });
});

test('http: versions without validators are the content digest, so identical bytes are one version', async () => {
  await withHttpServer(async (server) => {
    const body = await zipOfFiles(files);
    server.put('/app.zip', { body, etag: false, lastModified: false });
    const remote = makeTestRemote(`${server.origin}/app.zip`);
    const ctx = testContext();
    const first = await remote.check(ctx);
    server.put('/app.zip', { body, etag: false, lastModified: false });
    const again = await remote.check(ctx);
    assert.equal(again.version, first.version);
    assert.match(first.version, /^sha256:[0-9a-f]{64}$/);
    server.put('/app.zip', { body: await zipOfFiles({ 'a.txt': 'changed\n' }), etag: false, lastModified: false, contentLength: false });
    assert.notEqual((await remote.check(ctx)).version, first.version);
  });
});

test('http: only Last-Modified gives a digest version and If-Modified-Since checks', async () => {
  await withHttpServer(async (server) => {
    server.put('/app.zip', { body: await zipOfFiles(files), etag: false, modified: new Date('2024-03-01T00:00:00Z') });
    const remote = makeTestRemote(`${server.origin}/app.zip`);
    const ctx = testContext();
    const first = await remote.check(ctx);
    assert.match(first.version, /^meta:[0-9a-f]{32}$/);
    server.resetCounters();
    assert.equal((await remote.check(ctx)).version, first.version);
    assert.equal(server.log()[0]!.headers['if-modified-since'], 'Fri, 01 Mar 2024 00:00:00 GMT');
    assert.equal(server.requests().bodyBytes, 0);
  });
});

test('http: redirects are followed up to five; loops and longer chains are clear errors', async () => {
  await withHttpServer(async (server) => {
    server.put('/real.zip', { body: await zipOfFiles(files) });
    for (let i = 1; i <= 5; i++) server.redirect(`/r${i}`, i === 5 ? '/real.zip' : `/r${i + 1}`);
    const into = testdir();
    const remote = makeTestRemote(`${server.origin}/r1`);
    const ctx = testContext();
    await remote.fetch((await remote.check(ctx)).version, into, ctx);
    assert.equal(readTree(into)['a.txt'], 'hello\n');
    server.redirect('/r0', '/r1');
    await assert.rejects(makeTestRemote(`${server.origin}/r0`).check(testContext()), /too many redirects \(more than 5\)/);
    server.redirect('/loop-a', '/loop-b', 301);
    server.redirect('/loop-b', '/loop-a', 307);
    await assert.rejects(makeTestRemote(`${server.origin}/loop-a`).check(testContext()), /redirect loop/);
  });
});

test('http: statuses give RemoteErrors with the status, the URL and a hint', async () => {
  await withHttpServer(async (server) => {
    const url = `${server.origin}/nothing.zip`;
    await assert.rejects(makeTestRemote(url).check(testContext()), (e: unknown) => {
      assert.ok(e instanceof RemoteError);
      assert.match(e.message, /HTTP 404 Not Found/);
      assert.ok(e.message.includes(url));
      assert.match(e.message, /check the URL/);
      return true;
    });
    server.put('/app.zip', { body: Buffer.from('x') });
    server.requireAuth('deploy', 's3cret-pass');
    await assert.rejects(makeTestRemote(`${server.origin}/app.zip`).check(testContext()), /HTTP 401 Unauthorized.*check the credentials/);
  });
});

test('http: credentials in the URL are sent as Basic auth and never shown', async () => {
  await withHttpServer(async (server) => {
    server.put('/app.zip', { body: await zipOfFiles(files) });
    server.requireAuth('deploy', 's3cret-pass');
    const remote = makeTestRemote(`http://deploy:s3cret-pass@${server.origin.slice(7)}/app.zip`);
    assert.ok(!remote.display.includes('s3cret'), remote.display);
    const ctx = testContext();
    const into = testdir();
    await remote.fetch((await remote.check(ctx)).version, into, ctx);
    assert.equal(readTree(into)['a.txt'], 'hello\n');
    const wrong = makeTestRemote(`http://deploy:wrong-pass@${server.origin.slice(7)}/app.zip`);
    await assert.rejects(wrong.check(testContext()), (e: unknown) => e instanceof RemoteError && !e.message.includes('wrong-pass') && e.message.includes('***@'));
    // A redirect target's credentials stay out of messages too.
    server.redirect('/away', 'http://other:leaked-pass@127.0.0.1:1/x.zip');
    const hop = makeTestRemote(`http://deploy:s3cret-pass@${server.origin.slice(7)}/away`);
    await assert.rejects(hop.check(testContext()), (e: unknown) => e instanceof RemoteError && !/leaked-pass|s3cret/.test(e.message));
  });
});

test('http: a server that never answers, or stalls mid-body, hits the read timeout', async () => {
  await withHttpServer(async (server) => {
    server.put('/app.zip', { body: await zipOfFiles(files) });
    server.put('/slow.zip', { body: await zipOfFiles(files) });
    server.hang('/app.zip', 'head');
    server.hang('/slow.zip', 'body');
    for (const path of ['/app.zip', '/slow.zip']) {
      const ctx = testContext();
      const started = Date.now();
      await assert.rejects(makeTestRemote(`${server.origin}${path}`, { readTimeoutMs: 300 }).check(ctx), /no data from .* for 300 ms/);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 250 && elapsed < 3000, `${path}: ${elapsed} ms`);
      assert.deepEqual(readdirSync(ctx.cacheDir), [], `${path} left files in the cache`);
    }
  });
});

test('http: a wrong Content-Length is an error and leaves nothing behind', async () => {
  await withHttpServer(async (server) => {
    server.put('/app.zip', { body: await zipOfFiles(files) });
    server.wrongLength('/app.zip', 100);
    const ctx = testContext();
    await assert.rejects(makeTestRemote(`${server.origin}/app.zip`).check(ctx), (e: unknown) => e instanceof RemoteError && /connection closed mid-body/.test(e.message));
    assert.deepEqual(readdirSync(ctx.cacheDir), []);
  });
});

test('http: an aborted signal ends the request promptly', async () => {
  await withHttpServer(async (server) => {
    server.put('/app.zip', { body: await zipOfFiles(files) });
    server.hang('/app.zip', 'head');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await assert.rejects(makeTestRemote(`${server.origin}/app.zip`, { readTimeoutMs: 20_000 }).check({ ...testContext(), signal: controller.signal }), /aborted/);
    assert.ok(Date.now() - started < 2000);
  });
});

test('http: sidecars are fetched beside the URL, a missing one is a RemoteError', async () => {
  await withHttpServer(async (server) => {
    server.put('/app.zip.sha256', { body: Buffer.from('abc  app.zip\n') });
    const remote = httpKind.create(`${server.origin}/app.zip?token=t0ken-value`, testRemoteConfig());
    assert.equal((await remote.fetchSidecar('.sha256', testContext())).toString(), 'abc  app.zip\n');
    await assert.rejects(remote.fetchSidecar('.minisig', testContext()), (e: unknown) => e instanceof RemoteError && /HTTP 404/.test(e.message) && !e.message.includes('t0ken-value'));
  });
});

test('http: credentials are not forwarded to another origin on redirect', async () => {
  await withHttpServer(async (first) => {
    await withHttpServer(async (other) => {
      other.put('/app.zip', { body: await zipOfFiles(files) });
      first.redirect('/app.zip', `${other.origin}/app.zip`);
      first.redirect('/same.zip', '/real.zip');
      first.put('/real.zip', { body: await zipOfFiles(files) });
      await makeTestRemote(`http://deploy:s3cret-pass@${first.origin.slice(7)}/app.zip`).check(testContext());
      assert.equal(other.log()[0]!.headers.authorization, undefined);
      assert.ok(first.log()[0]!.headers.authorization);
      first.resetCounters();
      await makeTestRemote(`http://deploy:s3cret-pass@${first.origin.slice(7)}/same.zip`).check(testContext());
      assert.ok(first.log()[1]!.headers.authorization, 'same-origin redirect lost the credentials');
    });
  });
});

test('http: fetching a version the remote no longer serves is a RemoteError, not a mislabelled release', async () => {
  await withHttpServer(async (server) => {
    server.put('/app.zip', { body: await zipOfFiles(files) });
    const remote = makeTestRemote(`${server.origin}/app.zip`);
    const seen = await remote.check(testContext());
    server.put('/app.zip', { body: await zipOfFiles({ 'a.txt': 'newer\n' }) });
    await assert.rejects(remote.fetch(seen.version, testdir(), testContext()), /changed between check and fetch/);
  });
});

test('http: with verify-sha256, the .sha256 sidecar is checked before extraction', async () => {
  await withHttpServer(async (server) => {
    const body = await zipOfFiles(files);
    const digest = createHash('sha256').update(body).digest('hex');
    server.put('/app.zip', { body });
    server.put('/app.zip.sha256', { body: Buffer.from(`${digest}  app.zip\n`) });
    const remote = makeTestRemote(`${server.origin}/app.zip`, { verify: { verifySha256: true } });
    const ctx = testContext();
    const into = testdir();
    const result = await remote.fetch((await remote.check(ctx)).version, into, ctx);
    assert.equal(result.detail?.verified, 'sha256');
    assert.equal(readTree(into)['a.txt'], 'hello\n');
    server.put('/app.zip.sha256', { body: Buffer.from(`${'0'.repeat(64)}  app.zip\n`) });
    const refused = testdir();
    await assert.rejects(remote.fetch((await remote.check(ctx)).version, refused, ctx), VerificationError);
    assert.deepEqual(readdirSync(refused), []);
  });
});
