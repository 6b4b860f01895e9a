import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, makeAppsLayout, readTree, runCli, writeHook, type AppLayout } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end (issue 5): the operator's read-only commands over a two-app config (status,
// releases, check-config, --help) and `-f --dry-run`, which says what would happen and
// changes nothing.

/** Two apps deployed with -f: web at v2 (v1 previous), api at v1. */
async function deployedApps() {
  const layout = makeAppsLayout(['web', 'api']);
  const { web, api } = layout.apps as Record<'web' | 'api', AppLayout>;
  layout.writeConfig();
  writeTree(web.remote, { 'v.txt': 'web v1' });
  writeTree(api.remote, { 'v.txt': 'api v1' });
  assert.equal((await layout.run(['-f'])).code, 0);
  const webV1 = web.currentId()!;
  writeTree(web.remote, { 'v.txt': 'web v2' });
  const second = await layout.run(['-f']);
  assert.equal(second.code, 0, second.stderr);
  return { layout, web, api, webV1, webV2: web.currentId()!, apiV1: api.currentId()! };
}

/** What a read-only command must not change: each app's state file and releases. */
const snapshot = (apps: AppLayout[]) =>
  apps.map((a) => ({ state: readFileSync(join(a.deployDir, '.repo-deploy', 'state.json'), 'utf8'), releases: a.releases(), current: a.currentId() }));

test('status (both apps, text and --json), status APP, releases APP, check-config; none of them changes anything', async () => {
  const { layout, web, api, webV1, webV2, apiV1 } = await deployedApps();
  const before = snapshot([web, api]);

  const text = await layout.run(['status']);
  assert.equal(text.code, 0, text.stderr);
  const [table, ...blocks] = text.stdout.trim().split('\n\n');
  assert.equal(blocks.length, 2, text.stdout);
  // A table of all apps first: one row each, current release and last result.
  const rows = table!.split('\n');
  assert.match(rows[0]!, /^APP +CURRENT +VERSION +LAST CHECK +RESULT +NEXT TRY$/);
  assert.match(rows[1]!, new RegExp(`^web +${webV2} +\\S+ +\\S+ +deployed +-$`));
  assert.match(rows[2]!, new RegExp(`^api +${apiV1} +\\S+ +\\S+ +up-to-date +-$`));
  assert.match(blocks[0]!, /^app +web$/m);
  assert.match(blocks[0]!, new RegExp(`^current +${webV2} \\(version \\S+\\)$`, 'm'));
  assert.match(blocks[0]!, new RegExp(`^previous +${webV1} `, 'm'));
  assert.match(blocks[0]!, /^last check +\S+ deployed /m);
  assert.match(blocks[1]!, /^app +api$/m);
  assert.match(blocks[1]!, new RegExp(`^current +${apiV1} `, 'm'));
  assert.match(blocks[1]!, /^previous +-$/m);
  assert.match(blocks[1]!, /^last check +\S+ up-to-date /m);

  const json = await layout.run(['status', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const statuses = JSON.parse(json.stdout) as { app: string; link: string; current?: { id: string }; previous?: { id: string }; releases: unknown[] }[];
  assert.deepEqual(statuses.map((s) => [s.app, s.link, s.current?.id, s.previous?.id, s.releases.length]), [
    ['web', web.link, webV2, webV1, 2],
    ['api', api.link, apiV1, undefined, 1],
  ]);

  const one = await layout.run(['status', 'api', '--json']);
  assert.equal(one.code, 0, one.stderr);
  assert.deepEqual((JSON.parse(one.stdout) as { app: string }[]).map((s) => s.app), ['api']);

  const releases = await layout.run(['releases', 'web']);
  assert.equal(releases.code, 0, releases.stderr);
  const lines = releases.stdout.trim().split('\n');
  assert.equal(lines[0], `web (${web.link})`);
  assert.match(lines[1]!, new RegExp(`^- ${webV1} +good `));
  assert.match(lines[2]!, new RegExp(`^\\* ${webV2} +good `));
  assert.equal(lines.length, 3, 'only app web');
  const releasesJson = await layout.run(['releases', 'web', '--json']);
  assert.equal(releasesJson.code, 0, releasesJson.stderr);
  const [listed] = JSON.parse(releasesJson.stdout) as { app: string; current: string; previous: string; releases: { id: string }[] }[];
  assert.deepEqual([listed!.app, listed!.current, listed!.previous, listed!.releases.map((r) => r.id)], ['web', webV2, webV1, [webV1, webV2]]);

  const ok = await layout.run(['check-config']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^configuration OK \(/);
  assert.ok(ok.stdout.includes(`web -> ${web.link}`) && ok.stdout.includes(`api -> ${api.link}`), ok.stdout);
  assert.deepEqual(snapshot([web, api]), before, 'read-only commands changed nothing');

  // Errors in two sections and the top level are all reported at once.
  layout.writeConfig('splay = soon', { api: 'keep = lots', web: 'hook-timeout = forever' });
  const bad = await layout.run(['check-config']);
  assert.equal(bad.code, 2, bad.stderr);
  for (const key of ['splay', '[app api] keep', '[app web] hook-timeout']) assert.ok(bad.stderr.includes(key), `${key} named in: ${bad.stderr}`);
  assert.equal(bad.stdout, '');
  assert.deepEqual(snapshot([web, api]), before);
});

test('an unknown app name: exit 2 naming it and the configured apps, never a made-up default app', async () => {
  const { layout, web } = await deployedApps();
  const before = snapshot([web]);
  for (const command of ['status', 'releases', 'rollback', 'resume', 'check']) {
    const r = await layout.run([command, 'wbe']);
    assert.equal(r.code, 2, `${command}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /unknown app: wbe \(did you mean web\?\); \S+repo-deploy\.cfg configures web, api;/, command);
    assert.equal(r.stdout, '', command);
  }
  assert.deepEqual(snapshot([web]), before);
});

test('--help of every operator command: exit 0, usage on stdout; status and releases offer --json', async () => {
  for (const command of ['status', 'releases', 'check-config', 'rollback', 'resume', 'check']) {
    const r = await runCli([command, '--help']);
    assert.equal(r.code, 0, `${command}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: repo-deploy ${command}\\b`), command);
    if (command === 'status' || command === 'releases') assert.match(r.stdout, /--json/);
  }
});

test('-f --dry-run: says "would deploy", runs no hook, changes no release, link or state', async () => {
  const { layout, web, api, webV2 } = await deployedApps();
  writeHook(web, 'pre', '10-pre');
  writeHook(web, 'post', '10-post');
  writeTree(web.remote, { 'v.txt': 'web v3' });
  const before = snapshot([web, api]);

  const dry = await layout.run(['-f', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^web: would deploy tree-\S+$/m);
  assert.match(dry.stdout, /^api: up to date at /m);
  assert.deepEqual(snapshot([web, api]), before);
  assert.deepEqual(hookRuns(web), []);
  assert.equal(web.currentId(), webV2);
  assert.deepEqual(readTree(web.link), { 'v.txt': 'web v2' });
  assert.ok(dry.logs.some((l) => l.app === 'web' && /dry run/.test(l.msg)));

  // The real run afterwards deploys exactly what the dry run announced.
  const announced = /^web: would deploy (\S+)$/m.exec(dry.stdout)![1];
  const real = await layout.run(['-f']);
  assert.equal(real.code, 0, real.stderr);
  assert.match(real.stdout, new RegExp(`^web: deployed ${announced} `, 'm'));
  assert.deepEqual(hookRuns(web).map((h) => h.name), ['10-pre', '10-post']);
});
