import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, type ConfigIssue } from '../../src/errors.js';
import { testdir } from '../support/tmp.js';

function load(files: Record<string, string>, extra: Parameters<typeof loadConfig>[0] = {}) {
  const dir = testdir(files);
  return { dir, config: loadConfig({ configFile: join(dir, 'repo-deploy.cfg'), cwd: dir, ...extra }) };
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.issues.map((i) => `${i.key}: ${i.message}`);
  }
  assert.fail('expected a ConfigError');
}

test('original keys, with defaults filled in', () => {
  const { config } = load({ 'repo-deploy.cfg': 'remote = https://example.com/app.zip\nschedule = */5 * * * *\n' });
  const [app] = config.apps;
  assert.equal(config.apps.length, 1);
  assert.equal(app!.name, 'default');
  assert.equal(app!.remote, 'https://example.com/app.zip');
  assert.equal(app!.local, '/var/deploy/current');
  assert.equal(app!.deployDir, '/var/deploy');
  assert.equal(app!.cacheDir, '/var/cache/repo-deploy');
  assert.equal(app!.preHooks, '/etc/repo-deploy/pre-update.d');
  assert.equal(app!.postHooks, '/etc/repo-deploy/post-update.d');
  assert.equal(app!.schedule, '*/5 * * * *');
  assert.equal(app!.keep, 5);
  assert.equal(app!.hookTimeoutMs, 600_000);
});

test('aliases: repository = remote, directory gives local', () => {
  const { config } = load({ 'repo-deploy.cfg': 'repository = https://example.com/app.zip\ndirectory = /srv/deploy\n' });
  assert.equal(config.apps[0]!.remote, 'https://example.com/app.zip');
  assert.equal(config.apps[0]!.local, '/srv/deploy/current');
});

test('durations: plain seconds and unit suffixes', () => {
  for (const [raw, ms] of [['90', 90_000], ['90s', 90_000], ['10m', 600_000], ['1h', 3_600_000], ['1.5', 1500]] as const) {
    const { config } = load({ 'repo-deploy.cfg': `remote = https://e.com/a.zip\nhook-timeout = ${raw}\n` });
    assert.equal(config.apps[0]!.hookTimeoutMs, ms, raw);
  }
});

test('precedence: flags > REPO_DEPLOY_* environment > file > defaults', () => {
  const files = { 'repo-deploy.cfg': 'remote = https://file.example/a.zip\nkeep = 3\nhook-timeout = 5m\n' };
  const { config } = load(files, {
    env: { REPO_DEPLOY_KEEP: '4', REPO_DEPLOY_REMOTE: 'https://env.example/a.zip' },
    flags: { remote: 'https://flag.example/a.zip' },
  });
  const app = config.apps[0]!;
  assert.equal(app.remote, 'https://flag.example/a.zip');
  assert.equal(app.keep, 4);
  assert.equal(app.hookTimeoutMs, 300_000);
});

test('every error is reported at once, naming file, key, value and what is accepted', () => {
  const dir = testdir({
    'repo-deploy.cfg': 'remote = https://e.com/a.zip\nkeep = many\nhook-timeout = soon\nschedule = every minute\nfrobnicate = 1\ngit-submodules = perhaps\n',
  });
  const file = join(dir, 'repo-deploy.cfg');
  try {
    loadConfig({ configFile: file, cwd: dir });
    assert.fail('expected ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.issues.length, 5);
    assert.match(error.message, /5 problems/);
    for (const key of ['keep', 'hook-timeout', 'schedule', 'frobnicate', 'git-submodules']) {
      const found: ConfigIssue | undefined = error.issues.find((i) => i.key === key);
      assert.ok(found, `no issue for ${key}`);
      assert.match(found.source, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+$`));
    }
    assert.match(error.message, /keep = "many": expected a whole number from 1 to 1000/);
    assert.match(error.message, /hook-timeout = "soon": expected seconds or a duration such as 90s/);
    assert.match(error.message, /schedule = "every minute": expected a cron expression with 5 fields/);
    assert.match(error.message, /:5: frobnicate: unknown key: not a repo-deploy setting/);
    assert.equal(error.exitCode, 2);
  }
});

test('schedule accepts 5 and 6 fields only', () => {
  assert.deepEqual(issuesOf(() => load({ 'repo-deploy.cfg': 'remote = https://e.com/a.zip\nschedule = * * * *\n' })).length, 1);
  const six = load({ 'repo-deploy.cfg': 'remote = https://e.com/a.zip\nschedule = */10 * * * * *\n' });
  assert.equal(six.config.apps[0]!.schedule, '*/10 * * * * *');
});

test('a missing default config file is fine, a missing named one is an error', () => {
  const dir = testdir();
  const config = loadConfig({ flags: { remote: join(dir) }, cwd: dir, configFile: undefined });
  assert.equal(config.apps.length, 1);
  const issues = issuesOf(() => loadConfig({ configFile: join(dir, 'nope.cfg'), cwd: dir }));
  assert.match(issues[0]!, /config file not found/);
});

test('no remote anywhere is an error that says where to put one', () => {
  const issues = issuesOf(() => load({ 'repo-deploy.cfg': 'keep = 3\n' }));
  assert.match(issues.join('\n'), /no remote configured: give REMOTE on the command line, or set remote = URL/);
});

test('hook directories named explicitly must exist', () => {
  const issues = issuesOf(() => load({ 'repo-deploy.cfg': 'remote = https://e.com/a.zip\npre-hooks = ./missing-hooks\n' }));
  assert.match(issues[0]!, /^pre-hooks: hook directory does not exist/);
});

test('relative paths in the file resolve against its directory; flags against cwd', () => {
  const dir = testdir({ 'etc/repo-deploy.cfg': 'remote = https://e.com/a.zip\nlocal = ../srv/current\n' });
  mkdirSync(join(dir, 'work'));
  const config = loadConfig({ configFile: join(dir, 'etc/repo-deploy.cfg'), cwd: join(dir, 'work'), flags: { cache: 'cache' } });
  assert.equal(config.apps[0]!.local, join(dir, 'srv/current'));
  assert.equal(config.apps[0]!.cacheDir, join(dir, 'work/cache'));
});

test('[app NAME] sections inherit top-level keys and get their own paths', () => {
  const { dir, config } = load({
    'repo-deploy.cfg': 'directory = /srv/deploy\nkeep = 3\n[app web]\nremote = https://e.com/web.zip\n[app api]\nremote = https://e.com/api.zip\nkeep = 7\n',
  });
  assert.deepEqual(config.apps.map((a) => a.name), ['web', 'api']);
  const [web, api] = config.apps;
  assert.equal(web!.local, '/srv/deploy/web/current');
  assert.equal(web!.keep, 3);
  assert.equal(api!.keep, 7);
  assert.equal(web!.preHooks, join(dir, 'web/pre-update.d'));
});

test('bad sections and apps sharing a directory are errors', () => {
  const issues = issuesOf(() =>
    load({ 'repo-deploy.cfg': '[server]\nx = 1\n[app a]\nremote = https://e.com/a.zip\nlocal = /srv/x/current\n[app b]\nremote = https://e.com/b.zip\nlocal = /srv/x/other\n' }),
  );
  assert.equal(issues.length, 2);
  assert.match(issues[0]!, /\[server\]: unknown section/);
  assert.match(issues[1]!, /shares its directory with app a/);
});

test('secrets are never echoed in errors; aws keys must come in pairs', () => {
  const dir = testdir({ 'repo-deploy.cfg': 'remote = https://e.com/a.zip\naws-secret-key = SUPERSECRETVALUE\n' });
  try {
    loadConfig({ configFile: join(dir, 'repo-deploy.cfg'), cwd: dir });
    assert.fail('expected ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /aws-access-key and aws-secret-key must be set together/);
    assert.doesNotMatch(error.message, /SUPERSECRETVALUE/);
  }
});

test('a config holding a secret and readable by others gets a warning naming the fix', () => {
  const dir = testdir({ 'repo-deploy.cfg': 'remote = https://e.com/a.zip\naws-access-key = AKIAEXAMPLE\naws-secret-key = secret123\n' });
  const file = join(dir, 'repo-deploy.cfg');
  chmodSync(file, 0o644);
  assert.match(loadConfig({ configFile: file, cwd: dir }).warnings.join(), /readable by its group and all users \(mode 0644\); run: chmod 600 /);
  chmodSync(file, 0o600);
  assert.deepEqual(loadConfig({ configFile: file, cwd: dir }).warnings, []);
});

test('minisign keys are checked at load time, naming the key they came from', () => {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const line = Buffer.concat([Buffer.from('Ed'), Buffer.alloc(8, 7), raw]).toString('base64');
  const pub = `untrusted comment: minisign public key 0707070707070707\n${line}\n`;
  const good = load({ 'repo-deploy.cfg': 'remote = https://e.com/a.zip\nminisign-key-file = key.pub\n', 'key.pub': pub });
  assert.equal(good.config.apps[0]!.verify.minisignKey, pub);
  assert.equal(load({ 'repo-deploy.cfg': `remote = https://e.com/a.zip\nminisign-key = ${line}\n` }).config.apps[0]!.verify.minisignKey, line);
  assert.match(issuesOf(() => load({ 'repo-deploy.cfg': 'remote = https://e.com/a.zip\nminisign-key = RWSnotakey\n' }))[0]!, /^minisign-key: pinned minisign key is malformed/);
  assert.match(
    issuesOf(() => load({ 'repo-deploy.cfg': 'remote = https://e.com/a.zip\nminisign-key-file = key.pub\n', 'key.pub': 'untrusted comment: x\ngarbage\n' }))[0]!,
    /^minisign-key-file: pinned minisign key is malformed/,
  );
  assert.match(issuesOf(() => load({ 'repo-deploy.cfg': 'remote = https://e.com/a.zip\nminisign-key-file = missing.pub\n' }))[0]!, /^minisign-key-file: cannot read the minisign public key file: ENOENT/);
});
