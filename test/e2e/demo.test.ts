import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../support/cli.js';
import { testdir } from '../support/tmp.js';

// The quick start's first command ends in `repo-deploy demo`: the embedded default must deploy
// a local example remote, run the sample post-update hook, and show a second version swapped in.
test('demo: two versions deployed from a local example remote, with the sample hook and status', async () => {
  const dir = join(testdir(), 'demo');
  const r = await runCli(['demo', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /== first check: version 1 published: deployed -> release \S+/);
  assert.match(r.stdout, /== second check: nothing changed: up-to-date/);
  assert.match(r.stdout, /== third check: version 2 published: deployed -> release \S+/);
  assert.match(r.stdout, /post-update: now serving 'hello from version 2' from .*\(previous: .*releases\//);
  assert.match(r.stdout, /^APP +CURRENT/m, 'ends with the status table');
  const link = join(dir, 'deploy', 'current');
  assert.match(readlinkSync(link), /^releases\//);
  assert.equal(readFileSync(join(link, 'index.html'), 'utf8'), 'hello from version 2');

  // The commands it prints work on the same app: publish version 3, deploy it with -f.
  writeFileSync(join(dir, 'remote', 'index.html'), 'version 3');
  const f = await runCli(['-f', '-c', join(dir, 'repo-deploy.cfg')]);
  assert.equal(f.code, 0, f.stderr);
  assert.equal(readFileSync(join(link, 'index.html'), 'utf8'), 'version 3');

  // It starts over when run again, and touches nothing outside its directory.
  const again = await runCli(['demo', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(join(link, 'index.html'), 'utf8'), 'hello from version 2');
  assert.ok(!existsSync(join(dir, '..', 'deploy')));
});
