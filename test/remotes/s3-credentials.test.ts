/**
 * Credential sources of the S3 remote, in order (config keys, ~/.amazon/account-key, the SDK's
 * default chain), against a real s3rver that only accepts the access key ids it was given: a
 * check succeeds only when the expected source was used, and the server records which key id
 * signed each request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import { RemoteError } from '../../src/errors.js';
import { parseAccountKey } from '../../src/remotes/s3/credentials.js';
import { makeTestRemote, testContext, zipOfFiles } from './conformance.js';
import { allowAccessKey, startS3rver, type S3rverHandle } from '../support/s3rver.js';
import { testdir, writeTree } from '../support/tmp.js';

allowAccessKey('AKIACONFIGKEY', 'config-secret-value');
allowAccessKey('AKIAFILEKEY', 'file-secret-value');
allowAccessKey('AKIAENVKEY', 'env-secret-value');

/** A temporary HOME (with an account-key file when given), env credentials, and a server. */
async function scenario(
  setup: { accountKey?: string; envKey?: string },
  body: (server: S3rverHandle, home: string) => Promise<void>,
): Promise<void> {
  const home = testdir(setup.accountKey === undefined ? {} : { '.amazon/account-key': setup.accountKey });
  const server = await startS3rver(['bucket']);
  await server.put('bucket', 'app.zip', await zipOfFiles({ 'a.txt': 'a\n' }));
  server.reset();
  const names = ['HOME', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_EC2_METADATA_DISABLED', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_ENDPOINT_URL_S3'];
  const before = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  for (const n of names) delete process.env[n];
  // The SDK's chain must not find this machine's own profile or instance role.
  process.env.HOME = home;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  if (setup.envKey) {
    process.env.AWS_ACCESS_KEY_ID = setup.envKey;
    process.env.AWS_SECRET_ACCESS_KEY = 'env-secret-value';
  }
  try {
    await body(server, home);
  } finally {
    for (const [n, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
    await server.close();
  }
}

const fileKeys = 'accessKey=AKIAFILEKEY\nsecretKey=file-secret-value\n';

test('credentials: config keys come first, over the account-key file and the environment', async () => {
  await scenario({ accountKey: 'accessKey=AKIAUNKNOWN1\nsecretKey=x\n', envKey: 'AKIAUNKNOWN2' }, async (server) => {
    const remote = makeTestRemote('s3://bucket/app.zip', { s3Endpoint: server.endpoint, awsAccessKey: 'AKIACONFIGKEY', awsSecretKey: 'config-secret-value' });
    const seen = await remote.check(testContext());
    assert.equal(seen.detail?.credentials, 'config');
    assert.deepEqual(server.seen.map((r) => r.accessKeyId), ['AKIACONFIGKEY']);
  });
});

test('credentials: ~/.amazon/account-key of the running user comes before the default chain', async () => {
  await scenario({ accountKey: fileKeys, envKey: 'AKIAUNKNOWN2' }, async (server) => {
    const remote = makeTestRemote('s3://bucket/app.zip', { s3Endpoint: server.endpoint });
    const seen = await remote.check(testContext());
    assert.equal(seen.detail?.credentials, 'account-key file');
    assert.deepEqual(server.seen.map((r) => r.accessKeyId), ['AKIAFILEKEY']);
  });
});

test('credentials: the SDK default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) last', async () => {
  await scenario({ envKey: 'AKIAENVKEY' }, async (server) => {
    const remote = makeTestRemote('s3://bucket/app.zip', { s3Endpoint: server.endpoint });
    const seen = await remote.check(testContext());
    assert.equal(seen.detail?.credentials, 'default chain');
    assert.deepEqual(server.seen.map((r) => r.accessKeyId), ['AKIAENVKEY']);
  });
});

test('credentials: a rotated account-key file is used at the next check', async () => {
  await scenario({ accountKey: 'accessKey=AKIAUNKNOWN3\nsecretKey=old\n' }, async (server, home) => {
    const remote = makeTestRemote('s3://bucket/app.zip', { s3Endpoint: server.endpoint });
    const ctx = testContext();
    await assert.rejects(remote.check(ctx), /access denied/);
    writeTree(home, { '.amazon/account-key': fileKeys });
    await remote.check(ctx);
    assert.deepEqual(server.seen.map((r) => r.accessKeyId), ['AKIAUNKNOWN3', 'AKIAFILEKEY']);
  });
});

test('credentials: none anywhere is a RemoteError that says where to put them', async () => {
  await scenario({}, async (server) => {
    const remote = makeTestRemote('s3://bucket/app.zip', { s3Endpoint: server.endpoint });
    await assert.rejects(remote.check(testContext()), (error: unknown) => {
      assert.ok(error instanceof RemoteError, String(error));
      assert.match(error.message, /no aws credentials found/);
      assert.match(error.message, /aws-access-key/);
      assert.match(error.message, /\.amazon\/account-key/);
      return true;
    });
    assert.equal(server.seen.length, 0);
  });
});

test('credentials: a malformed account-key file is an error naming the file, not a silent fallback', async () => {
  await scenario({ accountKey: 'accessKey=AKIAFILEKEY\n', envKey: 'AKIAENVKEY' }, async (server, home) => {
    const remote = makeTestRemote('s3://bucket/app.zip', { s3Endpoint: server.endpoint });
    await assert.rejects(remote.check(testContext()), (error: unknown) => {
      assert.ok(error instanceof RemoteError, String(error));
      assert.ok(error.message.includes(join(home, '.amazon', 'account-key')), error.message);
      assert.match(error.message, /no secretKey line/);
      return true;
    });
    assert.equal(server.seen.length, 0);
  });
});

test('credentials: only one of the config keys is an error', async () => {
  await scenario({}, async (server) => {
    const remote = makeTestRemote('s3://bucket/app.zip', { s3Endpoint: server.endpoint, awsAccessKey: 'AKIACONFIGKEY' });
    await assert.rejects(remote.check(testContext()), /set both aws-access-key and aws-secret-key/);
  });
});

test('credentials: the source is logged once at debug, and no secret is ever logged', async () => {
  await scenario({ accountKey: fileKeys }, async (server) => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) });
    const logger = pino({ level: 'debug' }, sink);
    const remote = makeTestRemote('s3://bucket/app.zip', { s3Endpoint: server.endpoint });
    const ctx = { ...testContext(), logger };
    await remote.check(ctx);
    await remote.check(ctx);
    await remote.fetch((await remote.check(ctx)).version, testdir(), ctx);
    const chosen = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 's3 credentials chosen');
    assert.equal(chosen.length, 1, lines.join(''));
    assert.equal(chosen[0]!.credentials, 'account-key file');
    assert.equal(chosen[0]!.level, 20);
    assert.ok(!lines.join('').includes('file-secret-value'), 'secret in the logs');
  });
});

test('parseAccountKey: comments, spaces, quotes and CRLF; missing lines named', () => {
  const cases: Array<[string, { accessKeyId: string; secretAccessKey: string } | RegExp]> = [
    ['accessKey=AK\nsecretKey=SK\n', { accessKeyId: 'AK', secretAccessKey: 'SK' }],
    ['# keys\r\n accessKey = AK \r\nsecretKey="S=K"\r\n', { accessKeyId: 'AK', secretAccessKey: 'S=K' }],
    ['SECRETKEY=SK\naccesskey=AK', { accessKeyId: 'AK', secretAccessKey: 'SK' }],
    ['secretKey=SK\n', /no accessKey line/],
    ['', /no accessKey and secretKey line/],
  ];
  for (const [text, expected] of cases) {
    if (expected instanceof RegExp) assert.throws(() => parseAccountKey(text, 'key-file'), expected, JSON.stringify(text));
    else assert.deepEqual(parseAccountKey(text, 'key-file'), expected, JSON.stringify(text));
  }
});
