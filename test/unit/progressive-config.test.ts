import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { testdir } from '../support/tmp.js';

// The progressive-delivery keys read from a real config file: defaults (per app for the
// validation hook directory, like the other hook directories), values, and errors by line.

function load(text: string) {
  const dir = testdir({ 'repo-deploy.cfg': text });
  return { dir, config: loadConfig({ configFile: join(dir, 'repo-deploy.cfg'), cwd: dir }) };
}

test('defaults: validate.d beside the other hook directories, 30 s interval, no bake, rollback on, no window', () => {
  const { dir, config } = load('remote = https://example.com/app.zip\nlocal = /srv/web/current\n[app api]\nremote = https://example.com/api.zip\n');
  const [web, api] = config.apps;
  assert.equal(web!.validateHooks, '/etc/repo-deploy/validate.d');
  assert.equal(api!.validateHooks, join(dir, 'api', 'validate.d'), 'a named app has its own');
  assert.equal(web!.validateIntervalMs, 30_000);
  assert.equal(web!.bakeMs, 0);
  assert.equal(web!.rollbackOnQuarantine, true);
  assert.equal(web!.deployWindow, undefined);
});

test('values: a named app does not inherit validate-hooks; bake, interval, window and rollback are inherited', () => {
  const dir = testdir();
  mkdirSync(join(dir, 'checks'));
  const { config } = load(
    [
      'remote = https://example.com/app.zip',
      'local = /srv/web/current',
      `validate-hooks = ${join(dir, 'checks')}`,
      'bake = 5m',
      'validate-interval = 10s',
      'rollback-on-quarantine = no',
      'deploy-window = Mon-Fri 09:00-17:00, Sat 10:00-12:00 Europe/Berlin',
      '[app api]',
      'remote = https://example.com/api.zip',
    ].join('\n'),
  );
  const [web, api] = config.apps;
  assert.equal(web!.validateHooks, join(dir, 'checks'));
  assert.notEqual(api!.validateHooks, join(dir, 'checks'));
  for (const app of [web!, api!]) {
    assert.equal(app.bakeMs, 300_000);
    assert.equal(app.validateIntervalMs, 10_000);
    assert.equal(app.rollbackOnQuarantine, false);
    assert.equal(app.deployWindow?.zone, 'Europe/Berlin');
    assert.equal(app.deployWindow?.ranges.length, 2);
  }
});

test('errors name the line and say what to write', () => {
  try {
    load('remote = https://example.com/app.zip\nvalidate-hooks = /nonexistent/validate.d\nvalidate-interval = 0\ndeploy-window = weekdays 9-5\n');
    assert.fail('expected a ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const issues = error.issues.map((i) => `${i.source.replace(/.*:/, 'line ')} ${i.key}: ${i.message}`);
    assert.ok(issues.some((i) => /^line 2 validate-hooks: hook directory does not exist/.test(i)), issues.join('\n'));
    assert.ok(issues.some((i) => /^line 3 validate-interval: expected .*at least 1000 ms/.test(i)), issues.join('\n'));
    assert.ok(issues.some((i) => /^line 4 deploy-window: expected ranges "DAYS HH:MM-HH:MM"/.test(i)), issues.join('\n'));
  }
});
