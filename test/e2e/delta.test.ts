import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { constants, copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLayout, runCli, spawnCli } from '../support/cli.js';
import { startHttpServer, type ServedObject, type TestHttpServer } from '../support/http-server.js';
import { s3rverKeys, startS3rver } from '../support/s3rver.js';
import { baseTree, changed, changes, describeTree, zipOfTree } from '../remotes/delta-fixtures.js';

// End-to-end: delta downloads of zip remotes through the built CLI. Each update is judged by
// what is deployed (the whole tree, modes and mtimes included, against a full deploy of the
// same archive), by what the server sent, and by what `status` says of the release.

let published = 0;
function publish(server: TestHttpServer, body: Buffer, served: Omit<ServedObject, 'body'>): void {
  server.put('/app.zip', { ...served, body, modified: new Date(Date.UTC(2024, 0, 1) + ++published * 1000) });
}

/** The `detail.download` of the current release, from `status --json`. */
async function downloadOf(layout: ReturnType<typeof makeLayout>, remote: string): Promise<string | undefined> {
  const status = (await layout.status(remote)) as { current?: { detail?: Record<string, string> } };
  return status.current?.detail?.download;
}

/** A full deploy of what `remote` serves now, by a fresh layout (no cache). */
async function fullDeploy(remote: string): Promise<Record<string, string>> {
  const fresh = makeLayout();
  const r = await fresh.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.match((await downloadOf(fresh, remote)) ?? '', /^full: /);
  return describeTree(fresh.link);
}

for (const [ranges, expected] of [[true, /^delta: \d+ of \d+ bytes in \d+ requests?$/], [false, /^full: \d+ of \d+ bytes$/]] as const) {
  test(`cli, http ${ranges ? 'with' : 'without'} Range support: an update deploys what a full deploy deploys, ${ranges ? 'by delta' : 'downloaded whole'}`, async (t) => {
    const server = await startHttpServer();
    t.after(() => server.close());
    const remote = `${server.origin}/app.zip`;
    const layout = makeLayout();
    publish(server, await zipOfTree(baseTree()), { ranges });
    assert.equal((await layout.fetch(remote)).code, 0);
    const first = layout.currentId();
    for (const [name, change] of changes.slice(0, 2)) {
      const next = await zipOfTree(changed(baseTree(), change));
      publish(server, next, { ranges });
      server.resetCounters();
      const r = await layout.fetch(remote);
      assert.equal(r.code, 0, r.stderr);
      assert.notEqual(layout.currentId(), first, `${name}: no new release`);
      const sent = server.requests().bodyBytes;
      if (ranges) assert.ok(sent < next.length / 3, `${name}: the server sent ${sent} of ${next.length} bytes`);
      else assert.ok(sent >= next.length, `${name}: the server sent ${sent} of ${next.length} bytes`);
      assert.match((await downloadOf(layout, remote)) ?? '', expected);
      const shown = await runCli(['status', ...layout.args(remote)], { cwd: layout.root });
      assert.match(shown.stdout, ranges ? /downloaded delta: \d+ of \d+ bytes/ : /downloaded full: \d+ of \d+ bytes/);
      assert.deepEqual(describeTree(layout.link), await fullDeploy(remote), `${name}: the tree differs from a full deploy`);
    }
  });
}

test('cli, http: a rebuilt archive that fails sha256 verification is downloaded whole; the release is the served one', async (t) => {
  const server = await startHttpServer();
  t.after(() => server.close());
  const remote = `${server.origin}/app.zip`;
  const layout = makeLayout();
  const sidecar = (body: Buffer) => server.put('/app.zip.sha256', { body: Buffer.from(`${createHash('sha256').update(body).digest('hex')}  app.zip\n`) });
  const base = await zipOfTree(baseTree());
  publish(server, base, { ranges: true });
  sidecar(base);
  writeFileSync(layout.config, 'verify-sha256 = true\n');
  assert.equal((await layout.fetch(remote)).code, 0);
  const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
  // Ranges cut from other bytes: the changed entry's local header has another DOS time, which
  // no CRC covers; only the digest over the whole rebuilt archive shows it.
  const lying = Buffer.from(next);
  lying[lying.indexOf(Buffer.from('d1/f05.txt')) - 20]! ^= 0x01;
  publish(server, next, { ranges: true, rangeBody: lying });
  sidecar(next);
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.match((await downloadOf(layout, remote)) ?? '', /^full: /);
  assert.equal((await layout.status(remote) as { current?: { detail?: Record<string, string> } }).current?.detail?.verified, 'sha256');
  assert.deepEqual(describeTree(layout.link), await fullDeploy(remote));
});

/** An s3rver bucket `releases` with a config file per layout, and a deploy of `s3://releases/app.zip`. */
async function s3Setup(t: { after(fn: () => unknown): void }) {
  const server = await startS3rver(['releases']);
  t.after(() => server.close());
  const config = (dir: string) => {
    const file = join(dir, 's3.cfg');
    const lines = [`s3-endpoint = ${server.endpoint}`, `aws-access-key = ${s3rverKeys.accessKeyId}`, `aws-secret-key = ${s3rverKeys.secretAccessKey}`, 'aws-region = us-east-1'];
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };
  const remote = 's3://releases/app.zip';
  const deploy = (l: ReturnType<typeof makeLayout>, file: string) => runCli(['-c', file, '--cache', l.cache, '--pre-hooks', l.pre, '--post-hooks', l.post, remote, l.link, '-f'], { cwd: l.root });
  return { server, config, deploy };
}

test('cli, s3: an update of an object is fetched by ranged GetObjects and deploys what a full deploy deploys', async (t) => {
  const { server, config, deploy } = await s3Setup(t);
  const layout = makeLayout();
  await server.put('releases', 'app.zip', await zipOfTree(baseTree()));
  const cfg = config(layout.root);
  assert.equal((await deploy(layout, cfg)).code, 0);
  const next = await zipOfTree(changed(baseTree(), changes[3]![1]));
  await server.put('releases', 'app.zip', next);
  server.reset();
  const r = await deploy(layout, cfg);
  assert.equal(r.code, 0, r.stderr);
  const sent = server.seen.reduce((n, s) => n + s.bodyBytes, 0);
  assert.ok(sent < next.length / 3, `s3rver sent ${sent} of ${next.length} bytes`);
  assert.ok(server.seen.filter((s) => s.status === 206).length >= 2, 'ranged GetObjects answered 206');
  const fresh = makeLayout();
  assert.equal((await deploy(fresh, config(fresh.root))).code, 0);
  assert.deepEqual(describeTree(layout.link), describeTree(fresh.link));
  assert.equal(readFileSync(join(layout.link, 'moved/f08.txt'), 'utf8').length, 16 * 1024);
});

/** Whether `dir`'s filesystem makes reflinks (XFS, btrfs), which the rebuild prefers to taking the cached archive over. */
function reflinksWork(dir: string): boolean {
  const [from, to] = [join(dir, 'reflink-probe'), join(dir, 'reflink-probe.copy')];
  writeFileSync(from, 'probe');
  try {
    copyFileSync(from, to, constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(from, { force: true });
    rmSync(to, { force: true });
  }
}

/** The files of the HTTP remote's cache directory under `cache`, sorted. */
function cacheFiles(cache: string): string[] {
  const root = join(cache, 'http');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((dir) => readdirSync(join(root, dir))).sort();
}

/** A server with ranges publishing the base tree, and a layout that deployed it. */
async function deployedBase(t: { after(fn: () => unknown): void }) {
  const server = await startHttpServer();
  t.after(() => server.close());
  const remote = `${server.origin}/app.zip`;
  const layout = makeLayout();
  publish(server, await zipOfTree(baseTree()), { ranges: true });
  assert.equal((await layout.fetch(remote)).code, 0);
  return { server, remote, layout };
}

test('cli, http: an agent killed while it rebuilds the cached archive leaves the release alone, and the next run deploys the new version', async (t) => {
  const { server, remote, layout } = await deployedBase(t);
  const first = layout.currentId();
  const before = describeTree(layout.link);
  const next = await zipOfTree(changed(baseTree(), changes[0]![1]));
  // Slow answers hold the rebuild between its steps; it is killed once it has started.
  publish(server, next, { ranges: true, delayMs: 700 });
  const child = spawnCli([...layout.args(remote), '-f'], { cwd: layout.root });
  const exited = new Promise((resolve) => child.on('close', resolve));
  const deadline = Date.now() + 20_000;
  // Without reflinks (ext4, tmpfs) the cached archive is renamed to the rebuild's name: kill
  // after that; with reflinks it never is: kill once the rebuild has its file.
  const reflinks = reflinksWork(layout.cache);
  let sawPart = 0;
  let renamed = false;
  while (Date.now() < deadline) {
    const files = cacheFiles(layout.cache);
    if (files.some((f) => f.startsWith('delta.zip.part-'))) sawPart ||= Date.now();
    renamed = sawPart > 0 && !files.some((f) => f.startsWith('sha256-'));
    if (renamed || (reflinks && sawPart && Date.now() - sawPart > 1500)) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(sawPart, 'the rebuild never started');
  assert.ok(renamed || reflinks, 'without reflinks the rebuild should have taken the cached archive over before the kill');
  child.kill('SIGKILL');
  await exited;
  assert.equal(layout.currentId(), first, 'current moved though the run was killed');
  assert.deepEqual(describeTree(layout.link), before);
  publish(server, next, { ranges: true });
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.notEqual(layout.currentId(), first);
  assert.deepEqual(describeTree(layout.link), await fullDeploy(remote));
  assert.deepEqual(cacheFiles(layout.cache).filter((f) => !f.endsWith('.json')), [`sha256-${createHash('sha256').update(next).digest('hex')}.zip`], 'the killed rebuild left files behind');
});

test('cli, http: two apps with the same remote and cache update at once; one rebuilds the cached archive, both deploy the served version', async (t) => {
  const server = await startHttpServer();
  t.after(() => server.close());
  const remote = `${server.origin}/app.zip`;
  const [a, b] = [makeLayout(), makeLayout()];
  b.cache = a.cache;
  publish(server, await zipOfTree(baseTree()), { ranges: true });
  for (const layout of [a, b]) assert.equal((await layout.fetch(remote)).code, 0);
  const next = await zipOfTree(changed(baseTree(), changes[1]![1]));
  publish(server, next, { ranges: true, delayMs: 300 });
  const results = await Promise.all([a.fetch(remote), b.fetch(remote)]);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const full = await fullDeploy(remote);
  for (const layout of [a, b]) assert.deepEqual(describeTree(layout.link), full);
  const downloads = await Promise.all([a, b].map((layout) => downloadOf(layout, remote)));
  assert.ok(downloads.some((d) => d?.startsWith('delta: ')), `neither used the delta: ${downloads.join(', ')}`);
  // The run that did not rebuild says why it downloaded whole: it found the cache in use, or
  // (when it came later) the previous archive already gone, rebuilt in place by the other.
  const whole = results.filter((_, i) => downloads[i]?.startsWith('full: '));
  assert.ok(whole.length <= 1, `both downloaded whole: ${downloads.join(', ')}`);
  for (const r of whole) {
    assert.match(r.stderr, /another run is rebuilding from the same cached archive|the cached archive of the previous version is gone/, `the whole download gave no reason: ${downloads.join(', ')}`);
  }
  assert.deepEqual(cacheFiles(a.cache).filter((f) => f.endsWith('.zip') || f.includes('.part-')), [`sha256-${createHash('sha256').update(next).digest('hex')}.zip`]);
});

test('cli, http: a cached archive deleted by hand means a whole download that says why, and the served version deployed', async (t) => {
  const { server, remote, layout } = await deployedBase(t);
  const root = join(layout.cache, 'http');
  for (const dir of readdirSync(root)) for (const f of readdirSync(join(root, dir))) if (f.endsWith('.zip')) rmSync(join(root, dir, f));
  publish(server, await zipOfTree(changed(baseTree(), changes[0]![1])), { ranges: true });
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /the cached archive of the previous version is gone/);
  assert.match((await downloadOf(layout, remote)) ?? '', /^full: /);
  assert.deepEqual(describeTree(layout.link), await fullDeploy(remote));
});

test('cli, s3: a cached archive deleted by hand means a whole download that says why, and the served version deployed', async (t) => {
  const { server, config, deploy } = await s3Setup(t);
  const [layout, fresh] = [makeLayout(), makeLayout()];
  await server.put('releases', 'app.zip', await zipOfTree(baseTree()));
  assert.equal((await deploy(layout, config(layout.root))).code, 0);
  const root = join(layout.cache, 's3');
  for (const dir of readdirSync(root)) rmSync(join(root, dir, 'archive.zip'));
  await server.put('releases', 'app.zip', await zipOfTree(changed(baseTree(), changes[0]![1])));
  const r = await deploy(layout, config(layout.root));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /the cached archive of the previous version is gone/);
  assert.equal((await deploy(fresh, config(fresh.root))).code, 0);
  assert.deepEqual(describeTree(layout.link), describeTree(fresh.link));
});
