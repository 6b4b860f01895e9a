import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yazl from 'yazl';
import { makeLayout, runCli, type Layout } from '../support/cli.js';
import { startHttpServer } from '../support/http-server.js';
import { TestRepo } from '../support/git-repos.js';

// End-to-end: a new release clones the files the current release holds unchanged (zip and
// git), and is identical to a release written whole: same tree, modes, times and links. A
// file edited in place in the current release never leaks into the next one.

/** A zip entry: text with a mode, or a symlink; every entry gets the archive's time. */
type Entry = string | { content: string; mode: number } | { symlink: string };

const v1: Record<string, Entry> = {
  'changed.txt': 'one',
  'same.txt': 'unchanged text',
  'big.bin': 'x'.repeat(300_000),
  'dir/removed.txt': 'gone in v2',
  'dir/old-name.txt': 'renamed in v2',
  'tool.sh': { content: '#!/bin/sh\n', mode: 0o100644 },
  'link': { symlink: 'same.txt' },
  'empty.txt': '',
};
const v2: Record<string, Entry> = {
  'changed.txt': 'two',
  'same.txt': 'unchanged text',
  'big.bin': 'x'.repeat(300_000),
  'dir/new-name.txt': 'renamed in v2',
  'added/new.txt': 'added in v2',
  'tool.sh': { content: '#!/bin/sh\n', mode: 0o100755 },
  'link': { symlink: 'changed.txt' },
  'empty.txt': '',
};

/** Writes a zip of `files`, every entry dated `mtime`. */
async function writeZip(path: string, files: Record<string, Entry>, mtime: Date): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const [name, entry] of Object.entries(files)) {
    if (typeof entry === 'string') zip.addBuffer(Buffer.from(entry), name, { mtime, mode: 0o100644 });
    else if ('symlink' in entry) zip.addBuffer(Buffer.from(entry.symlink), name, { mtime, mode: 0o120777, compress: false });
    else zip.addBuffer(Buffer.from(entry.content), name, { mtime, mode: entry.mode });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  writeFileSync(path, Buffer.concat(chunks));
}

/** Every path under `dir`: type, mode, time (unless `noTimes`), content or link target. */
function fullSnapshot(dir: string, noTimes = false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const st = lstatSync(join(dir, rel));
    const time = noTimes || st.isDirectory() ? '' : ` @${Math.floor(st.mtimeMs / 1000)}`;
    if (st.isSymbolicLink()) out[rel] = `link -> ${readlinkSync(join(dir, rel))}`;
    else if (st.isDirectory()) out[rel] = `dir ${(st.mode & 0o7777).toString(8)}`;
    else out[rel] = `file ${(st.mode & 0o7777).toString(8)}${time} ${readFileSync(join(dir, rel), 'utf8').slice(0, 40)}`;
  }
  return out;
}

/** The current release's build figures, as `status --json` shows them. */
async function reuseOf(layout: Layout, remote: string): Promise<{ filesReused?: string; bytesReused?: string }> {
  const s = (await layout.status(remote)) as { current?: { detail?: Record<string, string> } };
  return { filesReused: s.current?.detail?.filesReused, bytesReused: s.current?.detail?.bytesReused };
}

const t1 = new Date('2024-01-02T03:04:06Z');
const t2 = new Date('2024-05-06T07:08:10Z');
// Cloned in v2: same.txt and big.bin (changed, moved, re-moded, empty and link entries are written).
const reusedBytes = String('unchanged text'.length + 300_000);

/** Deploys v1 then v2 of a local zip into a new layout; returns it after v1 (and `between` ran). */
async function deployTwice(config: string, between: (layout: Layout, first: string) => void = () => {}) {
  const layout = makeLayout();
  writeFileSync(layout.config, config);
  const remote = join(layout.root, 'app.zip');
  await writeZip(remote, v1, t1);
  assert.equal((await layout.fetch(remote)).code, 0);
  const first = layout.currentId()!;
  between(layout, first);
  await writeZip(remote, v2, t2);
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(layout.currentId(), first);
  return { layout, remote, first, second: layout.currentId()! };
}

/** v2 written whole into a fresh layout: what every path must equal. */
async function fullDeployOfV2(): Promise<Record<string, string>> {
  const layout = makeLayout();
  const remote = join(layout.root, 'app.zip');
  await writeZip(remote, v2, t2);
  assert.equal((await layout.fetch(remote)).code, 0);
  return fullSnapshot(layout.link + '/');
}

test('zip: unchanged files are cloned, not linked; the release equals a full deploy (tree, modes, times, links)', async () => {
  const expected = await fullDeployOfV2();
  const { layout, remote, first, second } = await deployTwice('');
  assert.deepEqual(fullSnapshot(layout.link + '/'), expected);
  assert.deepEqual(await reuseOf(layout, remote), { filesReused: '2/7', bytesReused: reusedBytes });
  const text = await runCli(['status', ...layout.args(remote)], { cwd: layout.root });
  assert.match(text.stdout, /^built +2 of 7 files reused from the release before \(0\.3 MiB not written again\)$/m);
  const old = lstatSync(join(layout.releasesDir, first, 'big.bin'));
  const now = lstatSync(join(layout.releasesDir, second, 'big.bin'));
  assert.notEqual(now.ino, old.ino, 'a copy, not a hard link: releases stay independent');
  assert.equal(now.nlink, 1);
  assert.equal(old.mtimeMs, t1.getTime(), 'the previous release keeps its own times');
});

test('zip: a file edited in place in the current release is written from the archive', async () => {
  const expected = await fullDeployOfV2();
  const { layout, remote } = await deployTwice('', (l, first) => {
    const path = join(l.releasesDir, first, 'same.txt');
    const before = lstatSync(path);
    // Same length, and the time put back: only the change time tells.
    writeFileSync(path, 'TAMPERED text!');
    utimesSync(path, before.atime, before.mtime);
  });
  assert.equal(readFileSync(join(layout.link, 'same.txt'), 'utf8'), 'unchanged text');
  assert.deepEqual(fullSnapshot(layout.link + '/'), expected);
  assert.deepEqual(await reuseOf(layout, remote), { filesReused: '1/7', bytesReused: '300000' });
});

test('zip: with owner, the files are recorded after the chown (which moves every ctime), so they are reused', async () => {
  // Giving the files to the user the agent runs as still runs chown, and chown moves ctimes.
  const owner = `${process.getuid!()}:${process.getgid!()}`;
  const expected = await fullDeployOfV2();
  const { layout, remote } = await deployTwice(`owner = ${owner}\n`);
  assert.deepEqual(fullSnapshot(layout.link + '/'), expected);
  assert.deepEqual(await reuseOf(layout, remote), { filesReused: '2/7', bytesReused: reusedBytes });
});

test('zip: every unchanged file of a release of 3,000 is recorded and reused (none lost to the publish)', async () => {
  const many = (changed: string): Record<string, Entry> => {
    const files: Record<string, Entry> = { 'changed.txt': changed };
    for (let i = 0; i < 2999; i++) files[`d${i % 30}/f${i}.txt`] = `file ${i}`;
    return files;
  };
  const layout = makeLayout();
  const remote = join(layout.root, 'app.zip');
  await writeZip(remote, many('one'), t1);
  assert.equal((await layout.fetch(remote)).code, 0);
  await writeZip(remote, many('two'), t2);
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await reuseOf(layout, remote)).filesReused, '2999/3000');
});

test('zip: reuse-files = false writes every file', async () => {
  const expected = await fullDeployOfV2();
  const { layout, remote } = await deployTwice('reuse-files = false\n');
  assert.deepEqual(fullSnapshot(layout.link + '/'), expected);
  assert.deepEqual(await reuseOf(layout, remote), { filesReused: '0/7', bytesReused: '0' });
});

test('zip: a current release without a manifest (an older agent made it) is written whole', async () => {
  const expected = await fullDeployOfV2();
  const { layout, remote } = await deployTwice('', (l, first) => rmSync(join(l.releasesDir, `.${first}.files`)));
  assert.deepEqual(fullSnapshot(layout.link + '/'), expected);
  assert.deepEqual(await reuseOf(layout, remote), { filesReused: '0/7', bytesReused: '0' });
});

test('zip: reuse-hardlinks = true links unchanged files whose time is the same', async () => {
  const layout = makeLayout();
  writeFileSync(layout.config, 'reuse-hardlinks = true\n');
  const remote = join(layout.root, 'app.zip');
  await writeZip(remote, v1, t1);
  assert.equal((await layout.fetch(remote)).code, 0);
  const first = layout.currentId()!;
  await writeZip(remote, { ...v1, 'changed.txt': 'two' }, t1);
  assert.equal((await layout.fetch(remote)).code, 0);
  const second = layout.currentId()!;
  assert.equal(lstatSync(join(layout.releasesDir, second, 'big.bin')).ino, lstatSync(join(layout.releasesDir, first, 'big.bin')).ino);
  assert.equal(readFileSync(join(layout.link, 'changed.txt'), 'utf8'), 'two');
  assert.equal(readFileSync(join(layout.releasesDir, first, 'changed.txt'), 'utf8'), 'one');
  assert.equal((await reuseOf(layout, remote)).filesReused, '5/7');
});

test('zip over HTTP: unchanged files are cloned and the release equals a full deploy', async () => {
  const expected = await fullDeployOfV2();
  const layout = makeLayout();
  const file = join(layout.root, 'served.zip');
  const server = await startHttpServer();
  const remote = `${server.origin}/app.zip`;
  try {
    await writeZip(file, v1, t1);
    server.put('/app.zip', { body: readFileSync(file) });
    assert.equal((await layout.fetch(remote)).code, 0);
    await writeZip(file, v2, t2);
    server.put('/app.zip', { body: readFileSync(file) });
    const r = await layout.fetch(remote);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fullSnapshot(layout.link + '/'), expected);
    assert.deepEqual(await reuseOf(layout, remote), { filesReused: '2/7', bytesReused: reusedBytes });
  } finally {
    await server.close();
  }
});

test('zip over HTTP: no file of a delta-rebuilt archive is written before the archive is verified', async () => {
  const config = 'verify-sha256 = true\n';
  const expected = await fullDeployOfV2();
  const layout = makeLayout();
  writeFileSync(layout.config, config);
  const file = join(layout.root, 'served.zip');
  const server = await startHttpServer();
  const remote = `${server.origin}/app.zip`;
  // The digest answers 400 ms late: verification (which reads it after hashing the rebuilt
  // archive) ends at least that long after the archive's bytes were in place. (Where the cache
  // has reflinks, unchanged files are cloned meanwhile: test/remotes/delta-early.test.ts.)
  const serve = async (files: Record<string, Entry>, mtime: Date) => {
    await writeZip(file, files, mtime);
    const body = readFileSync(file);
    server.put('/app.zip', { body, ranges: true });
    server.put('/app.zip.sha256', { body: Buffer.from(`${createHash('sha256').update(body).digest('hex')}  app.zip\n`), delayMs: 400 });
  };
  try {
    await serve(v1, t1);
    assert.equal((await layout.fetch(remote)).code, 0);
    await serve(v2, t2);
    server.resetCounters();
    const r = await layout.fetch(remote);
    assert.equal(r.code, 0, r.stderr);
    const status = (await layout.status(remote)) as { current?: { detail?: Record<string, string> } };
    assert.match(status.current?.detail?.download ?? '', /^delta: /);
    assert.equal(status.current?.detail?.verified, 'sha256');
    const verified = server.log().filter((seen) => seen.path === '/app.zip.sha256').at(-1)?.answeredAt;
    assert.ok(verified, 'the digest was not read');
    const born = (path: string) => {
      const { birthtimeMs } = lstatSync(join(layout.link, path));
      assert.ok(birthtimeMs > 0, 'this filesystem does not record birth times');
      return birthtimeMs;
    };
    for (const written of ['changed.txt', 'added/new.txt', 'dir/new-name.txt']) // Birth times come from the kernel's coarse clock, up to a tick (10 ms) behind Date.now().
    assert.ok(born(written) >= verified - 20, `${written} (the archive's content) was written ${verified - born(written)} ms before verification`);
    assert.deepEqual(fullSnapshot(layout.link + '/'), expected);
    assert.deepEqual(await reuseOf(layout, remote), { filesReused: '2/7', bytesReused: reusedBytes });
  } finally {
    await server.close();
  }
});

test('zip over HTTP: a rebuilt archive that fails verification is downloaded whole; the release equals a full deploy, unchanged files still cloned', async () => {
  const expected = await fullDeployOfV2();
  const layout = makeLayout();
  writeFileSync(layout.config, 'verify-sha256 = true\n');
  const file = join(layout.root, 'served.zip');
  const server = await startHttpServer();
  const remote = `${server.origin}/app.zip`;
  const digest = (body: Buffer) => server.put('/app.zip.sha256', { body: Buffer.from(`${createHash('sha256').update(body).digest('hex')}  app.zip\n`) });
  try {
    await writeZip(file, v1, t1);
    server.put('/app.zip', { body: readFileSync(file), ranges: true });
    digest(readFileSync(file));
    assert.equal((await layout.fetch(remote)).code, 0);
    await writeZip(file, v2, t2);
    const body = readFileSync(file);
    // Ranges cut from other bytes: a changed entry's local header has another DOS time, which
    // no CRC covers; only the digest over the whole rebuilt archive shows it.
    const lying = Buffer.from(body);
    lying[lying.indexOf(Buffer.from('changed.txt')) - 20]! ^= 0x01;
    server.put('/app.zip', { body, ranges: true, rangeBody: lying });
    digest(body);
    const r = await layout.fetch(remote);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /rebuilt archive failed verification/);
    const status = (await layout.status(remote)) as { current?: { detail?: Record<string, string> } };
    assert.match(status.current?.detail?.download ?? '', /^full: /);
    assert.deepEqual(fullSnapshot(layout.link + '/'), expected);
    assert.deepEqual(await reuseOf(layout, remote), { filesReused: '2/7', bytesReused: reusedBytes });
  } finally {
    await server.close();
  }
});

test('git: unchanged blobs are cloned; changed, added, removed, renamed, re-moded files and a changed link are right', async () => {
  const layout = makeLayout();
  const repo = TestRepo.create({ baseDir: join(layout.root, 'git') });
  const remote = repo.url;
  const files = (set: Record<string, Entry>) =>
    Object.fromEntries(Object.entries(set).map(([k, e]) => [k, typeof e === 'string' ? e : 'symlink' in e ? e : { content: e.content, mode: e.mode & 0o777 }]));
  repo.commit('v1', files(v1));
  assert.equal((await layout.fetch(remote)).code, 0);
  const first = layout.currentId()!;
  // Edited in place since it was published: must not reach the next release.
  writeFileSync(join(layout.releasesDir, first, 'same.txt'), 'TAMPERED');
  repo.remove('dir/removed.txt', 'dir/old-name.txt', 'link');
  repo.commit('v2', files(v2));
  const r = await runCli([...layout.args(remote), '-f'], { cwd: layout.root });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(fullSnapshot(layout.link + '/', true), withoutGit(fullSnapshot(repo.work + '/', true)));
  // Written: same.txt (edited in place), changed, renamed, added, re-moded files; the link.
  assert.deepEqual(await reuseOf(layout, remote), { filesReused: '1/8', bytesReused: '300000' });
  assert.notEqual(lstatSync(join(layout.link, 'big.bin')).ino, lstatSync(join(layout.releasesDir, first, 'big.bin')).ino);
});

function withoutGit(snapshot: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(snapshot).filter(([k]) => k !== '.git' && !k.startsWith('.git/')));
}
