import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cloneFiles } from '../../src/reuse/clone.js';
import { unchangedSince } from '../../src/reuse/clone-sync.js';
import { decodeManifest, encodeManifest, readManifest, sealManifest, statOf, writeManifest, type PlannedFile, type RecordedFile } from '../../src/reuse/manifest.js';
import { testdir } from '../support/tmp.js';

// The release manifest (releases/.<id>.files): its format, the stat data it records at
// publish, and the rule that a file whose stat data moved since is never cloned.

const planned: PlannedFile[] = [
  { path: 'a.txt', hash: '0badf00d', mode: 0o644 },
  { path: 'bin/run', hash: 'deadbeef', mode: 0o755 },
  { path: 'odd "name"\nwith\ttabs and é', hash: '00000000', mode: 0o644 },
];

test('a planned manifest reads back as written, odd names included', () => {
  assert.deepEqual(decodeManifest(encodeManifest({ kind: 'zip', files: planned })), { kind: 'zip', files: planned });
});

test('a recorded manifest keeps stat data beyond 2^53 exactly', () => {
  const files: RecordedFile[] = [{ ...planned[0]!, size: '3', mtimeNs: '1700000000123456789', ino: '18446744073709551557', ctimeNs: '1700000000987654321' }];
  assert.deepEqual(decodeManifest(encodeManifest({ kind: 'git', files })), { kind: 'git', files });
});

test('anything but a whole manifest is no manifest', () => {
  const whole = encodeManifest({ kind: 'zip', files: planned });
  const cases: Record<string, Buffer> = {
    'cut short': whole.subarray(0, whole.length - 5),
    'not gzip': Buffer.from('repo-deploy-files 2 zip\n[]\n'),
    'the older format': gzipSync('repo-deploy-files 1 zip\n0badf00d 644 - - - - "a.txt"\n'),
    'an unknown kind': gzipSync('repo-deploy-files 2 tar\n[]\n'),
    'rows cut short': gzipSync('repo-deploy-files 2 zip\n[["a.txt","0badf00d",420],["b'),
    'no rows': gzipSync('repo-deploy-files 2 zip\n'),
    'a path that is not a string': gzipSync('repo-deploy-files 2 zip\n[[7,"0badf00d",420]]\n'),
    'a hash that is not hex': gzipSync('repo-deploy-files 2 zip\n[["a.txt","0badf00x",420]]\n'),
    'stat data that is not decimal': gzipSync('repo-deploy-files 2 zip\n[["a.txt","0badf00d",420,"1","2","3","-4"]]\n'),
  };
  for (const [name, data] of Object.entries(cases)) assert.equal(decodeManifest(data), undefined, name);
});

test('sealing records each file with its stat data now, leaves out what is gone, and removes the list', async () => {
  const dir = testdir({ 'rel/a.txt': 'aaa', 'rel/bin/run': { content: '#!/bin/sh\n', mode: 0o755 } });
  const list = join(dir, 'list');
  await writeManifest(list, { kind: 'zip', files: planned });
  const out = join(dir, 'out');
  assert.equal(await sealManifest(list, join(dir, 'rel'), out), 2);
  assert.equal(existsSync(list), false);
  const read = await readManifest(out);
  assert.equal(read?.kind, 'zip');
  assert.deepEqual([...read!.files.keys()], ['a.txt', 'bin/run']);
  const st = lstatSync(join(dir, 'rel/a.txt'), { bigint: true });
  assert.deepEqual(read!.files.get('a.txt'), { ...planned[0], size: '3', mtimeNs: `${st.mtimeNs}`, ino: `${st.ino}`, ctimeNs: `${st.ctimeNs}` });
  assert.equal(await sealManifest(list, join(dir, 'rel'), out), undefined, 'no list: nothing to record');
});

/** A release with one recorded file, and that file's record. */
function recorded(): { dir: string; file: string; record: RecordedFile } {
  const dir = testdir({ 'old/f.txt': 'content' });
  const file = join(dir, 'old/f.txt');
  return { dir, file, record: { path: 'f.txt', hash: 'x', mode: 0o644, ...statOf(file)! } };
}

test('a file is unchanged only while its mode, size, times and inode are as recorded', () => {
  const stat = (path: string) => lstatSync(path, { bigint: true });
  const edits: Record<string, (file: string) => void> = {
    'rewritten, same length, time put back': (f) => {
      const { atime, mtime } = statSync(f);
      writeFileSync(f, 'CONTENT');
      utimesSync(f, atime, mtime);
    },
    'appended to': (f) => writeFileSync(f, 'content and more'),
    'made executable': (f) => chmodSync(f, 0o755),
    'replaced by a new file': (f) => {
      rmSync(f);
      writeFileSync(f, 'content');
    },
  };
  for (const [name, edit] of Object.entries(edits)) {
    const { file, record } = recorded();
    assert.equal(unchangedSince(stat(file), record), true, `${name}: before`);
    edit(file);
    assert.equal(unchangedSince(stat(file), record), false, name);
  }
  const { file, record } = recorded();
  linkSync(file, `${file}.link`);
  assert.equal(unchangedSince(stat(file), record), false, 'a new link moves the change time');
  assert.equal(unchangedSince(stat(file), record, true), true, 'which hard-link mode does not compare');
});

test('cloning copies with the wanted time and leaves out a source edited since it was recorded', async () => {
  const { dir, record } = recorded();
  writeFileSync(join(dir, 'old/g.txt'), 'other');
  const g: RecordedFile = { path: 'g.txt', hash: 'y', mode: 0o644, ...statOf(join(dir, 'old/g.txt'))! };
  writeFileSync(join(dir, 'old/g.txt'), 'edited');
  const mtime = new Date('2020-01-01T00:00:00Z');
  mkdirSync(join(dir, 'new'));
  const result = await cloneFiles([{ path: 'f.txt', recorded: record, mtime: () => mtime }, { path: 'g.txt', recorded: g }], { from: join(dir, 'old'), into: join(dir, 'new') });
  assert.deepEqual([...result.cloned], ['f.txt']);
  assert.equal(result.bytes, 7);
  assert.equal(readFileSync(join(dir, 'new/f.txt'), 'utf8'), 'content');
  assert.equal(statSync(join(dir, 'new/f.txt')).mtimeMs, mtime.getTime());
  assert.notEqual(statSync(join(dir, 'new/f.txt')).ino, statSync(join(dir, 'old/f.txt')).ino);
  assert.equal(existsSync(join(dir, 'new/g.txt')), false, 'nothing left where a clone was refused');
});

/** `count` files recorded in `dir/old`, and an empty `dir/new`: enough for `cloneFiles` to use its threads. */
function manyRecorded(count: number): { dir: string; records: RecordedFile[] } {
  const dir = testdir();
  mkdirSync(join(dir, 'old'));
  mkdirSync(join(dir, 'new'));
  const records = Array.from({ length: count }, (_, i) => {
    const path = `f${i}.txt`;
    writeFileSync(join(dir, 'old', path), `file ${i}\n`);
    return { path, hash: 'x', mode: 0o644, ...statOf(join(dir, 'old', path))! };
  });
  return { dir, records };
}

test('cloning on threads (thousands of files): each file checked as on one thread, times set, edited and removed sources left out', async () => {
  const { dir, records } = manyRecorded(1500);
  writeFileSync(join(dir, 'old/f7.txt'), 'edited in place\n');
  rmSync(join(dir, 'old/f1400.txt'));
  const mtime = new Date('2021-02-03T04:05:06Z');
  const result = await cloneFiles(records.map((recorded) => ({ path: recorded.path, recorded, mtime: () => mtime })), { from: join(dir, 'old'), into: join(dir, 'new') });
  assert.equal(result.cloned.size, 1498);
  assert.equal(result.cloned.has('f7.txt') || result.cloned.has('f1400.txt'), false);
  assert.equal(result.bytes, records.filter((r) => result.cloned.has(r.path)).reduce((sum, r) => sum + Number(r.size), 0));
  assert.equal(existsSync(join(dir, 'new/f7.txt')), false, 'nothing left where a clone was refused');
  for (const i of [0, 8, 1023, 1499]) {
    assert.equal(readFileSync(join(dir, `new/f${i}.txt`), 'utf8'), `file ${i}\n`);
    assert.equal(statSync(join(dir, `new/f${i}.txt`)).mtimeMs, mtime.getTime());
  }
});

test('cloning on threads: an error keeps its code (for the disk messages) and an abort ends it with its reason', async () => {
  const { dir, records } = manyRecorded(1200);
  // A destination that exists already: the copy refuses it (EEXIST), on whichever thread.
  writeFileSync(join(dir, 'new/f1100.txt'), 'in the way');
  const jobs = records.map((recorded) => ({ path: recorded.path, recorded }));
  await assert.rejects(cloneFiles(jobs, { from: join(dir, 'old'), into: join(dir, 'new') }), (error: NodeJS.ErrnoException) => error.code === 'EEXIST' && error.message.includes('f1100.txt'));
  rmSync(join(dir, 'new'), { recursive: true });
  mkdirSync(join(dir, 'new'));
  const controller = new AbortController();
  const reason = new Error('stopped by the test');
  const cloning = cloneFiles(jobs.map((job) => ({ ...job, mtime: () => (job.path === 'f600.txt' && controller.abort(reason), undefined) })), { from: join(dir, 'old'), into: join(dir, 'new'), signal: controller.signal });
  await assert.rejects(cloning, (error) => error === reason);
});
