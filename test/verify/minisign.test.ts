import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, appendFileSync, existsSync, readdirSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RemoteError, VerificationError } from '../../src/errors.js';
import { verifyArchive, type SidecarReader } from '../../src/verify/archive.js';
import { parseMinisignKey, verifyMinisignFile } from '../../src/verify/minisign.js';
import { unpackArchive } from '../../src/remotes/archive.js';
import { defaultLimits } from '../../src/config/types.js';
import { testdir } from '../support/tmp.js';
import { writeZip, entriesOf } from '../support/zip.js';

// Signatures here are made by Debian's minisign; the verifier must agree with it both ways.

function minisign(args: string[], cwd: string): { status: number | null; out: string } {
  const r = spawnSync('minisign', args, { cwd, encoding: 'utf8', input: '' });
  if (r.error) throw new Error(`minisign could not run (is the minisign package installed?): ${r.error.message}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A passwordless key pair in `dir`; returns the base64 key line and the key id. */
function makeKey(dir: string, name: string): { pub: string; sec: string; line: string; keyId: string } {
  const pub = join(dir, `${name}.pub`);
  const sec = join(dir, `${name}.key`);
  const r = minisign(['-G', '-W', '-p', pub, '-s', sec], dir);
  assert.equal(r.status, 0, r.out);
  const [comment, line] = readFileSync(pub, 'utf8').trim().split('\n');
  // minisign prints the id without leading zeros (printf %llX): one key in 16 has fewer digits.
  return { pub, sec, line: line!, keyId: /([0-9A-F]{1,16})\s*$/.exec(comment!)![1]!.padStart(16, '0') };
}

function sign(dir: string, sec: string, file: string, opts: { legacy?: boolean; comment?: string } = {}): void {
  const args = ['-S', '-s', sec, '-m', file, ...(opts.legacy ? ['-l'] : []), ...(opts.comment ? ['-t', opts.comment] : [])];
  const r = minisign(args, dir);
  assert.equal(r.status, 0, r.out);
}

/** minisign's own verdict, to check that we refuse exactly what it refuses. */
function minisignAccepts(dir: string, pub: string, file: string): boolean {
  return minisign(['-V', '-q', '-p', pub, '-m', file], dir).status === 0;
}

/** Reads sidecars from files beside `archive`, throwing RemoteError like a remote does. */
function sidecarsOf(archive: string): SidecarReader {
  return async (suffix) => {
    try {
      return await readFile(`${archive}${suffix}`);
    } catch (error) {
      throw new RemoteError(`file://app.zip${suffix}`, `no such file`, { cause: error });
    }
  };
}

const dir = testdir();
const keyA = makeKey(dir, 'a');
const keyB = makeKey(dir, 'b');
const archive = join(dir, 'app.zip');
await writeZip(archive, entriesOf({ 'index.html': 'hello\n', 'bin/start': '#!/bin/sh\necho hi\n' }));

function copyArchive(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, readFileSync(archive));
  return path;
}

/** The two algorithm bytes of the signature beside `file`: what minisign actually made. */
function algorithmOf(file: string): string {
  return Buffer.from(readFileSync(`${file}.minisig`, 'utf8').split('\n')[1]!, 'base64').subarray(0, 2).toString('latin1');
}

async function refusal(file: string, key = keyA.line): Promise<VerificationError> {
  const error = await verifyArchive(file, { minisignKey: key, verifySha256: false }, sidecarsOf(file)).then(
    () => assert.fail('verification should have failed'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof VerificationError, `expected VerificationError, got ${String(error)}`);
  return error;
}

test('valid prehashed signature: accepted, trusted comment returned', async () => {
  const file = copyArchive('prehashed.zip');
  sign(dir, keyA.sec, file, { comment: 'build 42 of web' });
  assert.equal(algorithmOf(file), 'ED', 'expected a prehashed signature');
  const result = await verifyArchive(file, { minisignKey: keyA.line, verifySha256: false }, sidecarsOf(file));
  assert.deepEqual(result, { trustedComment: 'build 42 of web', checks: ['minisign'] });
});

test('valid legacy signature (minisign -l): accepted', async () => {
  const file = copyArchive('legacy.zip');
  sign(dir, keyA.sec, file, { legacy: true });
  assert.equal(algorithmOf(file), 'Ed', 'expected a legacy signature');
  const result = await verifyArchive(file, { minisignKey: keyA.line, verifySha256: false }, sidecarsOf(file));
  assert.deepEqual(result.checks, ['minisign']);
  assert.match(result.trustedComment!, /^timestamp:\d+\s+file:legacy\.zip/);
});

test('the whole .pub file is accepted as the pinned key', () => {
  const key = parseMinisignKey(readFileSync(keyA.pub, 'utf8'));
  assert.equal(key.keyId, keyA.keyId);
});

test('signature by another key: names the key id found and the pinned one', async () => {
  const file = copyArchive('wrong-key.zip');
  sign(dir, keyB.sec, file);
  assert.equal(minisignAccepts(dir, keyA.pub, file), false);
  const error = await refusal(file);
  assert.match(error.message, new RegExp(`signature key id ${keyB.keyId} does not match the pinned key ${keyA.keyId}`));
});

for (const legacy of [false, true]) {
  test(`tampered archive (${legacy ? 'legacy' : 'prehashed'}): refused`, async () => {
    const file = copyArchive(`tampered-${legacy}.zip`);
    sign(dir, keyA.sec, file, { legacy });
    appendFileSync(file, 'x');
    assert.equal(minisignAccepts(dir, keyA.pub, file), false);
    const error = await refusal(file);
    assert.match(error.message, /minisign signature does not match the archive/);
    assert.match(error.message, new RegExp(keyA.keyId));
  });
}

test('tampered trusted comment: refused, the altered comment is shown', async () => {
  const file = copyArchive('comment.zip');
  sign(dir, keyA.sec, file, { comment: 'version 1.0' });
  const lines = readFileSync(`${file}.minisig`, 'utf8').split('\n');
  lines[2] = 'trusted comment: version 9.9';
  writeFileSync(`${file}.minisig`, lines.join('\n'));
  assert.equal(minisignAccepts(dir, keyA.pub, file), false);
  const error = await refusal(file);
  assert.match(error.message, /trusted comment does not match its global signature/);
  assert.match(error.message, /version 9\.9/);
});

test('untrusted comment may change freely', async () => {
  const file = copyArchive('untrusted.zip');
  sign(dir, keyA.sec, file);
  const lines = readFileSync(`${file}.minisig`, 'utf8').split('\n');
  lines[0] = 'untrusted comment: anything at all';
  writeFileSync(`${file}.minisig`, lines.join('\r\n'));
  assert.equal((await verifyArchive(file, { minisignKey: keyA.line, verifySha256: false }, sidecarsOf(file))).checks[0], 'minisign');
});

test('missing signature file: a failure, not a skip', async () => {
  const file = copyArchive('unsigned.zip');
  const error = await refusal(file);
  assert.match(error.message, /^signature file unsigned\.zip\.minisig is missing: no such file/);
  assert.ok(error.cause instanceof RemoteError);
});

test('remote without sidecar support: refused when a key is pinned', async () => {
  const error = await verifyArchive(archive, { minisignKey: keyA.line, verifySha256: false }, undefined, { display: 'https://host/app.zip' }).catch((e: unknown) => e);
  assert.ok(error instanceof VerificationError);
  assert.match(error.message, /https:\/\/host\/app\.zip cannot supply signature/);
});

test('malformed signature files: refused with what is wrong', async () => {
  const file = copyArchive('malformed.zip');
  sign(dir, keyA.sec, file);
  const good = readFileSync(`${file}.minisig`, 'utf8').split('\n');
  const cases: [string, string, RegExp][] = [
    ['empty', '', /expected 4 lines/],
    ['two lines', good.slice(0, 2).join('\n'), /expected 4 lines, found 2/],
    ['bad base64', [good[0], 'not*base64', good[2], good[3]].join('\n'), /line 2 should be 74 bytes of base64, found invalid base64/],
    ['short signature', [good[0], good[1]!.slice(0, 40), good[2], good[3]].join('\n'), /line 2 should be 74 bytes/],
    ['unknown algorithm', [good[0], Buffer.concat([Buffer.from('XX'), Buffer.from(good[1]!, 'base64').subarray(2)]).toString('base64'), good[2], good[3]].join('\n'), /unknown signature algorithm "XX"/],
    ['no trusted comment', [good[0], good[1], 'comment: x', good[3]].join('\n'), /line 3 should start with "trusted comment:"/],
    ['bad global signature', [good[0], good[1], good[2], 'AAAA'].join('\n'), /line 4 should be a 64-byte global signature/],
  ];
  for (const [name, content, expected] of cases) {
    writeFileSync(`${file}.minisig`, content);
    const error = await refusal(file);
    assert.match(error.message, /^malformed signature file malformed\.zip\.minisig: /, name);
    assert.match(error.message, expected, name);
  }
});

test('malformed pinned key: refused before anything is read', async () => {
  let read = false;
  const error = await verifyArchive(archive, { minisignKey: 'RWQnotakey', verifySha256: false }, async () => {
    read = true;
    return Buffer.alloc(0);
  }).catch((e: unknown) => e);
  assert.ok(error instanceof VerificationError);
  assert.match(error.message, /pinned minisign key is malformed/);
  assert.equal(read, false);
});

test('legacy signature over the size limit: refused with a clear message', async () => {
  const file = copyArchive('big-legacy.zip');
  sign(dir, keyA.sec, file, { legacy: true });
  const size = readFileSync(file).length;
  const error = await verifyMinisignFile(file, parseMinisignKey(keyA.line), readFileSync(`${file}.minisig`), { maxLegacyBytes: size - 1 }).catch((e: unknown) => e);
  assert.ok(error instanceof VerificationError);
  assert.match(error.message, new RegExp(`legacy minisign signature refused for a ${size}-byte archive \\(limit ${size - 1} bytes\\)`));
  assert.match(error.message, /re-sign without -l/);
  // At the limit it passes.
  assert.match(await verifyMinisignFile(file, parseMinisignKey(keyA.line), readFileSync(`${file}.minisig`), { maxLegacyBytes: size }), /file:big-legacy\.zip/);
});

test('unpackArchive verifies before extracting: a bad signature writes nothing', async () => {
  const file = copyArchive('unpack.zip');
  sign(dir, keyB.sec, file);
  const into = join(dir, 'release-bad');
  mkdirSync(into);
  const options = { limits: defaultLimits, verify: { minisignKey: keyA.line, verifySha256: false }, readSidecar: sidecarsOf(file), sha256: 'x', bytesDownloaded: 0 };
  await assert.rejects(unpackArchive(file, into, options), VerificationError);
  assert.deepEqual(readdirSync(into), []);

  sign(dir, keyA.sec, file, { comment: 'release 7' });
  const good = join(dir, 'release-good');
  mkdirSync(good);
  const result = await unpackArchive(file, good, options);
  assert.equal(result.detail?.trustedComment, 'release 7');
  assert.equal(result.detail?.verified, 'minisign');
  assert.ok(existsSync(join(good, 'index.html')));
});
