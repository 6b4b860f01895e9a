import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { listHooks } from '../../src/hooks/list.js';
import { createLogger } from '../../src/log.js';
import { checkOnce } from '../../src/pipeline/check.js';
import { readStatus } from '../../src/status.js';
import { testdir, type FixtureEntry } from '../support/tmp.js';

// The example hooks of etc/pre-update.d and etc/post-update.d, run for real by the pipeline
// (real sh, npm, curl, systemctl) after being "installed" the way their README says: copied
// without .example, settings edited, chmod 755.

const etc = fileURLToPath(new URL('../../etc/', import.meta.url));
const phases = ['pre-update.d', 'post-update.d'] as const;
const example = (phase: string, name: string) => readFileSync(join(etc, phase, name), 'utf8');

/** The example with `NAME="..."` settings replaced, as an operator edits the copy. */
function configured(text: string, settings: Record<string, string>): string {
  let out = text;
  for (const [name, value] of Object.entries(settings)) {
    const re = new RegExp(`^${name}=.*$`, 'm');
    assert.match(out, re, `setting ${name} exists`);
    out = out.replace(re, `${name}="${value}"`);
  }
  return out;
}

/** An app deploying `src/` with the given hooks installed; returns its config and dirs. */
function appWith(files: Record<string, FixtureEntry>, hooks: { pre?: Record<string, string>; post?: Record<string, string> }) {
  const tree: Record<string, FixtureEntry> = { 'pre-update.d/.keep': '', 'post-update.d/.keep': '' };
  for (const [rel, entry] of Object.entries(files)) tree[`src/${rel}`] = entry;
  for (const [name, text] of Object.entries(hooks.pre ?? {})) tree[`pre-update.d/${name}`] = { content: text, mode: 0o755 };
  for (const [name, text] of Object.entries(hooks.post ?? {})) tree[`post-update.d/${name}`] = { content: text, mode: 0o755 };
  tree['repo-deploy.cfg'] = 'remote = src\ndirectory = deploy\ncache = cache\npre-hooks = pre-update.d\npost-hooks = post-update.d\nhook-timeout = 2m\n';
  const dir = testdir(tree);
  const [app] = loadConfig({ configFile: join(dir, 'repo-deploy.cfg'), cwd: dir }).apps;
  assert.ok(app);
  // Hook output is logged line by line; a failing run's tail is also kept for `status`.
  const logged: string[] = [];
  const logger = createLogger({ destination: { write: (line: string) => void logged.push(line) } });
  return {
    dir,
    app,
    check: () => checkOnce({ app, logger }),
    hookOutput: async () => (await readStatus([app]))[0]!.lastHookOutput.join('\n'),
    logs: () => logged.join(''),
  };
}

describe('shipped example hooks', () => {
  for (const phase of phases) {
    test(`${phase}: a README, examples that never run, POSIX sh syntax`, async () => {
      const names = readdirSync(join(etc, phase));
      assert.ok(names.includes('README'));
      const examples = names.filter((n) => n.endsWith('.example'));
      assert.ok(examples.length >= 1);
      for (const name of [...examples, 'README']) assert.equal(statSync(join(etc, phase, name)).mode & 0o111, 0, `${name} is not executable`);
      assert.deepEqual((await listHooks(join(etc, phase))).run, []);
      for (const name of examples) {
        const text = example(phase, name);
        assert.match(text, /^#!\/bin\/sh\n/);
        assert.doesNotMatch(text, /\r/);
        const syntax = spawnSync('dash', ['-n', join(etc, phase, name)], { encoding: 'utf8' });
        assert.equal(syntax.status, 0, `${name}: ${syntax.stderr}`);
        assert.ok(readFileSync(join(etc, phase, 'README'), 'utf8').includes(name), `README lists ${name}`);
      }
    });
  }
});

describe('20-install-dependencies: npm ci in the new release before the swap', () => {
  const hook = () => example('pre-update.d', '20-install-dependencies.example');
  const project = (deps: Record<string, string>) => ({
    'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }),
    'lib/dep/package.json': JSON.stringify({ name: 'dep', version: '1.0.0', main: 'index.js' }),
    'lib/dep/index.js': 'module.exports = 42;\n',
  });
  /** A real lock file, made by npm from the project (local file: dependency, no network). */
  function lock(files: Record<string, string>): string {
    const dir = testdir(files);
    const r = spawnSync('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund', '--offline'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(join(dir, 'package-lock.json'), 'utf8');
  }

  test('installs, and the release current points at has its node_modules', async () => {
    const files = project({ dep: 'file:lib/dep' });
    const { app, check } = appWith({ ...files, 'package-lock.json': lock(files) }, { pre: { '20-install-dependencies': hook() } });
    const outcome = await check();
    assert.equal(outcome.result, 'deployed', outcome.error?.message);
    const release = join(app.deployDir, readlinkSync(app.local));
    const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(require("dep")))'], { cwd: release, encoding: 'utf8' });
    assert.equal(r.stdout, '42');
  });

  test('a lock file out of step with package.json blocks the update', async () => {
    const files = project({ dep: 'file:lib/dep' });
    const stale = lock(project({}));
    const { app, check, hookOutput } = appWith({ ...files, 'package-lock.json': stale }, { pre: { '20-install-dependencies': hook() } });
    const outcome = await check();
    assert.equal(outcome.result, 'blocked');
    assert.equal(existsSync(app.local), false, 'nothing was published');
    assert.match(await hookOutput(), /npm error/);
  });

  test('without a lock file there is nothing to install', async () => {
    const { check, logs } = appWith({ 'index.html': 'hi' }, { pre: { '20-install-dependencies': hook() } });
    assert.equal((await check()).result, 'deployed');
    assert.match(logs(), /no package-lock\.json in release/);
  });
});

describe('60-wait-healthy: retries the health check, reverts when it never passes', () => {
  /** A real app stand-in: 503 for the first `failFirst` requests, then 200 with `body`. */
  async function appServer(failFirst: number, body: string) {
    const state = { requests: 0, failFirst, body };
    const server = createServer((_req, res) => {
      state.requests++;
      if (state.requests <= state.failFirst) res.writeHead(503).end('starting');
      else res.writeHead(200).end(state.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    after(() => server.close());
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`, state };
  }
  const hook = (url: string, extra: Record<string, string> = {}) =>
    configured(example('post-update.d', '60-wait-healthy.example'), { URL: url, ATTEMPTS: '5', DELAY: '0.05', TIMEOUT: '2', ...extra });

  test('healthy on the third attempt: deployed', async () => {
    const app = await appServer(2, 'ok');
    const { check, hookOutput } = appWith({ 'index.html': 'v1' }, { post: { '60-wait-healthy': hook(app.url) } });
    assert.equal((await check()).result, 'deployed');
    assert.equal(app.state.requests, 3);
    assert.match(await hookOutput(), /healthy after 3 attempt/);
  });

  test('never healthy: the update is reverted to the previous release', async () => {
    const app = await appServer(0, 'version 1');
    const { dir, app: cfg, check, hookOutput } = appWith({ 'index.html': 'v1' }, { post: { '60-wait-healthy': hook(app.url, { EXPECT: 'version 1' }) } });
    assert.equal((await check()).result, 'deployed');
    const first = basename(readlinkSync(cfg.local));
    // The new version comes up still answering as the old one: EXPECT is not met.
    writeFileSync(join(dir, 'src/index.html'), 'v2');
    app.state.body = 'version 0';
    const outcome = await check();
    assert.equal(outcome.result, 'reverted');
    assert.equal(basename(readlinkSync(cfg.local)), first);
    assert.match(await hookOutput(), /not healthy after 5 attempts/);
  });
});

describe('50-restart-unit', () => {
  test('a unit that cannot be restarted fails the hook, so the update reverts', async () => {
    const unit = `repo-deploy-test-missing-${process.pid}.service`;
    const text = configured(example('post-update.d', '50-restart-unit.example'), { UNIT: unit, SETTLE: '0' });
    const { app, check, hookOutput } = appWith({ 'index.html': 'v1' }, { post: { '50-restart-unit': text } });
    const outcome = await check();
    // A first deploy has nothing to revert to: current is removed.
    assert.equal(outcome.result, 'reverted');
    assert.equal(existsSync(app.local), false);
    assert.match(await hookOutput(), new RegExp(`restarting ${unit.replace(/\./g, '\\.')} for release`));
  });
});
