/**
 * The S3 remote against a real s3rver on 127.0.0.1: the shared conformance suite (endpoint
 * from AWS_ENDPOINT_URL_S3, as the SDK reads it), then S3-specific behaviour.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { RemoteError } from '../../src/errors.js';
import { makeTestRemote, readTree, testContext, testRemoteConfig, testRemoteConformance, zipOfFiles, type RemoteFixture } from './conformance.js';
import { s3Kind } from '../../src/remotes/s3/s3.js';
import { closedPort, s3rverKeys, startS3rver, type S3rverHandle } from '../support/s3rver.js';
import { testdir } from '../support/tmp.js';

const keys = { awsAccessKey: s3rverKeys.accessKeyId, awsSecretKey: s3rverKeys.secretAccessKey };

/** Sets environment variables until `restore()`; undefined deletes. */
function setEnv(values: Record<string, string | undefined>): () => void {
  const before = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  const apply = (vals: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vals)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(values);
  return () => apply(before);
}

let fixtureCount = 0;

/** A fresh s3rver per case; the endpoint reaches the SDK through AWS_ENDPOINT_URL_S3. */
async function s3Fixture(): Promise<RemoteFixture> {
  const bucket = `conformance-${++fixtureCount}`;
  const server = await startS3rver([bucket]);
  const deadPort = await closedPort();
  const restore = setEnv({ AWS_ENDPOINT_URL_S3: server.endpoint, AWS_REGION: undefined });
  const counted = () => server.seen;
  return {
    url: `s3://${bucket}/apps/web/app.zip`,
    publish: async (files) => server.put(bucket, 'apps/web/app.zip', await zipOfFiles(files)),
    requests: () => ({ count: counted().length, bodyBytes: counted().reduce((n, r) => n + r.bodyBytes, 0) }),
    resetCounters: () => server.reset(),
    missingUrl: () => `s3://${bucket}/apps/web/missing.zip`,
    unreachableUrl: () => {
      // The endpoint is not part of an s3:// URL: point the environment at a dead port.
      process.env.AWS_ENDPOINT_URL_S3 = `http://127.0.0.1:${deadPort}`;
      return `s3://${bucket}/apps/web/app.zip`;
    },
    truncateNext: () => server.truncateNextAfter(100),
    close: async () => {
      restore();
      await server.close();
    },
  };
}

testRemoteConformance('s3', s3Fixture, keys);

// ---- S3-specific behaviour -------------------------------------------------------------

const app = { 'index.html': 'hello\n', 'run.sh': { content: '#!/bin/sh\n', mode: 0o755 } };

/** A server with one bucket holding `key`, and a remote on it through `s3-endpoint`. */
async function withObject(
  body: (ctx: { server: S3rverHandle; bucket: string; key: string; zip: Buffer }) => Promise<void>,
): Promise<void> {
  const bucket = 'releases';
  const key = 'web/app.zip';
  const server = await startS3rver([bucket]);
  // No region, endpoint or profile from this machine: the defaults are what is tested.
  const restore = setEnv({
    AWS_ENDPOINT_URL_S3: undefined,
    AWS_ENDPOINT_URL: undefined,
    AWS_REGION: undefined,
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: join(testdir(), 'no-aws-config'),
  });
  try {
    const zip = await zipOfFiles(app);
    await server.put(bucket, key, zip);
    server.reset();
    await body({ server, bucket, key, zip });
  } finally {
    restore();
    await server.close();
  }
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

test('s3: check streams the body into the cache once; fetch reuses it without a request', async () => {
  await withObject(async ({ server, zip }) => {
    const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: server.endpoint });
    const ctx = testContext();
    const seen = await remote.check(ctx);
    assert.equal(seen.version, `"${md5(zip)}"`, 'without a VersionId the version is the ETag');
    assert.equal(seen.detail?.etag, seen.version);
    assert.equal(seen.detail?.bucket, 'releases');
    assert.equal(seen.detail?.key, 'web/app.zip');
    assert.equal(seen.detail?.credentials, 'config');
    assert.equal(seen.detail?.endpoint, server.endpoint);
    assert.equal(seen.detail?.region, 'us-east-1', 'default region');
    assert.deepEqual(server.seen.map((r) => [r.method, r.path, r.status, r.region]), [['GET', '/releases/web/app.zip', 200, 'us-east-1']]);
    assert.equal(server.seen[0]!.bodyBytes, zip.length);
    server.reset();
    const into = testdir();
    const result = await remote.fetch(seen.version, into, ctx);
    assert.equal(server.seen.length, 0, 'fetch made a request although the check left the body');
    // The check's download is reported by the fetch that uses it (metrics count it once).
    assert.equal(result.bytesDownloaded, zip.length);
    assert.equal(result.contentId, `sha256:${sha256(zip)}`);
    assert.equal(result.files, 2);
    assert.deepEqual(readTree(into), { 'index.html': 'hello\n', 'run.sh': '#!/bin/sh\n' });
  });
});

test('s3: the cache holds the archive and its etag; a second check sends If-None-Match', async () => {
  await withObject(async ({ server, zip }) => {
    const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: server.endpoint });
    const ctx = testContext();
    const first = await remote.check(ctx);
    assert.deepEqual(readFileSync(join(ctx.cacheDir, 'archive.zip')), zip);
    server.reset();
    await remote.check(ctx);
    assert.equal(server.seen[0]!.headers['if-none-match'], first.version);
    assert.equal(server.seen[0]!.status, 304);
  });
});

test('s3: fetch with a lost cache downloads exactly the checked version (If-Match)', async () => {
  await withObject(async ({ server, zip }) => {
    const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: server.endpoint });
    const seen = await remote.check(testContext());
    server.reset();
    const into = testdir();
    const result = await remote.fetch(seen.version, into, testContext());
    assert.equal(result.bytesDownloaded, zip.length);
    assert.equal(result.contentId, `sha256:${sha256(zip)}`);
    assert.equal(server.seen.length, 1);
    assert.equal(server.seen[0]!.headers['if-match'], seen.version);
    assert.equal(readTree(into)['index.html'], 'hello\n');
  });
});

test('s3: fetch of a version that was replaced meanwhile fails and publishes nothing', async () => {
  await withObject(async ({ server, bucket, key }) => {
    const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: server.endpoint });
    const seen = await remote.check(testContext());
    await server.put(bucket, key, await zipOfFiles({ 'index.html': 'newer\n' }));
    const into = testdir();
    await assert.rejects(remote.fetch(seen.version, into, testContext()), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.match(error.message, /changed since the check/);
      assert.match(error.message, /s3:\/\/releases\/web\/app\.zip/);
      return true;
    });
    assert.deepEqual(readTree(into), {});
  });
});

test('s3: VersionId is the version when the store reports one, and fetch asks for it', async () => {
  await withObject(async ({ server }) => {
    // s3rver has no versioning: add the header a versioned bucket would send.
    server.intercept = (_req, res) => {
      res.setHeader('x-amz-version-id', 'Vrs.3HL4kqtJlcpXroDTDmJ');
      return false;
    };
    const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: server.endpoint });
    const seen = await remote.check(testContext());
    assert.equal(seen.version, 'Vrs.3HL4kqtJlcpXroDTDmJ');
    assert.equal(seen.detail?.versionId, 'Vrs.3HL4kqtJlcpXroDTDmJ');
    server.reset();
    await remote.fetch(seen.version, testdir(), testContext());
    assert.match(server.seen[0]!.query, /versionId=Vrs\.3HL4kqtJlcpXroDTDmJ/);
  });
});

test('s3: fetchSidecar reads <key><suffix>; a missing one is a RemoteError naming it', async () => {
  await withObject(async ({ server, bucket, key }) => {
    await server.put(bucket, `${key}.sha256`, 'abc  app.zip\n');
    const remote = s3Kind.create('s3://releases/web/app.zip', testRemoteConfig({ ...keys, s3Endpoint: server.endpoint }));
    const data = await remote.fetchSidecar('.sha256', testContext());
    assert.equal(data.toString(), 'abc  app.zip\n');
    await assert.rejects(remote.fetchSidecar('.minisig', testContext()), (error: unknown) => {
      assert.ok(error instanceof RemoteError);
      assert.match(error.message, /web\/app\.zip\.minisig/);
      return true;
    });
  });
});

test('s3: an archive over the size limit is refused and nothing is cached', async () => {
  await withObject(async ({ server, zip }) => {
    const limits = { maxArchiveBytes: zip.length - 1, maxUnpackedBytes: 1 << 30, maxEntries: 1000 };
    const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: server.endpoint, limits });
    const ctx = testContext();
    await assert.rejects(remote.check(ctx), /larger than the limit/);
    assert.deepEqual(readTree(ctx.cacheDir), {});
  });
});

test('s3: region from config, then AWS_REGION, signs the requests', async () => {
  await withObject(async ({ server }) => {
    const configured = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: server.endpoint, awsRegion: 'eu-central-1' });
    assert.equal((await configured.check(testContext())).detail?.region, 'eu-central-1');
    const restore = setEnv({ AWS_REGION: 'ap-south-1' });
    try {
      const fromEnv = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: server.endpoint });
      assert.equal((await fromEnv.check(testContext())).detail?.region, 'ap-south-1');
    } finally {
      restore();
    }
    assert.deepEqual(server.seen.map((r) => r.region), ['eu-central-1', 'ap-south-1']);
  });
});

test('s3: the endpoint comes from AWS_ENDPOINT_URL_S3 when the config has none', async () => {
  await withObject(async ({ server }) => {
    const restore = setEnv({ AWS_ENDPOINT_URL_S3: server.endpoint });
    try {
      const remote = makeTestRemote('s3://releases/web/app.zip', keys);
      const seen = await remote.check(testContext());
      assert.equal(seen.detail?.endpoint, server.endpoint);
      assert.equal(server.seen.length, 1, 'the request did not reach the endpoint from the environment');
      assert.equal(server.seen[0]!.path, '/releases/web/app.zip', 'path-style addressing');
    } finally {
      restore();
    }
  });
});

test('s3: the config endpoint wins over AWS_ENDPOINT_URL_S3', async () => {
  await withObject(async ({ server }) => {
    const restore = setEnv({ AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await closedPort()}` });
    try {
      const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: server.endpoint });
      await remote.check(testContext());
      assert.equal(server.seen.length, 1);
    } finally {
      restore();
    }
  });
});

test('s3: stopping the agent (ctx.signal) ends a pending check promptly', async () => {
  await withObject(async ({ server }) => {
    server.intercept = () => true; // accept the request, never answer
    const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: server.endpoint, readTimeoutMs: 30_000 });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(remote.check({ ...testContext(), signal: controller.signal }), (error: unknown) => {
      assert.ok(error instanceof RemoteError, String(error));
      assert.match(error.message, /s3 request aborted/);
      return true;
    });
    assert.ok(Date.now() - started < 2000, 'abort did not end the request');
  });
});
