import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultLimits } from '../../src/config/types.js';
import { httpRangeSource } from '../../src/delta/http-source.js';
import { rebuildArchive, type RebuildOptions } from '../../src/delta/rebuild.js';
import { DeltaDoubt, lostArchive } from '../../src/delta/source.js';
import { tryCacheLock } from '../../src/pipeline/lock.js';
import { saveState, type HttpCacheState } from '../../src/remotes/http/cache.js';
import { DiskError } from '../../src/util/disk-errors.js';
import { entryLayout } from '../support/zip.js';
import { withHttpServer, type TestHttpServer } from '../support/http-server.js';
import { testdir } from '../support/tmp.js';
import { baseTree, changed, changes, filler, zipOfTree, type Tree } from './delta-fixtures.js';

// A rebuild that starts from a clone of the previous archive (a reflink on XFS or btrfs): the
// bytes before the first change are already in place and are not written again. Reflinks are
// not available on every test machine's filesystem, so a plain copy stands in for the clone
// here: it leaves the same bytes, and the rebuild treats both alike. The bench's `--reflink`
// workload runs the real thing on XFS.

/** Serves `next` (ranges cut from `rangeBody` when given) and rebuilds it from `previous`. */
async function rebuild(server: TestHttpServer, previous: Buffer, next: Buffer, options: { rangeBody?: Buffer; clone?: RebuildOptions['cloneArchive']; copy?: RebuildOptions['copyArchive']; inPlace?: boolean } = {}) {
  const dir = testdir();
  const old = join(dir, 'previous.zip');
  writeFileSync(old, previous);
  server.put('/app.zip', { body: next, ranges: true, ...(options.rangeBody ? { rangeBody: options.rangeBody } : {}) });
  const head = await fetch(`${server.origin}/app.zip`, { method: 'HEAD' });
  const etag = head.headers.get('etag') ?? undefined;
  const url = `${server.origin}/app.zip`;
  const output = join(dir, 'next.zip');
  const result = await rebuildArchive({
    previous: old,
    output,
    total: next.length,
    source: httpRangeSource({ url, display: url, total: next.length, ...(etag ? { etag } : {}), connectTimeoutMs: 5000, readTimeoutMs: 5000 })!,
    limits: defaultLimits,
    display: url,
    cloneArchive: options.clone ?? ((from, to) => copyFile(from, to)),
    ...(options.copy ? { copyArchive: options.copy } : {}),
    ...(options.inPlace ? { consumePrevious: { moved: join(dir, 'moved.bin') } } : {}),
  });
  return { result, output, old };
}

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

for (const [name, change] of changes) {
  test(`delta clone: ${name}: the archive is the served one, the bytes before the change kept in place`, async () => {
    await withHttpServer(async (server) => {
      const previous = await zipOfTree(baseTree());
      const next = await zipOfTree(changed(baseTree(), change));
      const { result, output } = await rebuild(server, previous, next);
      assert.ok(readFileSync(output).equals(next), 'the rebuilt archive differs from the served one');
      assert.equal(result.sha256, sha256(next));
      // Only bytes that are the same at the same offset in both archives can be kept in place.
      let same = 0;
      for (let i = 0; i < Math.min(previous.length, next.length); i++) if (previous[i] === next[i]) same++;
      assert.equal(result.startedAs, 'reflink');
      assert.ok(result.bytesInPlace > 0, 'nothing was kept in place');
      assert.ok(result.bytesInPlace <= same, `${result.bytesInPlace} bytes kept, but only ${same} are the same at the same offset`);
      assert.equal(statSync(output).mode & 0o777, 0o600);
    });
  });
}

test('delta clone: entries in the end-record range are written from the previous archive, not left as the server sent them', async () => {
  await withHttpServer(async (server) => {
    // A mode change moves no entry: every entry is a copy to the same offset. The last entry
    // lies in the range fetched with the central directory; the server lies in it.
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), changes.find(([name]) => name === 'a mode change')![1]));
    const lying = Buffer.from(next);
    lying[entryLayout(next).get('link')!.data]! ^= 0xff;
    const { result, output } = await rebuild(server, previous, next, { rangeBody: lying });
    assert.equal(result.startedAs, 'reflink');
    assert.ok(result.bytesInPlace > 0);
    assert.ok(readFileSync(output).equals(next));
    assert.equal(result.sha256, sha256(next));
  });
});

test('delta clone: a fetched range that lies is caught after a clone as without one', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    const lying = Buffer.from(next);
    lying[entryLayout(next).get('d1/f05.txt')!.data + 10]! ^= 0xff;
    let cloned = 0;
    const clone = (from: string, to: string) => copyFile(from, to).then(() => void cloned++);
    await assert.rejects(rebuild(server, previous, next, { rangeBody: lying, clone }), (error) => error instanceof DeltaDoubt && /d1\/f05\.txt/.test(error.message));
    assert.equal(cloned, 1, 'the rebuild started from a clone');
  });
});

/** Rebuilds in place (no reflinks), expecting a failure; returns the files left in its directory. */
async function failInPlace(server: TestHttpServer, previous: Buffer, next: Buffer, rangeBody: Buffer): Promise<string[]> {
  let dir = '';
  const clone = (from: string, to: string) => {
    dir = testdirOf(to);
    return refused();
  };
  await assert.rejects(rebuild(server, previous, next, { rangeBody, clone, inPlace: true }), (error) => error instanceof DeltaDoubt);
  return readdirSync(dir).sort();
}

const refused = () => Promise.reject(Object.assign(new Error('reflinks are not supported here'), { code: 'EOPNOTSUPP' }));

test('delta clone: without reflinks, an archive mostly in place starts as a kernel copy of the previous one', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree({ ...changed(baseTree(), changes[1]![1]), 'z/late.txt': { content: filler('late', 4096) } });
    const { result, output } = await rebuild(server, previous, next, { clone: refused });
    assert.ok(readFileSync(output).equals(next));
    assert.equal(result.startedAs, 'copy');
    assert.ok(result.bytesInPlace * 2 >= next.length, `${result.bytesInPlace} of ${next.length} bytes in place`);
    assert.equal(statSync(output).mode & 0o777, 0o600);
  });
});

test('delta clone: a kernel copy that got a byte wrong gives the hash of what is in the file, not of what should be', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), changes[1]![1]));
    const copy = async (from: string, to: string) => {
      const bytes = readFileSync(from);
      // In the data of an entry kept in place: no local header or CRC check reads it.
      bytes[entryLayout(previous).get('d0/f00.txt')!.data + 10]! ^= 0xff;
      writeFileSync(to, bytes);
    };
    const { result, output } = await rebuild(server, previous, next, { clone: refused, copy });
    assert.equal(result.startedAs, 'copy');
    assert.notEqual(result.sha256, sha256(next), 'the damage would pass a sha256 check');
    assert.equal(result.sha256, sha256(readFileSync(output)));
  });
});

test('delta clone: without reflinks, an archive changed near its start is written whole', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    // `bin/run.sh` is the first entry: one byte more moves every entry after it.
    const next = await zipOfTree({ ...baseTree(), 'bin/run.sh': { content: '#!/bin/sh\necho run!\n', mode: 0o755 } });
    const { result, output } = await rebuild(server, previous, next, { clone: refused });
    assert.ok(readFileSync(output).equals(next));
    assert.equal(result.startedAs, 'none');
    assert.equal(result.bytesInPlace, 0);
    const cloned = await rebuild(server, previous, next);
    assert.ok(readFileSync(cloned.output).equals(next));
    assert.equal(cloned.result.startedAs, 'none', 'nothing sits where it was: nothing to clone');
  });
});

test('delta clone: the clone is of the archive the rebuild reads, even when the cache file is replaced meanwhile', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), changes[1]![1]));
    // Another run sharing the cache renames a different archive over the previous one's path
    // between the rebuild opening it and cloning it.
    const clone = async (from: string, to: string) => {
      const path = join(testdirOf(to), 'previous.zip');
      writeFileSync(`${path}.other`, await zipOfTree(baseTree(20)));
      renameSync(`${path}.other`, path);
      copyFileSync(from, to);
    };
    const { result, output } = await rebuild(server, previous, next, { clone });
    assert.ok(result.bytesInPlace > 0);
    assert.ok(readFileSync(output).equals(next), 'the clone was made of the file that replaced the previous archive');
  });
});

const testdirOf = (file: string) => join(file, '..');

test('delta rebuild on a disk that fills mid-write: a disk error naming the archive, not a doubt about the download', async () => {
  await withHttpServer(async (server) => {
    // 3 MB that do not compress, rebuilt onto a 2 MB tmpfs: the first write fills it part-way
    // (the kernel says how much it wrote, without an error); the rest must fail with ENOSPC.
    const blob = filler('blob', 3_000_000).replace(/[^\n]/g, (c, i: number) => String.fromCharCode(33 + ((c.charCodeAt(0) * 31 + i * 7) % 90)));
    const previous = await zipOfTree({ 'blob.txt': { content: blob }, 'v.txt': { content: 'v1' } });
    const next = await zipOfTree({ 'blob.txt': { content: blob }, 'v.txt': { content: 'v2' } });
    const dir = testdir();
    const small = join(dir, 'small');
    mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
    try {
      const old = join(dir, 'previous.zip');
      writeFileSync(old, previous);
      server.put('/app.zip', { body: next, ranges: true });
      const url = `${server.origin}/app.zip`;
      const output = join(small, 'next.zip.part');
      const attempt = rebuildArchive({
        previous: old,
        output,
        total: next.length,
        source: httpRangeSource({ url, display: url, total: next.length, lastModified: new Date().toUTCString(), connectTimeoutMs: 5000, readTimeoutMs: 5000 })!,
        limits: defaultLimits,
        display: url,
      });
      await assert.rejects(attempt, (error) => error instanceof DiskError && /ENOSPC/.test(error.message) && error.message.includes(output));
      assert.deepEqual(readdirSync(small), [], 'the partial archive is removed');
    } finally {
      execFileSync('umount', ['-l', small]);
    }
  });
});

// Without reflinks (ext4), the previous archive itself becomes the new one: the bytes before
// the first change are neither copied nor written, and those that move are saved first.
for (const [name, change] of [...changes, ['a file grown in the middle (every later entry moves)', (t: Tree) => void (t['d1/f05.txt'] = { content: filler('grown', 40 * 1024) })] as const]) {
  test(`delta in place: ${name}: the previous archive becomes the served one`, async () => {
    await withHttpServer(async (server) => {
      const previous = await zipOfTree(baseTree());
      const next = await zipOfTree(changed(baseTree(), change));
      const { result, output, old } = await rebuild(server, previous, next, { clone: refused, inPlace: true });
      assert.ok(readFileSync(output).equals(next), 'the rebuilt archive differs from the served one');
      assert.equal(result.sha256, sha256(next));
      const dir = testdirOf(output);
      if (result.startedAs === 'in-place') {
        assert.ok(result.bytesInPlace * 2 >= next.length);
        assert.equal(existsSync(old), false, 'the previous archive is still there: it was copied, not reused');
      } else {
        assert.equal(result.startedAs, 'none');
        assert.ok(readFileSync(old).equals(previous), 'the previous archive was changed though not reused');
      }
      assert.deepEqual(readdirSync(dir).sort(), ['next.zip', ...(result.startedAs === 'in-place' ? [] : ['previous.zip'])], 'the side file was left behind');
      assert.equal(statSync(output).mode & 0o777, 0o600);
    });
  });
}

test('delta in place: entries that move are put back from the side file', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), (t) => void (t['d3/f59.txt'] = { content: filler('grown', 40 * 1024) })));
    const { result, output } = await rebuild(server, previous, next, { clone: refused, inPlace: true });
    assert.equal(result.startedAs, 'in-place');
    assert.ok(result.bytesInPlace < next.length - 40 * 1024);
    assert.ok(readFileSync(output).equals(next));
  });
});

test('delta in place: a lying range is caught, and the rebuild leaves nothing behind', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    const lying = Buffer.from(next);
    lying[entryLayout(next).get('d1/f05.txt')!.data + 10]! ^= 0xff;
    // The previous archive was consumed: the next version is downloaded whole.
    assert.deepEqual(await failInPlace(server, previous, next, lying), []);
  });
});

test('delta in place: a cache file replaced before the rename is not rebuilt on: a doubt, and that file is put back', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    const other = await zipOfTree(baseTree(20));
    // Another app sharing the cache renames its download over the previous archive's name
    // after the rebuild opened it: renaming that name would move the other app's file.
    let dir = '';
    const clone = async (_from: string, to: string) => {
      dir = testdirOf(to);
      writeFileSync(join(dir, 'other.zip'), other);
      renameSync(join(dir, 'other.zip'), join(dir, 'previous.zip'));
      return refused();
    };
    const attempt = rebuild(server, previous, next, { clone, inPlace: true });
    await assert.rejects(attempt, (error) => error instanceof DeltaDoubt && /replaced while it was being rebuilt/.test(error.message));
    assert.deepEqual(readdirSync(dir), ['previous.zip'], 'the rebuild left files behind');
    assert.ok(readFileSync(join(dir, 'previous.zip')).equals(other), 'the other app\'s archive was not put back');
  });
});

test('delta in place: a cached archive removed before the rename is a doubt that says the archive is gone', async () => {
  await withHttpServer(async (server) => {
    const previous = await zipOfTree(baseTree());
    const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
    let dir = '';
    // Another app's download pruned it after the rebuild opened it.
    const clone = async (_from: string, to: string) => {
      dir = testdirOf(to);
      rmSync(join(dir, 'previous.zip'));
      return refused();
    };
    await assert.rejects(rebuild(server, previous, next, { clone, inPlace: true }), (error) => error instanceof DeltaDoubt && error.message === lostArchive);
    assert.deepEqual(readdirSync(dir), [], 'the rebuild left files behind');
  });
});

test('http cache: a save leaves older archives while another run holds the cache lock, and removes them once it is free', async () => {
  const dir = testdir();
  const state = { urlKey: 'k', version: 'v2', sha256: 'b'.repeat(64), bytes: 1 } as HttpCacheState;
  for (const sha of ['a', 'b']) writeFileSync(join(dir, `sha256-${sha.repeat(64)}.zip`), sha);
  const lock = (await tryCacheLock(dir))!;
  await saveState(dir, state);
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.zip')).length, 2, 'an archive a rebuild may be reading was removed');
  await lock.release();
  await saveState(dir, state);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.zip')), [`sha256-${'b'.repeat(64)}.zip`]);
});
