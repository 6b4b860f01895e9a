/**
 * The AWS SDK is loaded only when an S3 remote is used. A child node process records every
 * module specifier it resolves (a `module.register` resolve hook appending to a file); loading
 * `src/remotes/index.ts` and creating an S3 remote must not resolve `@aws-sdk/client-s3`,
 * while checking one must (which shows the detector works).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { closedPort } from '../support/s3rver.js';
import { testdir } from '../support/tmp.js';

const hooks = `
import { appendFileSync } from 'node:fs';
let log;
export async function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(log, specifier + ' -> ' + result.url + '\\n');
  return result;
}
`;

const main = `
import { register } from 'node:module';
const [log, indexUrl, mode, endpoint, cacheDir] = process.argv.slice(2);
register(new URL('./hooks.mjs', import.meta.url), { data: { log } });
const { createRemote } = await import(indexUrl);
const remote = createRemote('s3://bucket/app.zip', {
  connectTimeoutMs: 500, readTimeoutMs: 500, gitSubmodules: true, verify: { verifySha256: false },
  limits: { maxArchiveBytes: 1e9, maxUnpackedBytes: 1e9, maxEntries: 1000 },
  s3Endpoint: endpoint, awsAccessKey: 'AKIALAZY', awsSecretKey: 'lazy-secret',
});
if (mode === 'check') {
  const quiet = () => {};
  const logger = { debug: quiet, info: quiet, warn: quiet, error: quiet, child: () => logger };
  await remote.check({ cacheDir, logger }).catch((error) => process.stdout.write('check: ' + error.message + '\\n'));
}
process.stdout.write('done ' + remote.kind + '\\n');
`;

const indexUrl = new URL('../../src/remotes/index.ts', import.meta.url).href;

/** Runs the child in `mode` and returns the specifiers it resolved. */
async function resolvedIn(mode: 'create' | 'check'): Promise<string> {
  const dir = testdir({ 'hooks.mjs': hooks, 'main.mjs': main });
  const log = join(dir, 'resolved.log');
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(dir, 'main.mjs'), log, indexUrl, mode, endpoint, join(dir, 'cache')], {
    encoding: 'utf8',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    timeout: 30_000,
  });
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stdout, /done s3/);
  return readFileSync(log, 'utf8');
}

test('lazy sdk: importing the remote registry and creating an s3 remote does not load the sdk', async () => {
  const resolved = await resolvedIn('create');
  assert.match(resolved, /src\/remotes\/s3\/s3\.ts/, 'the hook did not see the s3 module: detector broken');
  assert.doesNotMatch(resolved, /@aws-sdk\//);
});

test('lazy sdk: checking an s3 remote loads it (the detector sees it)', async () => {
  const resolved = await resolvedIn('check');
  assert.match(resolved, /@aws-sdk\/client-s3/);
});
