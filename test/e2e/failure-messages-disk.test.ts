import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLayout, readTree, type Layout } from '../support/cli.js';
import { startHttpServer } from '../support/http-server.js';
import { entriesOf, makeZip, writeZip } from '../support/zip.js';

// End-to-end: a full or read-only disk under the deploy directory or the cache. Small tmpfs
// mounts (the tests run as root) play the disk; messages must name the path and say what to
// do, nothing half-written may stay behind, and `current` must not move.

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Mounts a tmpfs of `size` at `dir`; `mounted` unmounts them all (in a `finally`). */
function mountTmpfs(mounted: string[], dir: string, size = '2m'): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounted.push(dir);
}

function unmountAll(mounted: string[]): void {
  for (const dir of mounted.reverse()) execFileSync('umount', ['-l', dir]);
}

/** Fills the filesystem holding `dir` to the last byte. */
function fill(dir: string): void {
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) appendFileSync(join(dir, 'filler'), chunk);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  }
}

/** A zip of about 3 MB that does not compress: more than a 2 MB tmpfs holds. */
async function bigZip(): Promise<Buffer> {
  return makeZip([{ name: 'v.txt', content: 'big' }, { name: 'blob.bin', content: randomBytes(3_000_000) }], { compress: false });
}

/** Temp files of the state, staging directories and partial downloads anywhere under `dir`. */
function temporaries(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map(String).filter((p) => /state\.json\.tmp-|\.staging-|\.part-|incoming\.zip|\.current\.tmp-/.test(p));
}

/** The one `repo-deploy: …` line of a run's standard error. */
function messageOf(stderr: string): string {
  return stderr.split('\n').find((l) => l.startsWith('repo-deploy: '))!;
}

/** v1 from a local zip at `<root>/app.zip`. */
async function deployV1(layout: Layout): Promise<{ remote: string; first: string }> {
  const remote = join(layout.root, 'app.zip');
  await writeZip(remote, entriesOf({ 'v.txt': 'v1' }));
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  return { remote, first: layout.currentId()! };
}

function assertV1(layout: Layout, first: string): void {
  assert.equal(layout.currentId(), first);
  assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
  assert.deepEqual(layout.releases(), [first]);
}

test('deploy directory on a full disk: names it, leaves no temporary files, current stays', async () => {
  const layout = makeLayout();
  const mounted: string[] = [];
  try {
    mountTmpfs(mounted, layout.deployDir);
    const { remote, first } = await deployV1(layout);

    // A release bigger than the disk.
    writeFileSync(remote, await bigZip());
    let r = await layout.fetch(remote);
    assert.equal(r.code, 1, r.stderr);
    assert.match(messageOf(r.stderr), new RegExp(`cannot write ${escape(layout.releasesDir)}: the disk holding it is full \\(ENOSPC\\); free space there`));
    assert.doesNotMatch(r.stderr, /ENOSPC: no space left on device/);
    assertV1(layout, first);
    assert.deepEqual(temporaries(layout.deployDir), []);

    // The disk filled up by something else: even the state cannot be written. A temp file of
    // the state left by an earlier run goes too.
    const stateDir = join(layout.deployDir, '.repo-deploy');
    writeFileSync(join(stateDir, 'state.json.tmp-1-abcdef'), '{');
    await writeZip(remote, entriesOf({ 'v.txt': 'v2' }));
    fill(layout.deployDir);
    r = await layout.fetch(remote);
    assert.equal(r.code, 1, r.stderr);
    assert.match(messageOf(r.stderr), new RegExp(`cannot write ${escape(join(stateDir, 'state.json'))}: the disk holding it is full \\(ENOSPC\\)`));
    assertV1(layout, first);
    assert.deepEqual(temporaries(layout.deployDir).filter((p) => p.includes('state.json')), []);

    // Space freed: the next run cleans up whatever the failed one could not, and deploys.
    rmSync(join(layout.deployDir, 'filler'));
    r = await layout.fetch(remote);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(layout.link), { 'v.txt': 'v2' });
    assert.deepEqual(temporaries(layout.deployDir), []);
  } finally {
    unmountAll(mounted);
  }
});

test('cache on a full disk (HTTP download): names the cache, no partial download stays', async () => {
  const layout = makeLayout();
  const server = await startHttpServer();
  const mounted: string[] = [];
  try {
    mountTmpfs(mounted, layout.cache);
    const url = `${server.origin}/app.zip`;
    server.put('/app.zip', { body: await makeZip(entriesOf({ 'v.txt': 'v1' })) });
    assert.equal((await layout.fetch(url)).code, 0);
    const first = layout.currentId()!;

    server.put('/app.zip', { body: await bigZip() });
    const r = await layout.fetch(url);
    assert.equal(r.code, 1, r.stderr);
    assert.match(messageOf(r.stderr), new RegExp(`cannot write ${escape(join(layout.cache, 'http'))}/[0-9a-f]+: the disk holding it is full \\(ENOSPC\\); free space there`));
    assertV1(layout, first);
    assert.deepEqual(temporaries(layout.cache), []);
    assert.deepEqual(temporaries(layout.deployDir), []);
  } finally {
    unmountAll(mounted);
    await server.close();
  }
});

test('a read-only deploy directory or cache: names the path and says it is read-only', async () => {
  const layout = makeLayout();
  const mounted: string[] = [];
  try {
    mountTmpfs(mounted, layout.deployDir);
    const { remote, first } = await deployV1(layout);
    await writeZip(remote, entriesOf({ 'v.txt': 'v2' }));

    execFileSync('mount', ['-o', 'remount,ro', layout.deployDir]);
    let r = await layout.fetch(remote);
    assert.equal(r.code, 1, r.stderr);
    assert.match(messageOf(r.stderr), new RegExp(`cannot write ${escape(layout.deployDir)}/\\S+: its filesystem is mounted read-only \\(EROFS\\); remount it read-write`));
    assert.doesNotMatch(r.stderr, /EROFS: read-only file system/);
    assertV1(layout, first);
    execFileSync('mount', ['-o', 'remount,rw', layout.deployDir]);

    // A cache on a read-only mount, before its first use.
    const cache = join(layout.root, 'ro-cache');
    mountTmpfs(mounted, cache);
    execFileSync('mount', ['-o', 'remount,ro', cache]);
    r = await layout.fetch(remote, ['--cache', cache]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(messageOf(r.stderr), new RegExp(`cannot write ${escape(cache)}/\\S+: its filesystem is mounted read-only \\(EROFS\\)`));
    assert.doesNotMatch(r.stderr, /ENOENT/);
    assertV1(layout, first);
  } finally {
    unmountAll(mounted);
  }
});

test('cache on a full disk during a delta download: names the rebuilt archive, suggests df on what is still there, leaves nothing', async () => {
  const layout = makeLayout();
  const server = await startHttpServer();
  const mounted: string[] = [];
  try {
    // Room for one 3 MB archive in the cache, not for its rebuilt successor.
    mountTmpfs(mounted, layout.cache, '4m');
    const url = `${server.origin}/app.zip`;
    const blob = randomBytes(3_000_000);
    const version = async (v: string) => makeZip([{ name: 'blob.bin', content: blob }, { name: 'v.txt', content: v }], { compress: false });
    server.put('/app.zip', { body: await version('v1'), ranges: true });
    assert.equal((await layout.fetch(url)).code, 0);
    const first = layout.currentId()!;

    server.put('/app.zip', { body: await version('v2'), ranges: true });
    const r = await layout.fetch(url);
    assert.equal(r.code, 1, r.stderr);
    const message = messageOf(r.stderr);
    assert.match(message, new RegExp(`cannot write ${escape(join(layout.cache, 'http'))}/[0-9a-f]+/delta\\.zip\\.part-\\d+: the disk holding it is full \\(ENOSPC\\)`));
    // The command the message suggests works: it names something that is still there.
    const df = /`df ([^`]+)`/.exec(message)?.[1];
    assert.ok(df && existsSync(df), `the message suggests df on ${df}, which is gone`);
    assert.equal(layout.currentId(), first);
    assert.equal(readTree(layout.link)['v.txt'], 'v1');
    assert.deepEqual(temporaries(layout.cache), []);
  } finally {
    unmountAll(mounted);
    await server.close();
  }
});
