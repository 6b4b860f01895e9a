import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeLayout, readTree, runCli, type Layout } from '../support/cli.js';
import { TestRepo } from '../support/git-repos.js';
import { writeTree } from '../support/tmp.js';

// End-to-end: the config file is read with Python ConfigParser's rules (as the original
// 1.0.x read it): values verbatim, comments on their own lines only, `key: value`, and every
// malformed or duplicate line an error naming the file and the line.

/** `-c CONFIG` with the layout's cache and hook dirs; the remote and link come from the file. */
function run(layout: Layout, ...rest: string[]) {
  return runCli(['-c', layout.config, '--cache', layout.cache, '--pre-hooks', layout.pre, '--post-hooks', layout.post, ...rest], { cwd: layout.root });
}

test('# and ; inside a value are part of it: a git #ref and a path holding ; deploy what the file says', async () => {
  const layout = makeLayout();
  const repo = TestRepo.create({ baseDir: join(layout.root, 'git') });
  repo.commit('main', { 'web/which.txt': 'main', 'top.txt': 'top' });
  repo.checkout('release').commit('release', { 'web/which.txt': 'release' });
  writeFileSync(
    layout.config,
    [
      '# the app, from its release branch',
      '; both comment styles, on their own lines',
      `remote = ${repo.url}/web#release`,
      `local: ${layout.link}`,
      '',
    ].join('\n'),
  );
  const r = await run(layout, '-f');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(layout.link, 'which.txt'), 'utf8'), 'release', 'the #release ref was kept');
  assert.equal(existsSync(join(layout.link, 'top.txt')), false, 'the web subdirectory was deployed');

  // A local directory whose name holds `#` and `;`.
  const odd = makeLayout();
  const source = join(odd.root, 'src#1;a');
  mkdirSync(source);
  writeTree(source, { 'v.txt': 'odd' });
  writeFileSync(odd.config, `REMOTE = ${source}\nLocal = ${odd.link}\n`);
  const o = await run(odd, '-f');
  assert.equal(o.code, 0, o.stderr);
  assert.equal(readFileSync(join(odd.link, 'v.txt'), 'utf8'), 'odd');
});

test('syntax errors, duplicates and unsafe app names: exit 2, all reported at once with file:line, nothing deployed', async () => {
  const layout = makeLayout();
  const source = join(layout.root, 'src');
  mkdirSync(source);
  writeTree(source, { 'v.txt': 'v1' });
  const lines = [
    `remote = ${source}`, // 1
    `local = ${layout.link}`, // 2
    'keep = 3', // 3
    'keep = 4', // 4  duplicate key
    `repository = ${source}`, // 5  alias of remote: duplicate
    'remtoe = x', // 6  did you mean remote
    'hook-timeout 90s', // 7  neither key/value nor comment
    '[app web', // 8  malformed header
    '[app a]', // 9
    `remote = ${source}`, // 10
    `local = ${join(layout.root, 'a', 'current')}`, // 11
    '[app a]', // 12 duplicate section
    '[app default]', // 13 reserved
    '[app releases]', // 14 collides with the default app's releases/
    '[app ..]', // 15 unsafe
    '[app x/y]', // 16 unsafe
    '',
  ];
  writeFileSync(layout.config, lines.join('\n'));
  for (const command of [['-f'], ['check-config']]) {
    const r = await run(layout, ...command);
    assert.equal(r.code, 2, r.stderr);
    const at = (line: number) => `${layout.config}:${line}: `;
    const expect: [number, RegExp][] = [
      [4, /keep: duplicate key: already set on line 3/],
      [5, /repository: duplicate key: already set on line 1 \(as remote/],
      [6, /remtoe: unknown key; did you mean `remote`\?/],
      [7, /not a setting/],
      [8, /malformed section header "\[app web"/],
      [12, /duplicate section \[app a\]: already started on line 9/],
      [13, /\[app default\]: app name "default" is reserved/],
      [14, /\[app releases\]: app name "releases" is reserved/],
      [15, /\[app \.\.\]: invalid app name/],
      [16, /\[app x\/y\]: invalid app name/],
    ];
    for (const [line, message] of expect) {
      const found = r.stderr.split('\n').find((l) => l.includes(at(line)));
      assert.ok(found, `no error for line ${line}:\n${r.stderr}`);
      assert.match(found, message);
    }
    assert.match(r.stderr, /invalid config \(10 problems\)/);
    assert.doesNotMatch(r.stderr, /accepted keys/, 'an unknown key is answered with the nearest one, not the list');
  }
  assert.equal(existsSync(layout.link), false);
  assert.equal(existsSync(layout.releasesDir), false);
});

test('a readable config holding a credential in a URL or key is warned about, naming the keys, never the secret', async () => {
  const layout = makeLayout();
  const source = join(layout.root, 'src');
  mkdirSync(source);
  writeTree(source, { 'v.txt': 'v1' });
  const cases: [string, string][] = [
    ['remote', 'remote = https://bob:Pa55word@example.invalid/org/app.git\n'],
    ['remote', 'remote = https://ghp_T0KENVALUE@example.invalid/org/app.git\n'],
    ['remote', 'remote = https://example.invalid/app.zip?token=T0KENVALUE\n'],
    ['[app api] remote', `remote = ${source}\n[app api]\nremote = https://bob:Pa55word@example.invalid/api.zip\nlocal = ${join(layout.root, 'api', 'current')}\n`],
    ['etcd-password', `remote = ${source}\netcd = http://127.0.0.1:2379\netcd-user = agent\netcd-password = Pa55word\n`],
  ];
  for (const [key, text] of cases) {
    writeFileSync(layout.config, text);
    chmodSync(layout.config, 0o644);
    const loose = await run(layout, 'check-config');
    assert.equal(loose.code, 0, loose.stderr);
    const warning = loose.stderr.split('\n').find((l) => l.includes('warning'));
    assert.ok(warning, `no warning for ${key}:\n${loose.stderr}`);
    assert.ok(warning.includes(`(${key})`), `warning names ${key}: ${warning}`);
    assert.ok(warning.includes(`chmod 600 ${layout.config}`), warning);
    assert.doesNotMatch(loose.stderr + loose.stdout, /Pa55word|T0KENVALUE/);
    chmodSync(layout.config, 0o600);
    const tight = await run(layout, 'check-config');
    assert.equal(tight.code, 0, tight.stderr);
    assert.doesNotMatch(tight.stderr, /warning/);
  }
  // A value refused for holding a credential is named, not echoed.
  writeFileSync(layout.config, `remote = ${source}\netcd = http://root:Pa55word@127.0.0.1:2379\n`);
  const refused = await run(layout, 'check-config');
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /:2: etcd: expected etcd URLs must not hold credentials/);
  assert.doesNotMatch(refused.stderr, /Pa55word/);
  // No credential, no warning, whatever the mode.
  writeFileSync(layout.config, `remote = git@example.invalid:org/app.git\n`);
  chmodSync(layout.config, 0o644);
  const plain = await run(layout, 'check-config');
  assert.equal(plain.code, 0, plain.stderr);
  assert.doesNotMatch(plain.stderr, /warning/);
});

test('file:// git repositories without .git in the path: // and #ref make them git, deployed from the config file', async () => {
  const base = makeLayout();
  const repo = TestRepo.create({ baseDir: join(base.root, 'git'), name: 'plainrepo' });
  repo.commit('main', { 'deploy/web/which.txt': 'main', 'other.txt': 'other' });
  repo.checkout('v2').commit('v2', { 'deploy/web/which.txt': 'v2' });
  const cases: [string, Record<string, string>][] = [
    [`${repo.url}//deploy/web#v2`, { 'which.txt': 'v2' }],
    [`${repo.url}//deploy/web`, { 'which.txt': 'main' }],
    [`${repo.url}#v2`, { 'deploy/web/which.txt': 'v2', 'other.txt': 'other' }],
    // A work tree (with .git) is a repository too.
    [`${pathToFileURL(repo.work).href}//deploy/web#main`, { 'which.txt': 'main' }],
  ];
  for (const [remote, expected] of cases) {
    const layout = makeLayout();
    writeFileSync(layout.config, `remote = ${remote}\nlocal = ${layout.link}\n`);
    const r = await run(layout, '-f');
    assert.equal(r.code, 0, `${remote}: ${r.stderr}`);
    assert.deepEqual(readTree(layout.link), expected, remote);
  }
});
