import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { hookRuns, makeLayout, writeHook } from '../support/cli.js';
import { testdir } from '../support/tmp.js';
import { writeZip } from '../support/zip.js';

// End to end through the built CLI: `-f --dry-run` says which hooks would run, the release
// path and the download size; `--dry-run=fetch` also fetches and checks the version as a real
// run does before the hooks, then discards it. Neither changes anything.

const releaseEntries = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

test('--dry-run: hooks, release path and download size; nothing runs, nothing changes', async () => {
  const layout = makeLayout();
  const zip = join(testdir(), 'app.zip');
  await writeZip(zip, [{ name: 'v.txt', content: 'v1' }]);
  writeHook(layout, 'pre', '10-migrate');
  writeHook(layout, 'post', '20-restart');
  writeHook(layout, 'post', '30-notify');
  const dry = await layout.fetch(zip, ['--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /would deploy/);
  assert.match(dry.stdout, new RegExp(`^ {2}release: ${layout.releasesDir}/\\d{8}T\\d{6}Z`, 'm'));
  assert.match(dry.stdout, /^ {2}pre-update hooks: 10-migrate$/m);
  assert.match(dry.stdout, /^ {2}post-update hooks: 20-restart, 30-notify$/m);
  assert.match(dry.stdout, new RegExp(`^ {2}download: ${statSync(zip).size} bytes$`, 'm'));
  assert.deepEqual(hookRuns(layout), []);
  assert.equal(layout.currentId(), null);
  assert.deepEqual(layout.releases(), []);
});

test('--dry-run=fetch: fetches and checks, then discards; a refused version or a missing shared file is reported, exit 1', async () => {
  const layout = makeLayout();
  const good = join(testdir(), 'good.zip');
  await writeZip(good, [{ name: 'v.txt', content: 'v1' }, { name: 'b.txt', content: 'b' }]);
  const ok = await layout.fetch(good, ['--dry-run=fetch']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^ {2}fetch: ok, 2 files, \d+ bytes downloaded, content \S+; discarded$/m);
  assert.deepEqual(releaseEntries(layout.releasesDir), []);
  assert.equal(layout.currentId(), null);

  // What a real run would refuse before the hooks: an absolute symlink in the archive.
  const hostile = join(testdir(), 'hostile.zip');
  await writeZip(hostile, [{ name: 'v.txt', content: 'v1' }, { name: 'passwd', symlink: '/etc/passwd' }]);
  const refused = await layout.fetch(hostile, ['--dry-run=fetch']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stdout + refused.stderr, /fetch: refused: .*absolute target/);
  assert.deepEqual(releaseEntries(layout.releasesDir), []);

  // A shared file the release would link to is missing.
  writeFileSync(layout.config, 'shared = .env\n');
  const noEnv = await layout.fetch(good, ['--dry-run=fetch']);
  assert.equal(noEnv.code, 1, noEnv.stderr);
  assert.ok((noEnv.stdout + noEnv.stderr).includes(`.env (create ${join(layout.deployDir, 'shared', '.env')})`), noEnv.stdout + noEnv.stderr);
  assert.deepEqual(releaseEntries(layout.releasesDir), []);
  assert.equal(layout.currentId(), null);
});
