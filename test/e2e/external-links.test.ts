import assert from 'node:assert/strict';
import { readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TestRepo } from '../support/git-repos.js';
import { makeLayout } from '../support/cli.js';
import { testdir } from '../support/tmp.js';
import { writeZip } from '../support/zip.js';

// End to end through the built CLI: symlinks of the release's own content that lead outside
// it (absolute, ../) are refused by default and kept with `allow-external-links = true`, for
// every way a release is made: a zip, a git commit, a local directory.

const outside = { abs: '/etc/hostname', up: '../../../shared/uploads' };

async function remotes(): Promise<Record<string, string>> {
  const dir = testdir({ 'v.txt': 'dir', abs: { symlink: outside.abs }, up: { symlink: outside.up } });
  const zip = join(testdir(), 'app.zip');
  await writeZip(zip, [{ name: 'v.txt', content: 'zip' }, { name: 'abs', symlink: outside.abs }, { name: 'up', symlink: outside.up }]);
  const repo = TestRepo.create();
  repo.commit('links', { 'v.txt': 'git', abs: { symlink: outside.abs }, up: { symlink: outside.up } });
  return { dir, zip, git: repo.url };
}

test('links leading outside the release: refused by default, kept with allow-external-links = true (zip, git, local directory)', async () => {
  for (const [kind, remote] of Object.entries(await remotes())) {
    const refused = makeLayout();
    const run = await refused.fetch(remote);
    assert.equal(run.code, 1, `${kind}: ${run.stderr}`);
    assert.match(run.stderr, /(leads|resolves) outside|absolute target/, kind);
    assert.equal(refused.currentId(), null, kind);

    const allowed = makeLayout();
    writeFileSync(allowed.config, 'allow-external-links = true\n');
    const ok = await allowed.fetch(remote);
    assert.equal(ok.code, 0, `${kind}: ${ok.stderr}`);
    assert.equal(readlinkSync(join(allowed.link, 'abs')), outside.abs, kind);
    assert.equal(readlinkSync(join(allowed.link, 'up')), outside.up, kind);
  }
});
