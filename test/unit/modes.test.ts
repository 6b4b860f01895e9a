import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makePrivateDir, makeReadableDir, normaliseReleaseModes, releaseFileMode } from '../../src/util/modes.js';
import { testdir } from '../support/tmp.js';

const modeOf = (path: string) => (statSync(path).mode & 0o7777).toString(8);

/** Runs `body` under `mask`, restoring the umask after it settles. */
async function underUmask(mask: number, body: () => Promise<void>): Promise<void> {
  const old = process.umask(mask);
  try {
    await body();
  } finally {
    process.umask(old);
  }
}

test('releaseFileMode: 0755 with any execute bit, 0644 without, nothing else kept', () => {
  const table: [number, number][] = [
    [0o644, 0o644], [0o666, 0o644], [0o600, 0o644], [0o000, 0o644], [0o4644, 0o644],
    [0o755, 0o755], [0o777, 0o755], [0o4755, 0o755], [0o2710, 0o755], [0o1001, 0o755], [0o100, 0o755],
  ];
  for (const [source, want] of table) assert.equal(releaseFileMode(source).toString(8), want.toString(8), source.toString(8));
});

test('makeReadableDir: what it creates is 0755 under umask 077; existing parents are left alone', async () => {
  const root = testdir();
  const operators = join(root, 'ops');
  mkdirSync(operators, { mode: 0o750 });
  chmodSync(operators, 0o750);
  await underUmask(0o077, () => makeReadableDir(join(operators, 'deploy', 'releases')));
  assert.equal(modeOf(operators), '750');
  assert.equal(modeOf(join(operators, 'deploy')), '755');
  assert.equal(modeOf(join(operators, 'deploy', 'releases')), '755');
  // Existing: untouched.
  chmodSync(join(operators, 'deploy', 'releases'), 0o750);
  await makeReadableDir(join(operators, 'deploy', 'releases'));
  assert.equal(modeOf(join(operators, 'deploy', 'releases')), '750');
});

test('makePrivateDir: 0700 under umask 000, an existing loose directory tightened, parents readable on request', async () => {
  const root = testdir();
  await underUmask(0o000, () => makePrivateDir(join(root, 'cache', 'http', 'abc')));
  for (const dir of ['cache', 'cache/http', 'cache/http/abc']) assert.equal(modeOf(join(root, dir)), '700', dir);
  mkdirSync(join(root, 'old'), { mode: 0o755 });
  chmodSync(join(root, 'old'), 0o755);
  await makePrivateDir(join(root, 'old'));
  assert.equal(modeOf(join(root, 'old')), '700');
  await underUmask(0o077, () => makePrivateDir(join(root, 'deploy', '.repo-deploy'), { readableParents: true }));
  assert.equal(modeOf(join(root, 'deploy')), '755');
  assert.equal(modeOf(join(root, 'deploy', '.repo-deploy')), '700');
});

test('normaliseReleaseModes: every directory 0755, files by execute bit, symlinks not followed', async () => {
  const root = testdir();
  const release = join(root, 'r');
  mkdirSync(join(release, 'sub'), { recursive: true });
  writeFileSync(join(release, 'sub', 'tool'), 'x', { mode: 0o700 });
  writeFileSync(join(release, 'data'), 'd', { mode: 0o666 });
  const outside = join(root, 'outside');
  writeFileSync(outside, 'o', { mode: 0o600 });
  chmodSync(outside, 0o600);
  symlinkSync(outside, join(release, 'link'));
  chmodSync(join(release, 'sub'), 0o1777);
  chmodSync(join(release, 'data'), 0o666);
  chmodSync(release, 0o700);
  await normaliseReleaseModes(release);
  assert.equal(modeOf(release), '755');
  assert.equal(modeOf(join(release, 'sub')), '755');
  assert.equal(modeOf(join(release, 'sub', 'tool')), '755');
  assert.equal(modeOf(join(release, 'data')), '644');
  assert.equal(modeOf(outside), '600', 'a symlink was followed');
});
