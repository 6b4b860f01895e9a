import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeLayout, startBackground, waitFor, type CliResult, type Layout } from '../support/cli.js';
import { TestRepo } from '../support/git-repos.js';
import { startHttpServer } from '../support/http-server.js';
import { s3rverKeys, startS3rver } from '../support/s3rver.js';
import { writeTree } from '../support/tmp.js';
import { makeZip, type ZipEntry } from '../support/zip.js';

// Releases are readable by everyone and writable by no one else, state and cache are the
// agent's own: whatever the umask of whoever started the CLI, and whatever modes the remote
// hands over.

/** Runs `start` (which must spawn synchronously) with the process umask set to `mask`: the child inherits it. */
function underUmask<T>(mask: number, start: () => T): T {
  const old = process.umask(mask);
  try {
    return start();
  } finally {
    process.umask(old);
  }
}

/** Every entry under `dir` (itself included, as '.'): relative path -> permission bits, symlinks left out. */
function modes(dir: string): Map<string, { mode: number; dir: boolean }> {
  const out = new Map<string, { mode: number; dir: boolean }>();
  const walk = (abs: string, rel: string) => {
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) return;
    out.set(rel, { mode: st.mode & 0o7777, dir: st.isDirectory() });
    if (st.isDirectory()) for (const name of readdirSync(abs)) walk(join(abs, name), rel === '.' ? name : `${rel}/${name}`);
  };
  walk(dir, '.');
  return out;
}

const octal = (m: number) => m.toString(8).padStart(4, '0');

/** Asserts the release rule: dirs 0755, files 0644 or 0755 as `executables` says. */
function assertReleaseModes(release: string, executables: readonly string[]): void {
  for (const [rel, { mode, dir }] of modes(release)) {
    const want = dir || executables.includes(rel) ? 0o755 : 0o644;
    assert.equal(octal(mode), octal(want), `release entry ${rel} (${dir ? 'directory' : 'file'})`);
  }
}

/**
 * Asserts the private rule on every entry under `dir`: dirs 0700, files 0600 (git's read-only
 * objects 0400 and its sample hooks 0700 are as private).
 */
function assertPrivate(dir: string, what: string): void {
  const seen = modes(dir);
  assert.ok(seen.size > 1, `${what} is empty`);
  for (const [rel, { mode, dir: isDir }] of seen) {
    if (isDir) assert.equal(octal(mode), '0700', `${what} directory ${rel}`);
    else if (rel.includes('.git/')) assert.equal(mode & 0o7077, 0, `${what} file ${rel} is ${octal(mode)}`);
    else assert.equal(octal(mode), '0600', `${what} file ${rel}`);
  }
}

/** True when uid/gid 65534 (nobody), standing for the app's user, can read `path`. */
function nobodyCanRead(path: string): boolean {
  return spawnSync('cat', [path], { uid: 65534, gid: 65534, stdio: 'ignore' }).status === 0;
}

function assertDeployed(layout: Layout, r: CliResult): string {
  assert.equal(r.code, 0, r.stderr);
  const id = layout.currentId();
  assert.ok(id, 'nothing deployed');
  return join(layout.releasesDir, id);
}

/** A layout whose root other users can traverse (temp dirs are made 0700). */
function openLayout(): Layout {
  const layout = makeLayout();
  chmodSync(layout.root, 0o755);
  chmodSync(layout.deployDir, 0o755);
  return layout;
}

const hostileEntries: ZipEntry[] = [
  { name: 'world/', directory: true, mode: 0o40777 },
  { name: 'sticky/', directory: true, mode: 0o41777 },
  { name: 'setgid/', directory: true, mode: 0o42775 },
  { name: 'world/w.txt', content: 'anyone may write me', mode: 0o100666 },
  { name: 'sticky/x.sh', content: '#!/bin/sh\necho hi\n', mode: 0o100777 },
  { name: 'suid', content: 'root shell', mode: 0o104755 },
  { name: 'group-x', content: 'g', mode: 0o100610 },
  { name: 'private.txt', content: 'p', mode: 0o100600 },
  { name: 'deep/er/file.txt', content: 'implied dirs', mode: 0o100644 },
];
const hostileExecutables = ['sticky/x.sh', 'suid', 'group-x'];

describe('release modes, whatever the archive and the umask', () => {
  for (const mask of [0o077, 0o000]) {
    test(`zip over HTTP under umask ${octal(mask)}: 0755/0644 release the app user can read; private state and cache`, async () => {
      const server = await startHttpServer();
      after(() => server.close());
      server.put('/app.zip', { body: await makeZip(hostileEntries) });
      const layout = openLayout();
      const r = await underUmask(mask, () => layout.fetch(`${server.origin}/app.zip`));
      const release = assertDeployed(layout, r);
      assertReleaseModes(release, hostileExecutables);
      assert.ok(nobodyCanRead(join(release, 'private.txt')), 'the app user cannot read the release');
      assert.ok(nobodyCanRead(join(release, 'deep/er/file.txt')), 'the app user cannot read below implied directories');
      assert.ok(nobodyCanRead(layout.link + '/world/w.txt'), 'the app user cannot read through current');

      assertPrivate(join(layout.deployDir, '.repo-deploy'), 'state directory');
      assertPrivate(layout.cache, 'cache');
      assert.ok(!nobodyCanRead(join(layout.deployDir, '.repo-deploy', 'state.json')), 'another user can read state.json');
    });
  }

  for (const mask of [0o077, 0o000]) {
    test(`local directory and local zip under umask ${octal(mask)}`, async () => {
      const layout = openLayout();
      const src = join(layout.root, 'src');
      writeTree(src, {
        'world/w.txt': { content: 'w', mode: 0o666 },
        'run.sh': { content: '#!/bin/sh\n', mode: 0o4777 },
        'private.txt': { content: 'p', mode: 0o600 },
      });
      chmodSync(join(src, 'world'), 0o1777);
      const r = await underUmask(mask, () => layout.fetch(src));
      const release = assertDeployed(layout, r);
      assertReleaseModes(release, ['run.sh']);
      assert.ok(nobodyCanRead(join(release, 'private.txt')), 'the app user cannot read the release');
      assertPrivate(join(layout.deployDir, '.repo-deploy'), 'state directory');

      const zipLayout = openLayout();
      const zip = join(zipLayout.root, 'app.zip');
      writeFileSync(zip, await makeZip(hostileEntries));
      const z = await underUmask(mask, () => zipLayout.fetch(zip));
      assertReleaseModes(assertDeployed(zipLayout, z), hostileExecutables);
      assertPrivate(zipLayout.cache, 'cache');
    });
  }

  for (const mask of [0o077, 0o000]) {
    test(`git under umask ${octal(mask)}: checkout and mirror`, async () => {
      const repo = TestRepo.create();
      repo.commit('v1', { 'index.html': 'v1', 'bin/run.sh': { content: '#!/bin/sh\n', mode: 0o755 }, 'conf/app.ini': 'a=1' });
      const layout = openLayout();
      const r = await underUmask(mask, () => layout.fetch(repo.url));
      const release = assertDeployed(layout, r);
      assertReleaseModes(release, ['bin/run.sh']);
      assert.ok(nobodyCanRead(join(release, 'conf/app.ini')), 'the app user cannot read the release');
      assertPrivate(layout.cache, 'cache (git mirror)');
      assertPrivate(join(layout.deployDir, '.repo-deploy'), 'state directory');
    });
  }

  test('zip from S3 under umask 077: release modes, private cache', async () => {
    const server = await startS3rver(['releases']);
    after(() => server.close());
    await server.put('releases', 'web/app.zip', await makeZip(hostileEntries));
    const layout = openLayout();
    writeFileSync(layout.config, `s3-endpoint = ${server.endpoint}\naws-region = us-east-1\naws-access-key = ${s3rverKeys.accessKeyId}\naws-secret-key = ${s3rverKeys.secretAccessKey}\n`, { mode: 0o600 });
    const env = { AWS_CONFIG_FILE: join(layout.root, 'no-aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(layout.root, 'no-aws-credentials') };
    const r = await underUmask(0o077, () => layout.fetch('s3://releases/web/app.zip', [], { env }));
    assertReleaseModes(assertDeployed(layout, r), hostileExecutables);
    assertPrivate(layout.cache, 'cache');
  });

  test('the daemon pid file is private under umask 000', async () => {
    const layout = openLayout();
    const src = join(layout.root, 'src');
    writeTree(src, { 'a.txt': 'a' });
    const daemon = underUmask(0o000, () => startBackground(layout.args(src), { cwd: layout.root }));
    const pidFile = join(layout.deployDir, '.repo-deploy', 'daemon.pid');
    await waitFor('daemon.pid', () => existsSync(pidFile));
    try {
      assert.equal(octal(lstatSync(pidFile).mode & 0o7777), '0600');
      assert.equal(octal(lstatSync(join(layout.deployDir, '.repo-deploy')).mode & 0o7777), '0700');
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
  });
});
