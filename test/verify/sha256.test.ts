import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RemoteError, VerificationError } from '../../src/errors.js';
import { verifyArchive, type SidecarReader } from '../../src/verify/archive.js';
import { parseSha256Sidecar, checkSha256 } from '../../src/verify/sha256.js';
import { digestFile } from '../../src/verify/digest-file.js';
import { testdir } from '../support/tmp.js';
import { writeZip, entriesOf } from '../support/zip.js';

// Sidecars are written by coreutils' sha256sum, the tool release pipelines use.

function sha256sum(args: string[], cwd: string): string {
  const r = spawnSync('sha256sum', args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function sidecarsOf(archive: string): SidecarReader {
  return async (suffix) => {
    try {
      return await readFile(`${archive}${suffix}`);
    } catch (error) {
      throw new RemoteError(`https://host/app.zip${suffix}`, 'HTTP 404', { cause: error });
    }
  };
}

const dir = testdir();
const archive = join(dir, 'app.zip');
await writeZip(archive, entriesOf({ 'index.html': 'hello\n', 'lib/a.js': 'export {}\n' }));
const digest = createHash('sha256').update(readFileSync(archive)).digest('hex');
const config = { verifySha256: true };

function copyArchive(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, readFileSync(archive));
  return path;
}

test('digestFile computes sha256 and BLAKE2b-512 in one pass, matching the tools', async () => {
  const digests = await digestFile(archive, ['sha256', 'blake2b512']);
  assert.equal(digests.sha256!.toString('hex'), sha256sum(['app.zip'], dir).split(' ')[0]);
  const b2 = spawnSync('b2sum', ['app.zip'], { cwd: dir, encoding: 'utf8' });
  assert.equal(b2.status, 0, b2.stderr);
  assert.equal(digests.blake2b512!.toString('hex'), b2.stdout.split(' ')[0]);
});

test('sha256sum output ("HEX  name"): accepted', async () => {
  const file = copyArchive('ok.zip');
  writeFileSync(`${file}.sha256`, sha256sum(['ok.zip'], dir));
  assert.deepEqual(await verifyArchive(file, config, sidecarsOf(file)), { checks: ['sha256'] });
});

test('bare HEX, binary-mode "*name", BSD --tag form and upper case: accepted', async () => {
  const file = copyArchive('forms.zip');
  for (const text of [`${digest}\n`, `${digest} *forms.zip\n`, sha256sum(['--tag', 'forms.zip'], dir), digest.toUpperCase()]) {
    writeFileSync(`${file}.sha256`, text);
    assert.deepEqual((await verifyArchive(file, config, sidecarsOf(file))).checks, ['sha256'], text);
  }
});

test('SHA256SUMS with several files: the line for the archive is used', async () => {
  const file = copyArchive('multi.zip');
  writeFileSync(join(dir, 'other.zip'), 'other');
  writeFileSync(`${file}.sha256`, sha256sum(['other.zip', 'multi.zip'], dir));
  const result = await verifyArchive(file, config, sidecarsOf(file), { display: 'https://host/builds/multi.zip' });
  assert.deepEqual(result.checks, ['sha256']);
  const error = await verifyArchive(file, config, sidecarsOf(file), { display: 'https://host/builds/nothere.zip' }).catch((e: unknown) => e);
  assert.ok(error instanceof VerificationError);
  assert.match(error.message, /lists 2 digests and none for nothere\.zip/);
});

test('mismatch: says what was expected and what the archive has', async () => {
  const file = copyArchive('mismatch.zip');
  writeFileSync(`${file}.sha256`, sha256sum(['mismatch.zip'], dir));
  appendFileSync(file, 'tampered');
  const actual = createHash('sha256').update(readFileSync(file)).digest('hex');
  const error = await verifyArchive(file, config, sidecarsOf(file), { display: 'https://host/app.zip' }).catch((e: unknown) => e);
  assert.ok(error instanceof VerificationError);
  assert.equal(error.message, `sha256 mismatch: expected ${digest} (from https://host/app.zip.sha256), archive has ${actual}`);
});

test('a digest computed while downloading is used instead of re-hashing', async () => {
  const file = copyArchive('known.zip');
  writeFileSync(`${file}.sha256`, `${digest}\n`);
  assert.deepEqual((await verifyArchive(file, config, sidecarsOf(file), { sha256: digest })).checks, ['sha256']);
  // Proof the given digest is what gets compared: a wrong one is refused though the file is fine.
  const wrong = '0'.repeat(64);
  const error = await verifyArchive(file, config, sidecarsOf(file), { sha256: wrong }).catch((e: unknown) => e);
  assert.ok(error instanceof VerificationError);
  assert.match(error.message, new RegExp(`expected ${digest} .*archive has ${wrong}`));
});

test('missing sidecar: a failure naming the file', async () => {
  const file = copyArchive('missing.zip');
  const error = await verifyArchive(file, config, sidecarsOf(file), { display: 'https://host/app.zip' }).catch((e: unknown) => e);
  assert.ok(error instanceof VerificationError);
  assert.match(error.message, /^sha256 file https:\/\/host\/app\.zip\.sha256 is missing: HTTP 404/);
});

test('malformed sidecar: refused with the offending line', () => {
  assert.throws(() => parseSha256Sidecar('', 'x.sha256'), /malformed sha256 file x\.sha256: no sha256 digest found/);
  assert.throws(() => parseSha256Sidecar('deadbeef  app.zip\n', 'x.sha256'), /line 1 is not "HEX  name" or "HEX" \(found "deadbeef  app\.zip"\)/);
  assert.throws(() => parseSha256Sidecar(`# sums\n${digest}  a\nmd5 oops\n`), /line 3/);
  assert.deepEqual(parseSha256Sidecar(`# sums\n\n${digest}  dir/app.zip\r\n`), [{ digest, name: 'dir/app.zip' }]);
  assert.throws(() => checkSha256('00', `${digest}\n`), VerificationError);
});

test('sha256 and minisign configured: both sidecars are required', async () => {
  const file = copyArchive('both.zip');
  writeFileSync(`${file}.sha256`, `${digest}\n`);
  const key = 'RWSBB73oEGdAqoXF/MnIyJIC4m38hkYT8fKHI3l5oayhIWUGJ0AozONV';
  const error = await verifyArchive(file, { verifySha256: true, minisignKey: key }, sidecarsOf(file)).catch((e: unknown) => e);
  assert.ok(error instanceof VerificationError);
  assert.match(error.message, /^signature file both\.zip\.minisig is missing/);
});

test('nothing configured: nothing read, nothing checked', async () => {
  let reads = 0;
  const result = await verifyArchive(archive, { verifySha256: false }, async () => {
    reads++;
    return Buffer.alloc(0);
  });
  assert.deepEqual(result, { checks: [] });
  assert.equal(reads, 0);
});
