import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ReleaseStore } from '../../src/release/store.js';
import { testdir } from '../support/tmp.js';

// Publishing renames the staging directory into place after flushing it; work handed to
// `publish` to run meanwhile (the stat data of the release's files, read by staging path) must
// end before the rename, or what it reads after it is lost.

test('publish renames the staging directory only once the work done while flushing has ended', async () => {
  const deployDir = testdir();
  const store = new ReleaseStore({ deployDir, link: join(deployDir, 'current') });
  const staging = await store.createStaging();
  mkdirSync(join(staging, 'app'));
  writeFileSync(join(staging, 'app', 'index.html'), 'v1');
  let seen: boolean | undefined;
  const whileFlushing = new Promise<void>((resolve) =>
    setTimeout(() => {
      seen = existsSync(join(staging, 'app', 'index.html'));
      resolve();
    }, 300),
  );
  const path = await store.publish(staging, '20240102T030405Z-abc', whileFlushing);
  assert.equal(seen, true, 'the staged files were still at their staging paths when the work ended');
  assert.equal(existsSync(join(path, 'app', 'index.html')), true);
  assert.equal(existsSync(staging), false);
});
