import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, isExecutable, makeLayout, readTree, runCli, writeHook, type Layout } from '../support/cli.js';
import { startHttpServer } from '../support/http-server.js';
import { entriesOf, makeZip, writeZip, type ZipEntry } from '../support/zip.js';

// End-to-end: zip remotes (a local .zip and HTTP) through the built CLI: hostile archives are
// refused with nothing published, modes survive, a cut download publishes nothing, and
// credentials in the URL never show.

/** A layout with `app.zip` deployed from `files`. */
async function deployedZip(files: Record<string, string>): Promise<{ layout: Layout; remote: string; first: string }> {
  const layout = makeLayout();
  const remote = join(layout.root, 'app.zip');
  await writeZip(remote, entriesOf(files));
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  return { layout, remote, first: layout.currentId()! };
}

/** Every path under `dir`, recursively (to prove an escaping entry wrote nothing). */
function allPaths(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map(String);
}

const hostile: Record<string, ZipEntry[]> = {
  'absolute path': [{ name: 'ok.txt', content: 'ok' }, { name: '/tmp/escaped-abs.txt', content: 'evil' }],
  'dot-dot path': [{ name: 'ok.txt', content: 'ok' }, { name: '../../escaped-dots.txt', content: 'evil' }],
  'symlink escaping the release': [{ name: 'ok.txt', content: 'ok' }, { name: 'escaped-link', symlink: '../../../../etc' }],
};

for (const [name, entries] of Object.entries(hostile)) {
  test(`hostile zip (${name}): exit 1, nothing published, current unchanged`, async () => {
    const { layout, remote, first } = await deployedZip({ 'v.txt': 'v1' });
    writeHook(layout, 'pre', '10-pre');
    await writeZip(remote, entries);
    const r = await layout.fetch(remote);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /refusing zip .*escaped/, 'refused for the hostile entry, naming it');
    assert.equal(layout.currentId(), first);
    assert.deepEqual(readTree(layout.link), { 'v.txt': 'v1' });
    assert.deepEqual(layout.releases(), [first]);
    assert.deepEqual(layout.leftovers(), []);
    assert.deepEqual(hookRuns(layout), [], 'no hook runs for a refused archive');
    assert.deepEqual(allPaths(layout.root).filter((p) => p.includes('escaped')), []);
    const s = await layout.status(remote);
    assert.equal(s.lastCheck?.result, 'failed');
    assert.equal(s.current?.id, first);
  });
}

test('modes: an executable in the zip stays executable in the release, others do not', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'app.zip');
  await writeZip(remote, [
    { name: 'bin/run', content: '#!/bin/sh\necho ran\n', mode: 0o100755 },
    { name: 'data.txt', content: 'data', mode: 0o100644 },
  ]);
  // The hook runs the shipped executable from its working directory (the new release).
  writeHook(layout, 'post', '10-run', './bin/run > "$REPO_DEPLOY_LINK.out"');
  const r = await layout.fetch(remote);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(isExecutable(join(layout.link, 'bin/run')), true);
  assert.equal(isExecutable(join(layout.link, 'data.txt')), false);
  assert.equal(readFileSync(`${layout.link}.out`, 'utf8'), 'ran\n');
});

test('HTTP: a truncated download exits 1 and publishes nothing; the next run deploys', async (t) => {
  const server = await startHttpServer();
  t.after(() => server.close());
  const layout = makeLayout();
  const remote = `${server.origin}/app.zip`;
  server.put('/app.zip', { body: await makeZip(entriesOf({ 'v.txt': 'v1' })) });
  assert.equal((await layout.fetch(remote)).code, 0);
  const first = layout.currentId()!;

  // Big enough that half of it is not a valid archive by accident.
  const v2 = await makeZip([...entriesOf({ 'v.txt': 'v2' }), { name: 'pad.bin', content: Buffer.alloc(200_000, 7), mode: 0o100644 }], { compress: false });
  server.put('/app.zip', { body: v2 });
  server.truncateNext();
  const cut = await layout.fetch(remote);
  assert.equal(cut.code, 1, cut.stderr);
  assert.equal(layout.currentId(), first);
  assert.deepEqual(layout.releases(), [first]);
  assert.deepEqual(layout.leftovers(), []);

  const again = await layout.fetch(remote);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readTree(layout.link)['v.txt'], 'v2');
  assert.equal(readTree(layout.link)['pad.bin']?.length, 200_000);
});

test('HTTP: credentials in the URL never appear in output, status, hook env or state', async (t) => {
  const server = await startHttpServer();
  t.after(() => server.close());
  server.requireAuth('deployer', 'pa55-word-xyzzy');
  server.put('/app.zip', { body: await makeZip(entriesOf({ 'v.txt': 'v1' })) });
  const layout = makeLayout();
  const remote = `${server.origin.replace('//', '//deployer:pa55-word-xyzzy@')}/app.zip`;
  writeHook(layout, 'post', '10-env', 'env > "$REPO_DEPLOY_LINK.env"');
  const ok = await layout.fetch(remote, ['-v']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(readTree(layout.link)['v.txt'], 'v1', 'the credentials were used');

  // A failure prints the URL in its message: still without the password.
  server.put('/app.zip', { body: await makeZip(entriesOf({ 'v.txt': 'v2' })) });
  server.truncateNext();
  const failed = await layout.fetch(remote, ['-v']);
  assert.equal(failed.code, 1);
  server.remove('/app.zip');
  const missing = await layout.fetch(remote, ['-v']);
  assert.equal(missing.code, 1);

  const status = await runCli(['status', ...layout.args(remote)], { cwd: layout.root });
  const statusJson = await runCli(['status', '--json', ...layout.args(remote)], { cwd: layout.root });
  const texts = {
    'first run': ok.stdout + ok.stderr,
    'failed run': failed.stdout + failed.stderr,
    'missing run': missing.stdout + missing.stderr,
    status: status.stdout + status.stderr,
    'status --json': statusJson.stdout + statusJson.stderr,
    'hook env': readFileSync(`${layout.link}.env`, 'utf8'),
    state: readFileSync(join(layout.deployDir, '.repo-deploy', 'state.json'), 'utf8'),
  };
  for (const [where, text] of Object.entries(texts)) {
    assert.ok(text.length > 0, `${where} is empty`);
    assert.equal(text.includes('pa55-word-xyzzy'), false, `password in ${where}:\n${text}`);
  }
  assert.match(statusJson.stdout, /127\.0\.0\.1/, 'status still names the remote');
});
