import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultLimits } from '../../src/config/types.js';
import { attemptDelta, type DeltaOutcome } from '../../src/delta/attempt.js';
import { httpRangeSource } from '../../src/delta/http-source.js';
import { extractZip, prepareExtraction } from '../../src/extract/zip.js';
import { silentLogger } from '../../src/log.js';
import { withHttpServer, type TestHttpServer } from '../support/http-server.js';
import { testdir } from '../support/tmp.js';
import { baseTree, changed, changes, describeTree, zipOfTree } from './delta-fixtures.js';

// The extraction a delta download starts while it hashes and verifies the rebuilt archive:
// only after a reflink of the archive (a plain copy stands in for one here, as in
// delta-clone.test.ts), writing no content of the archive before verification, finished into
// the same tree as a whole extraction, and undone when verification fails.

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

/** Rebuilds `next` from `previous` with `verify-sha256` against `digest`; lists the release directory when the digest is read. */
async function attempt(server: TestHttpServer, previous: Buffer, next: Buffer, options: { reflink: boolean; digest?: string; rangeBody?: Buffer }) {
  const dir = testdir();
  const old = join(dir, 'previous.zip');
  writeFileSync(old, previous);
  const into = join(dir, 'release');
  mkdirSync(into);
  server.put('/app.zip', { body: next, ranges: true, ...(options.rangeBody ? { rangeBody: options.rangeBody } : {}) });
  const etag = (await fetch(`${server.origin}/app.zip`, { method: 'HEAD' })).headers.get('etag') ?? undefined;
  const url = `${server.origin}/app.zip`;
  let atVerification: string[] | undefined;
  let started = false;
  const outcome: DeltaOutcome | undefined = await attemptDelta({
    previous: old,
    output: join(dir, 'next.zip'),
    moved: join(dir, 'moved.bin'),
    total: next.length,
    source: httpRangeSource({ url, display: url, total: next.length, ...(etag ? { etag } : {}), connectTimeoutMs: 5000, readTimeoutMs: 5000 }),
    limits: defaultLimits,
    display: url,
    verify: { verifySha256: true },
    readSidecar: async () => {
      // Verification reads the digest once the whole archive is hashed: give the extraction
      // running meanwhile time to make its directories.
      await new Promise((resolve) => setTimeout(resolve, 200));
      atVerification = readdirSync(into);
      return Buffer.from(`${options.digest ?? sha256(next)}  app.zip\n`);
    },
    logger: silentLogger(),
    cloneArchive: options.reflink ? (from, to) => copyFile(from, to) : () => Promise.reject(new Error('no reflinks here')),
    copyArchive: (from, to) => copyFile(from, to),
    extract: {
      into,
      start: (archive) => {
        started = true;
        return prepareExtraction(archive, into, { limits: defaultLimits });
      },
    },
  });
  return { outcome, into, atVerification, started };
}

/** What a whole extraction of `body` writes. */
async function wholeTree(body: Buffer): Promise<Record<string, string>> {
  const dir = testdir();
  writeFileSync(join(dir, 'a.zip'), body);
  mkdirSync(join(dir, 'out'));
  await extractZip(join(dir, 'a.zip'), join(dir, 'out'), { limits: defaultLimits });
  return describeTree(join(dir, 'out'));
}

test('delta early extraction: after a reflink it starts before verification and finishes into the tree a whole extraction writes', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    const { outcome, into, atVerification } = await attempt(server, previous, next, { reflink: true });
    assert.equal(outcome?.startedAs, 'reflink');
    assert.ok(atVerification?.length, 'nothing was made in the release before verification');
    // Directories only: no file of the archive before it is verified.
    assert.deepEqual(Object.values(describeTree(into)).filter((what) => !what.startsWith('dir')), []);
    assert.ok(outcome?.prepared, 'the prepared extraction was not handed over');
    try {
      await outcome.prepared.finish({ limits: defaultLimits });
    } finally {
      outcome.prepared.close();
    }
    assert.deepEqual(describeTree(into), await wholeTree(next));
  });
});

test('delta early extraction: without a reflink (clones would be copies) it does not start, the archive rebuilt in place', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    const { outcome, atVerification } = await attempt(server, previous, next, { reflink: false });
    assert.equal(outcome?.startedAs, 'in-place');
    assert.deepEqual(atVerification, []);
    assert.equal(outcome?.prepared, undefined);
  });
});

test('delta early extraction: a rebuilt archive that fails verification leaves the release directory empty', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    const { outcome, into, atVerification } = await attempt(server, previous, next, { reflink: true, digest: sha256(previous) });
    assert.equal(outcome, undefined, 'a digest mismatch must mean a full download');
    assert.ok(atVerification?.length, 'the extraction had not started: this test would prove nothing');
    assert.deepEqual(readdirSync(into), []);
  });
});

test('delta early extraction: it starts before the local headers are checked, and a header that fails the check leaves the release directory empty', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    // The changed entry's local header names another file: the check, not the hash, finds it.
    const lying = Buffer.from(next);
    lying[lying.indexOf(Buffer.from('d1/f05.txt'))]! ^= 0x01;
    const { outcome, into, atVerification, started } = await attempt(server, previous, next, { reflink: true, rangeBody: lying });
    assert.equal(outcome, undefined, 'a header that does not match must mean a full download');
    assert.equal(atVerification, undefined, 'the header check should have failed before verification');
    assert.ok(started, 'the extraction had not started: it waits for the header check');
    assert.deepEqual(readdirSync(into), []);
  });
});
