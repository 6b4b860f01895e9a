// Daemon mode: fetches, and the download of a changed body, run in a child process that exits
// (issue 8: the daemon's idle RSS). Same results and errors as in-process, the child's logs
// through the parent's logger, and no child left behind however it ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { RemoteError, VerificationError } from '../../src/errors.js';
import { createLogger, type Logger } from '../../src/log.js';
import { openRemote, parseRemote } from '../../src/remotes/index.js';
import { withFetchInChild } from '../../src/remotes/isolated.js';
import type { Remote, RemoteContext } from '../../src/remotes/types.js';
import { alive } from '../support/cli.js';
import { startHttpServer } from '../support/http-server.js';
import { snapshot, testdir } from '../support/tmp.js';
import { makeZip, type ZipEntry } from '../support/zip.js';
import { makeTestRemote, testRemoteConfig } from './conformance.js';
import { TestRepo, git } from '../support/git-repos.js';

/** A debug logger bound to an app, and the JSON lines it wrote. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ verbose: true, destination: sink }).child({ app: 'web' }), lines };
}

function isolatedRemote(url: string): Remote {
  return withFetchInChild(makeTestRemote(url), parseRemote(url, testRemoteConfig()));
}

function daemonContext(logger?: Logger, signal?: AbortSignal): RemoteContext {
  return { cacheDir: testdir(), logger: logger ?? capturingLogger().logger, ...(signal ? { signal } : {}) };
}

function emptyDir(): string {
  const dir = join(testdir(), 'release');
  mkdirSync(dir);
  return dir;
}

/** Pids of the remote-job children of `parent` (not tsx's esbuild service, also a child). */
function jobPids(parent = process.pid): number[] {
  const children = readdirSync(`/proc/${parent}/task`).flatMap((t) =>
    readFileSync(`/proc/${parent}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
  return children.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('child-main');
    } catch {
      return false; // exited meanwhile
    }
  });
}

const entries: ZipEntry[] = [
  { name: 'bin/run', content: '#!/bin/sh\necho hi\n', mode: 0o100755 },
  { name: 'conf/', directory: true, mode: 0o40750 },
  { name: 'conf/app.ini', content: 'a=1\n'.repeat(20_000) },
  { name: 'link', symlink: 'conf/app.ini' },
];

test('a fetch in a child writes what an in-process fetch writes; its logs come through our logger', async () => {
  const archive = join(testdir(), 'app.zip');
  writeFileSync(archive, await makeZip(entries));
  const here = emptyDir();
  const direct = makeTestRemote(archive);
  const version = (await direct.check({ cacheDir: testdir(), logger: capturingLogger().logger })).version;
  const expected = await direct.fetch(version, here, { cacheDir: testdir(), logger: capturingLogger().logger });

  const { logger, lines } = capturingLogger();
  const there = emptyDir();
  const result = await isolatedRemote(archive).fetch(version, there, daemonContext(logger));
  assert.deepEqual(result, expected);
  assert.deepEqual(snapshot(there), snapshot(here));
  const done = lines.find((l) => l.msg === 'fetched in a child process');
  assert.ok(done, `no 'fetched in a child process' line in ${JSON.stringify(lines)}`);
  assert.equal(typeof done.childPid, 'number');
  assert.notEqual(done.childPid, process.pid);
  assert.equal(alive(done.childPid as number), false, 'the child has exited');
  assert.ok((done.childPeakRssMiB as number) > 10, `the child reports its own peak RSS (${String(done.childPeakRssMiB)} MiB)`);
});

test('a changed HTTP body is downloaded by a child: its log lines carry our pid and bindings', async () => {
  const server = await startHttpServer();
  try {
    server.put('/app.zip', { body: await makeZip(entries) });
    const url = `${server.origin}/app.zip`;
    const { logger, lines } = capturingLogger();
    const ctx = daemonContext(logger);
    const remote = isolatedRemote(url);
    const seen = await remote.check(ctx);
    // Ours, whose body we dropped, and the child's, which downloaded it.
    assert.deepEqual(server.requests().count, 2);
    const downloaded = lines.find((l) => l.msg === 'http remote downloaded');
    assert.ok(downloaded, `the child's debug line was not relayed: ${JSON.stringify(lines)}`);
    assert.equal(downloaded.pid, process.pid);
    assert.equal(downloaded.app, 'web');
    assert.equal(downloaded.level, 'debug');
    assert.equal(downloaded.version, seen.version);
    // The same observation an in-process check makes, sha256 of the body included.
    const direct = await makeTestRemote(url).check({ cacheDir: testdir(), logger: capturingLogger().logger });
    assert.deepEqual(seen, direct);
    // What the child left in the cache serves the fetch: no further request.
    server.resetCounters();
    const into = emptyDir();
    await remote.fetch(seen.version, into, ctx);
    assert.equal(server.requests().count, 0);
    assert.equal(readFileSync(join(into, 'bin/run'), 'utf8'), '#!/bin/sh\necho hi\n');
  } finally {
    await server.close();
  }
});

test('errors keep their class and message across the process boundary', async () => {
  const server = await startHttpServer();
  try {
    // A hostile archive: refused in the child, a VerificationError here.
    server.put('/evil.zip', { body: await makeZip([{ name: '../escape.txt', content: 'out' }]) });
    const evil = `${server.origin}/evil.zip`;
    const direct = makeTestRemote(evil);
    const directCtx = { cacheDir: testdir(), logger: capturingLogger().logger };
    const version = (await direct.check(directCtx)).version;
    const expected = await direct.fetch(version, emptyDir(), directCtx).catch((e: unknown) => e);
    assert.ok(expected instanceof VerificationError);
    const dest = emptyDir();
    const ctx = daemonContext();
    const refused = await isolatedRemote(evil).fetch(version, dest, ctx).catch((e: unknown) => e);
    assert.ok(refused instanceof VerificationError, `got ${String(refused)}`);
    assert.equal(refused.message.replace(ctx.cacheDir, '<cache>'), expected.message.replace(directCtx.cacheDir, '<cache>'));
    assert.match(refused.message, /refusing zip .*: entry "\.\.\/escape\.txt" has a "\.\." segment/);
    assert.deepEqual(readdirSync(dest), []);

    // A remote error raised in the child: the same message, naming the URL once, and its url.
    const missing = `${server.origin}/gone.zip`;
    const failed = await isolatedRemote(missing).fetch('etag:"x"', emptyDir(), daemonContext()).catch((e: unknown) => e);
    assert.ok(failed instanceof RemoteError, `got ${String(failed)}`);
    assert.equal(failed.url, missing);
    assert.match(failed.message, /^HTTP 404 Not Found from .*gone\.zip: check the URL \(remote http:\/\/127\.0\.0\.1:\d+\/gone\.zip\)$/);
  } finally {
    await server.close();
  }
});

// Made here, not inside a test: a directory made by a test is removed when that test ends.
const slowDir = testdir();
let slow: Promise<string> | undefined;
/** A zip of many small files and a few large ones: long enough to be caught mid-way. */
function slowArchive(): Promise<string> {
  slow ??= (async () => {
    const many: ZipEntry[] = [];
    for (let i = 0; i < 4; i++) many.push({ name: `big/${i}.bin`, content: randomBytes(8 * 1024 * 1024) });
    for (let i = 0; i < 4000; i++) many.push({ name: `f/${i}.txt`, content: `file ${i}\n`.repeat(40) });
    const archive = join(slowDir, 'slow.zip');
    writeFileSync(archive, await makeZip(many));
    return archive;
  })();
  return slow;
}

/** The local zip remote's version of `archive` (its sha256), checked in-process. */
async function versionOf(archive: string): Promise<string> {
  return (await makeTestRemote(archive).check({ cacheDir: testdir(), logger: capturingLogger().logger })).version;
}

/** Resolves once the child has begun writing into `dest` (directories come first). */
async function untilWriting(dest: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!existsSync(join(dest, 'f'))) {
    if (Date.now() > deadline) throw new Error(`nothing written into ${dest} within 30 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('abort stops the child and rejects with the reason once it has exited', async () => {
  const archive = await slowArchive();
  const version = await versionOf(archive);
  const reason = new Error('stop now');
  const before = new AbortController();
  before.abort(reason);
  await assert.rejects(isolatedRemote(archive).fetch(version, emptyDir(), daemonContext(undefined, before.signal)), (e) => e === reason);
  assert.deepEqual(jobPids(), [], 'no child started for an aborted signal');

  const dest = emptyDir();
  const during = new AbortController();
  const pending = isolatedRemote(archive).fetch(version, dest, daemonContext(undefined, during.signal));
  await untilWriting(dest);
  const [pid] = jobPids();
  assert.ok(pid !== undefined);
  during.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  assert.equal(alive(pid), false, 'the child is gone when the promise settles');
  assert.ok(readdirSync(join(dest, 'f')).length < 4000, 'stopped before the end');
});

test('a child killed from outside is an error that says so', async () => {
  const archive = await slowArchive();
  const version = await versionOf(archive);
  const dest = emptyDir();
  const pending = isolatedRemote(archive).fetch(version, dest, daemonContext());
  await untilWriting(dest);
  const [pid] = jobPids();
  assert.ok(pid !== undefined);
  process.kill(pid, 'SIGKILL');
  const error = await pending.catch((e: unknown) => e);
  assert.ok(error instanceof Error && !(error instanceof VerificationError) && !(error instanceof RemoteError), `got ${String(error)}`);
  assert.match(error.message, /^error in fetch of .*slow\.zip: its process was killed by SIGKILL \(out of memory\?\) before it answered$/);
});

test('a child whose parent is killed stops writing and exits', async () => {
  const archive = await slowArchive();
  const version = await versionOf(archive);
  const dest = emptyDir();
  // A parent of its own (the agent), run from source like this test.
  const module = (path: string) => JSON.stringify(pathToFileURL(join(import.meta.dirname, path)).href);
  const script = `const { withFetchInChild } = await import(${module('../../src/remotes/isolated.ts')});
    const { createRemote, parseRemote } = await import(${module('../../src/remotes/index.ts')});
    const { silentLogger } = await import(${module('../../src/log.ts')});
    const config = ${JSON.stringify(testRemoteConfig())};
    const remote = withFetchInChild(createRemote(${JSON.stringify(archive)}, config), parseRemote(${JSON.stringify(archive)}, config));
    await remote.fetch(${JSON.stringify(version)}, ${JSON.stringify(dest)}, { cacheDir: ${JSON.stringify(testdir())}, logger: silentLogger() });`;
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
  const exited = new Promise((resolve) => parent.once('exit', resolve));
  try {
    await untilWriting(dest);
    const [child] = jobPids(parent.pid);
    assert.ok(child !== undefined, 'the parent forked a child');
    parent.kill('SIGKILL');
    await exited;
    const deadline = Date.now() + 10_000;
    while (alive(child) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(alive(child), false, 'the orphaned child exited');
    const count = () => readdirSync(join(dest, 'f')).length;
    const settled = count();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(count(), settled, 'nothing written after it exited');
    assert.ok(settled < 4000, `stopped before the end (${settled} of 4000 small files)`);
  } finally {
    parent.kill('SIGKILL');
  }
});

test('a server that ignores conditional requests costs no child and no download when nothing changed', async () => {
  const body = await makeZip(entries);
  let requests = 0;
  // Always 200 with the full body, whatever If-None-Match says.
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { etag: '"same"', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/app.zip`;
    const { logger, lines } = capturingLogger();
    const ctx = daemonContext(logger);
    const remote = isolatedRemote(url);
    const first = await remote.check(ctx);
    assert.equal(lines.filter((l) => l.msg === 'http remote downloaded').length, 1);
    requests = 0;
    const again = await remote.check(ctx);
    assert.deepEqual(again, first);
    assert.equal(requests, 1, 'one request, its body dropped');
    assert.equal(lines.filter((l) => l.msg === 'http remote downloaded').length, 1, 'no child downloaded it again');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('git: a fetch in a child takes what contentIdOf resolved here, and does not check the mirror again', async () => {
  const repo = TestRepo.create();
  repo.commit('first', { 'web/index.html': 'v1' });
  const spec = parseRemote(`${repo.url}/web`, testRemoteConfig());
  /** contentIdOf by one remote, the mirror made to name another origin, then a fetch in a child by `fetcher`. */
  const run = async (sameRemote: boolean) => {
    const { logger, lines } = capturingLogger();
    const ctx = daemonContext(logger);
    const remote = withFetchInChild(openRemote(spec), spec);
    const seen = await remote.check(ctx);
    const contentId = await remote.contentIdOf!(seen.version, ctx);
    // A mirror check would now rebuild the mirror, and say so; a resolution taken from here skips it.
    git(ctx.cacheDir, '--git-dir=mirror.git', 'config', 'remote.origin.url', pathToFileURL(join(testdir(), 'elsewhere.git')).href);
    const fetcher = sameRemote ? remote : withFetchInChild(openRemote(spec), spec);
    const into = emptyDir();
    const result = await fetcher.fetch(seen.version, into, ctx);
    assert.equal(result.contentId, contentId);
    assert.equal(snapshot(into)['index.html'], 'file 644 v1');
    assert.ok(lines.some((l) => l.msg === 'fetched in a child process'));
    return lines.some((l) => /git mirror unusable/.test(String(l.msg)));
  };
  assert.equal(await run(true), false, 'the child checked the mirror again');
  assert.equal(await run(false), true, 'a remote that resolved nothing must check the mirror (the test would prove nothing)');
});
