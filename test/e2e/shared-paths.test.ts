import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeLayout, runCli, writeHook } from '../support/cli.js';
import { testdir, writeTree } from '../support/tmp.js';

// End to end through the built CLI: `shared` paths of each release are relative symlinks into
// <deploy dir>/shared/, so what the app keeps there survives deploys, a revert and a rollback.

test('shared files and directories across three releases, a revert and a rollback; a missing shared file blocks', async () => {
  const layout = makeLayout();
  const shared = join(layout.deployDir, 'shared');
  writeTree(shared, { '.env': 'SECRET=host\n', 'config/database.yml': 'db: host\n' });
  writeFileSync(layout.config, 'shared = .env, config/database.yml, storage/, log/\n');
  // Every release ships its own sample .env and a log/ directory: both give way to the shared ones.
  const remote = testdir({ 'v.txt': 'v1', '.env': 'SECRET=sample\n', 'log/README': 'logs go here', 'config/app.yml': 'app: 1' });
  // The app appends to its storage at each start; the hooks see the links already in place.
  writeHook(layout, 'pre', '10-env', 'grep -q SECRET=host .env || exit 9');
  writeHook(layout, 'post', '10-start', 'echo "$(cat v.txt)" >> storage/starts.txt; [ ! -f bad ] || exit 4');

  const ids: string[] = [];
  for (const version of ['v1', 'v2', 'v3']) {
    writeTree(remote, { 'v.txt': version });
    const run = await layout.fetch(remote);
    assert.equal(run.code, 0, run.stderr);
    ids.push(layout.currentId()!);
  }
  assert.equal(new Set(ids).size, 3);
  for (const id of ids) {
    const release = join(layout.releasesDir, id);
    assert.equal(readlinkSync(join(release, '.env')), '../../shared/.env');
    assert.equal(readlinkSync(join(release, 'config/database.yml')), '../../../shared/config/database.yml');
    assert.equal(readlinkSync(join(release, 'storage')), '../../shared/storage');
    assert.equal(readlinkSync(join(release, 'log')), '../../shared/log');
    assert.equal(readFileSync(join(release, 'config/app.yml'), 'utf8'), 'app: 1');
  }
  assert.equal(readFileSync(join(layout.link, '.env'), 'utf8'), 'SECRET=host\n');
  assert.ok(lstatSync(join(shared, 'storage')).isDirectory() && lstatSync(join(shared, 'log')).isDirectory());
  // The archive's log/README was replaced by the link, never copied into shared/.
  assert.equal(existsSync(join(shared, 'log/README')), false);
  assert.equal(readFileSync(join(shared, 'storage/starts.txt'), 'utf8'), 'v1\nv2\nv3\n');

  // v4's post-update hook fails: reverted to v3, whose links still lead to the same data.
  writeTree(remote, { 'v.txt': 'v4', bad: '' });
  assert.equal((await layout.fetch(remote)).code, 1);
  assert.equal(layout.currentId(), ids[2]);
  assert.equal(readFileSync(join(shared, 'storage/starts.txt'), 'utf8'), 'v1\nv2\nv3\nv4\nv3\n');
  assert.equal(readFileSync(join(layout.link, 'storage/starts.txt'), 'utf8'), 'v1\nv2\nv3\nv4\nv3\n');
  assert.equal(readFileSync(join(layout.link, '.env'), 'utf8'), 'SECRET=host\n');

  // A rollback activates v2 again: it already has its links.
  const back = await runCli(['rollback', '--to', ids[1]!, ...layout.args(remote)], { cwd: layout.root });
  assert.equal(back.code, 0, back.stderr);
  assert.equal(layout.currentId(), ids[1]);
  assert.equal(readFileSync(join(layout.link, 'storage/starts.txt'), 'utf8'), 'v1\nv2\nv3\nv4\nv3\nv2\n');
  assert.equal(readFileSync(join(layout.link, 'config/database.yml'), 'utf8'), 'db: host\n');

  // A missing shared file blocks the next version, naming the file to create.
  rmSync(join(shared, 'config/database.yml'));
  rmSync(join(remote, 'bad'));
  writeTree(remote, { 'v.txt': 'v5' });
  await runCli(['resume', ...layout.args(remote)], { cwd: layout.root });
  const blocked = await layout.fetch(remote);
  assert.equal(blocked.code, 1);
  assert.ok(blocked.stderr.includes(`config/database.yml (create ${join(shared, 'config/database.yml')})`), blocked.stderr);
  assert.equal(layout.currentId(), ids[1]);
  const status = await layout.status(remote);
  assert.equal(status.lastCheck?.result, 'blocked');
  assert.equal(readFileSync(join(shared, 'storage/starts.txt'), 'utf8'), 'v1\nv2\nv3\nv4\nv3\nv2\n');

  // Once created, the same version deploys (retry skips the back-off).
  mkdirSync(join(shared, 'config'), { recursive: true });
  writeFileSync(join(shared, 'config/database.yml'), 'db: new\n');
  const fixed = await runCli(['retry', ...layout.args(remote)], { cwd: layout.root });
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.equal(readFileSync(join(layout.link, 'v.txt'), 'utf8'), 'v5');
  assert.equal(readFileSync(join(layout.link, 'config/database.yml'), 'utf8'), 'db: new\n');
});
