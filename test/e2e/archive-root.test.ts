import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeLayout, readTree } from '../support/cli.js';
import { startHttpServer } from '../support/http-server.js';
import { testdir } from '../support/tmp.js';

// End-to-end: `archive-root` in a config file deploys one directory of a zip remote (HTTP and
// local), `auto` the single top-level one as GitHub and GitLab source archives have it.

/** A source archive as GitHub makes it: everything under `app-main/`, built with Info-ZIP zip. */
function sourceArchive(files: Record<string, string>): { zip: Buffer; src: string } {
  const src = testdir(files);
  const out = join(testdir(), 'app-main.zip');
  execFileSync('zip', ['-q', '-r', out, '.'], { cwd: src });
  return { zip: readFileSync(out), src };
}

test('archive-root = auto over HTTP deploys the contents of the single top-level directory, as unzip unpacks it', async (t) => {
  const server = await startHttpServer();
  t.after(() => server.close());
  const { zip } = sourceArchive({ 'app-main/index.html': '<h1>hi</h1>', 'app-main/lib/app.js': 'run()', 'app-main/README.md': 'readme' });
  server.put('/app.zip', { body: zip });
  const layout = makeLayout();
  writeFileSync(layout.config, 'archive-root = auto\n');
  const r = await layout.fetch(`${server.origin}/app.zip`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readTree(layout.link), { 'index.html': '<h1>hi</h1>', 'lib/app.js': 'run()', 'README.md': 'readme' });
  const theirs = join(testdir(), 'unzipped');
  writeFileSync(join(layout.root, 'same.zip'), zip);
  execFileSync('unzip', ['-qq', join(layout.root, 'same.zip'), '-d', theirs]);
  assert.deepEqual(readTree(layout.link), readTree(join(theirs, 'app-main')));
});

test('archive-root = PATH on a local zip deploys only that directory', async () => {
  const { zip } = sourceArchive({ 'app-main/web/index.html': 'web', 'app-main/web/css/site.css': 'css', 'app-main/server/secret.env': 'key=1' });
  const layout = makeLayout();
  const remote = join(layout.root, 'app.zip');
  writeFileSync(remote, zip);
  writeFileSync(layout.config, 'archive-root = app-main/web/\n');
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readTree(layout.link), { 'index.html': 'web', 'css/site.css': 'css' });
});

test('archive-root = auto with more than one top-level entry: exit 1, the entries named, nothing published', async () => {
  const { zip } = sourceArchive({ 'one/a.txt': 'a', 'two/b.txt': 'b', 'top.txt': 't' });
  const layout = makeLayout();
  const remote = join(layout.root, 'app.zip');
  writeFileSync(remote, zip);
  writeFileSync(layout.config, 'archive-root = auto\n');
  const r = await layout.fetch(remote);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /archive-root = auto: zip .* has 3 top-level entries \(\\?"one\\?", \\?"top.txt\\?", \\?"two\\?"\), not one directory/);
  assert.equal(layout.currentId(), null);
  assert.deepEqual(layout.releases(), []);

  writeFileSync(layout.config, 'archive-root = missing\n');
  const missing = await layout.fetch(remote);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /archive-root = missing: zip .* has no directory \\?"missing\\?"/);
});

test('archive-root outside the archive is a config error naming the key', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'app.zip');
  writeFileSync(remote, sourceArchive({ 'a/x': 'x' }).zip);
  writeFileSync(layout.config, 'archive-root = ../etc\n');
  const r = await layout.fetch(remote);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /archive-root/);
  assert.match(r.stderr, /no "\.\."/);
  assert.equal(layout.currentId(), null);
});
