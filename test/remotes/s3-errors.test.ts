/**
 * Every S3 failure the issue names ends as a RemoteError naming bucket and key, with nothing
 * left in the release directory: against s3rver, or a real local server answering the way
 * AWS does where s3rver cannot (region redirect, AccessDenied, silence).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { RemoteError } from '../../src/errors.js';
import { createRemote } from '../../src/remotes/index.js';
import type { Remote } from '../../src/remotes/types.js';
import { makeTestRemote, readTree, testContext, testRemoteConfig, zipOfFiles } from './conformance.js';
import { closedPort, s3rverKeys, startS3rver, type S3rverHandle } from '../support/s3rver.js';
import { testdir } from '../support/tmp.js';

const keys = { awsAccessKey: s3rverKeys.accessKeyId, awsSecretKey: s3rverKeys.secretAccessKey };
delete process.env.AWS_ENDPOINT_URL_S3;
delete process.env.AWS_REGION;

async function withServer(body: (server: S3rverHandle) => Promise<void>): Promise<void> {
  const server = await startS3rver(['releases']);
  await server.put('releases', 'web/app.zip', await zipOfFiles({ 'a.txt': 'a\n' }));
  server.reset();
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

/** Checks `remote`, expects a RemoteError matching all of `patterns`, and that a fetch publishes nothing. */
async function expectFailure(remote: Remote, patterns: RegExp[]): Promise<RemoteError> {
  let caught: RemoteError | undefined;
  await assert.rejects(remote.check(testContext()), (error: unknown) => {
    assert.ok(error instanceof RemoteError, `expected RemoteError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    caught = error;
    return true;
  });
  const into = testdir();
  await assert.rejects(remote.fetch('"0123456789abcdef"', into, testContext()), RemoteError);
  assert.deepEqual(readTree(into), {}, 'something was written into the release');
  return caught!;
}

/** An XML error the way S3 sends it. */
function s3ErrorXml(code: string, message: string, extra = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>R1</RequestId></Error>`;
}

test('errors: no such bucket names the bucket and the key', async () => {
  await withServer(async (server) => {
    const remote = makeTestRemote('s3://no-such-bucket/web/app.zip', { ...keys, s3Endpoint: server.endpoint });
    await expectFailure(remote, [/bucket "no-such-bucket" does not exist/, /s3:\/\/no-such-bucket\/web\/app\.zip/]);
  });
});

test('errors: no such key names the bucket and the key', async () => {
  await withServer(async (server) => {
    const remote = makeTestRemote('s3://releases/web/gone.zip', { ...keys, s3Endpoint: server.endpoint });
    await expectFailure(remote, [/not found: bucket "releases", key "web\/gone\.zip" does not exist/]);
  });
});

test('errors: an unknown access key id is access denied, naming the credential source', async () => {
  await withServer(async (server) => {
    const remote = makeTestRemote('s3://releases/web/app.zip', { s3Endpoint: server.endpoint, awsAccessKey: 'AKIANOBODY', awsSecretKey: 'a-secret-never-shown' });
    const error = await expectFailure(remote, [/access denied to bucket "releases", key "web\/app\.zip" with credentials from config \(InvalidAccessKeyId\)/]);
    assert.ok(!error.message.includes('a-secret-never-shown'));
  });
});

test('errors: AccessDenied from a bucket policy is access denied', async () => {
  await withServer(async (server) => {
    server.intercept = (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' }).end(s3ErrorXml('AccessDenied', 'Access Denied'));
      return true;
    };
    const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: server.endpoint });
    await expectFailure(remote, [/access denied to bucket "releases", key "web\/app\.zip" .*\(AccessDenied\)/]);
  });
});

test('errors: wrong region (301 PermanentRedirect) says which region to set', async () => {
  await withServer(async (server) => {
    server.intercept = (_req, res) => {
      res.writeHead(301, { 'content-type': 'application/xml', 'x-amz-bucket-region': 'eu-west-1' });
      res.end(s3ErrorXml('PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.', '<Endpoint>releases.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>releases</Bucket>'));
      return true;
    };
    const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: server.endpoint, awsRegion: 'us-east-2' });
    await expectFailure(remote, [/bucket "releases" is not in region us-east-2 but in eu-west-1: set aws-region = eu-west-1/]);
    assert.equal(server.seen.length, 2, 'a permanent redirect must not be retried');
  });
});

test('errors: endpoint unreachable names the endpoint, bucket and key', async () => {
  const port = await closedPort();
  const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: `http://127.0.0.1:${port}` });
  await expectFailure(remote, [new RegExp(`endpoint unreachable \\(endpoint http://127\\.0\\.0\\.1:${port}\\) for bucket "releases", key "web/app\\.zip": ECONNREFUSED`)]);
});

/** A server that accepts connections and requests, and never answers (or stalls mid-body). */
async function silentServer(partialBody: boolean): Promise<{ endpoint: string; server: Server }> {
  const server = createServer((_req, res) => {
    if (partialBody) {
      res.writeHead(200, { 'content-length': '100000', etag: '"abc"' });
      res.write(Buffer.alloc(1000));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('errors: a server that never answers times out after readTimeoutMs', async () => {
  const { endpoint, server } = await silentServer(false);
  try {
    const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: endpoint, readTimeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(remote.check(testContext()), (error: unknown) => {
      assert.ok(error instanceof RemoteError, String(error));
      assert.match(error.message, /s3 request for bucket "releases", key "web\/app\.zip" timed out/);
      return true;
    });
    // The SDK tries three times: about 3 × 300 ms plus back-off, far below the 3 s default.
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 300 && elapsed < 2500, `took ${elapsed} ms`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('errors: a body that stalls mid-transfer times out and leaves nothing cached', async () => {
  const { endpoint, server } = await silentServer(true);
  try {
    const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: endpoint, readTimeoutMs: 300 });
    const ctx = testContext();
    const started = Date.now();
    await assert.rejects(remote.check(ctx), /download failed after 1000 .*timed out after 300 ms/);
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(readTree(ctx.cacheDir), {});
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

/**
 * A port whose TCP handshake never completes: python3 listens with a backlog of 0 and never
 * accepts, one connection fills the queue, and the kernel drops further SYNs. Node cannot do
 * this itself (it always accepts).
 */
async function blackholePort(): Promise<{ port: number; close: () => void }> {
  const listener = spawn('python3', ['-c', 'import socket,time\ns=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(0)\nprint(s.getsockname()[1], flush=True); time.sleep(120)']);
  const port = await new Promise<number>((resolve, reject) => {
    listener.once('error', reject);
    listener.stdout.once('data', (data) => resolve(Number(String(data).trim())));
  });
  const fillers: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const socket = connect(port, '127.0.0.1').on('error', () => undefined);
    fillers.push(socket);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(fillers.at(-1)!.connecting, 'the blackhole port accepted a connection: the test would prove nothing');
  return { port, close: () => (fillers.forEach((s) => s.destroy()), listener.kill()) };
}

test('errors: a connection that never completes times out after connectTimeoutMs', async () => {
  const hole = await blackholePort();
  try {
    const remote = makeTestRemote('s3://releases/web/app.zip', { ...keys, s3Endpoint: `http://127.0.0.1:${hole.port}`, connectTimeoutMs: 300, readTimeoutMs: 10_000 });
    const started = Date.now();
    await assert.rejects(remote.check(testContext()), (error: unknown) => {
      assert.ok(error instanceof RemoteError, String(error));
      assert.match(error.message, /s3 request for bucket "releases", key "web\/app\.zip" timed out .*establish a connection .*300 ms/);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 300 && elapsed < 3000, `took ${elapsed} ms`);
  } finally {
    hole.close();
  }
});

test('errors: malformed s3 URLs are refused when the remote is created', () => {
  const cases: Array<[string, RegExp]> = [
    ['s3://', /no bucket name; use s3:\/\/bucket\/path\/app\.zip/],
    ['s3://bucket', /no object key after the bucket/],
    ['s3://bucket/', /no object key after the bucket/],
    ['s3:///app.zip', /no bucket name/],
    ['s3://bucket/releases/', /names a folder, not an object/],
    ['s3://AKIA:hunter2pass@bucket/app.zip', /credentials do not belong in the url/],
    ['s3://bad bucket/app.zip', /bucket name "bad bucket" may only hold/],
  ];
  for (const [url, pattern] of cases) {
    assert.throws(() => createRemote(url, testRemoteConfig()), pattern, url);
  }
  assert.throws(() => createRemote('s3://AKIA:hunter2pass@bucket/app.zip', testRemoteConfig()), (error: Error) => !error.message.includes('hunter2pass'));
  const ok = createRemote('S3://bucket/a b/app.zip?x#y', testRemoteConfig());
  assert.equal(ok.kind, 's3');
  assert.equal(ok.display, 's3://bucket/a b/app.zip?x#y', 'keys are taken literally');
});
