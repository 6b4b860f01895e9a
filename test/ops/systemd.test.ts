import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { testdir } from '../support/tmp.js';

// The shipped unit files, checked with the real systemd-analyze (from the `systemd` package,
// listed in test/support/tools.mjs). Missing, every test here fails.

const unitDir = fileURLToPath(new URL('../../systemd/', import.meta.url));
const shippedCommand = '/usr/local/bin/repo-deploy';
const unitNames = ['repo-deploy.service', 'repo-deploy-once.service', 'repo-deploy.timer'] as const;

const shipped = (name: string): string => readFileSync(join(unitDir, name), 'utf8');

/**
 * Copies units into a fresh directory. `verify` refuses an ExecStart whose command does not
 * exist, and this machine has no installed repo-deploy, so by default the command is pointed
 * at a stand-in executable; `command` overrides that.
 */
function stage(units: Record<string, string>, command?: string): { dir: string; paths: string[] } {
  const dir = testdir({ 'bin/repo-deploy': { content: '#!/bin/sh\nexit 0\n', mode: 0o755 } });
  const exe = command ?? join(dir, 'bin/repo-deploy');
  const paths = Object.entries(units).map(([name, text]) => {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text.replaceAll(shippedCommand, exe));
    return path;
  });
  return { dir, paths: paths.filter((p) => !p.endsWith('.conf')) };
}

/** systemd-analyze verify; problems with our units, including the warnings it only prints. */
function verify(paths: string[]): { status: number | null; problems: string[] } {
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...paths], { encoding: 'utf8' });
  assert.equal(r.error, undefined, `systemd-analyze could not run: ${r.error?.message}`);
  // Unknown keys and unparsable values are only warnings ("…, ignoring") with exit status 0,
  // yet each is a setting that silently does nothing: any line about our files is a failure.
  // Lines about the host's own units are not ours to judge.
  const problems = r.stderr.split('\n').filter((l) => l.includes('repo-deploy'));
  return { status: r.status, problems };
}

function assertClean(paths: string[]): void {
  const { status, problems } = verify(paths);
  assert.deepEqual(problems, []);
  assert.equal(status, 0);
}

/** `Key=value` settings of one unit file, last one wins (as systemd reads them). */
function settings(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) map.set(m[1]!, m[2]!.trim());
  }
  return map;
}

/** A systemd time span in milliseconds, parsed by systemd itself. */
function timespanMs(span: string): number {
  const r = spawnSync('systemd-analyze', ['timespan', span], { encoding: 'utf8' });
  const us = /μs:\s*(\d+)/.exec(r.stdout);
  assert.ok(us, `systemd-analyze timespan ${span}: ${r.stderr}`);
  return Number(us[1]) / 1000;
}

/** Overall exposure score (0 = locked down, 10 = nothing restricted) from `security --offline`. */
function exposure(path: string): number {
  const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', path], { encoding: 'utf8' });
  const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout + r.stderr);
  assert.ok(m, `no exposure score for ${path}: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

describe('systemd units pass systemd-analyze verify', () => {
  test('the daemon service', () => {
    assertClean(stage({ 'repo-deploy.service': shipped('repo-deploy.service') }).paths);
  });

  test('the timer together with the one-shot service it starts', () => {
    const { paths } = stage({ 'repo-deploy.timer': shipped('repo-deploy.timer'), 'repo-deploy-once.service': shipped('repo-deploy-once.service') });
    assertClean(paths);
  });

  test('the daemon service with the strict drop-in installed', () => {
    const { paths } = stage({
      'repo-deploy.service': shipped('repo-deploy.service'),
      'repo-deploy.service.d/strict.conf': shipped('repo-deploy-strict.conf'),
    });
    assertClean(paths);
  });
});

describe('verify genuinely fails on broken units', () => {
  test('a command that is not installed', () => {
    const { dir } = stage({});
    const { paths } = stage({ 'repo-deploy.service': shipped('repo-deploy.service') }, join(dir, 'no-such-repo-deploy'));
    const { status, problems } = verify(paths);
    assert.notEqual(status, 0);
    assert.match(problems.join('\n'), /not executable/);
  });

  const broken: Array<[string, string, (text: string) => string, RegExp]> = [
    ['a misspelt key', 'repo-deploy.service', (t) => t.replace(/^KillMode=mixed$/m, 'KilMode=mixed'), /Unknown key/i],
    ['an invalid value', 'repo-deploy.service', (t) => t.replace(/^Restart=on-failure$/m, 'Restart=sometimes'), /restart/i],
    ['a drop-in with an invalid value', 'repo-deploy.service.d/bad.conf', () => '[Service]\nProtectSystem=mostly\n', /protect system/i],
    ['a timer without a schedule', 'repo-deploy.timer', (t) => t.replace(/^OnCalendar=.*$/m, ''), /lacks value setting/i],
  ];
  for (const [name, file, mutate, expected] of broken) {
    test(name, () => {
      const units: Record<string, string> = { 'repo-deploy.service': shipped('repo-deploy.service') };
      const original = file.endsWith('.conf') ? '' : shipped(file);
      units[file] = mutate(original);
      assert.notEqual(units[file], original, 'the mutation must change the unit');
      const { problems } = verify(stage(units).paths);
      assert.match(problems.join('\n'), expected);
    });
  }
});

describe('what the units promise', () => {
  const service = settings(shipped('repo-deploy.service'));
  const once = settings(shipped('repo-deploy-once.service'));
  const timer = settings(shipped('repo-deploy.timer'));

  test('stopping waits longer than a hook may run, and signals only the agent first', () => {
    // The default hook-timeout as the loader resolves it, so the units follow if it changes.
    const dir = testdir({ 'empty.cfg': '', 'src/.keep': '' });
    const [app] = loadConfig({ configFile: join(dir, 'empty.cfg'), flags: { remote: join(dir, 'src') }, cwd: dir }).apps;
    assert.ok(app);
    for (const unit of [service, once]) {
      assert.equal(unit.get('KillMode'), 'mixed');
      assert.ok(timespanMs(unit.get('TimeoutStopSec')!) > app.hookTimeoutMs, 'TimeoutStopSec must exceed the default hook-timeout');
    }
  });

  test('reload is SIGHUP to the main process; restart on failure, not on a config error', () => {
    assert.match(service.get('ExecReload')!, /kill -HUP \$MAINPID$/);
    assert.equal(service.get('Restart'), 'on-failure');
    assert.equal(service.get('RestartPreventExitStatus'), '2');
    assert.equal(service.get('ExecStart'), shippedCommand);
  });

  test('the timer starts the one-shot -f service, not the daemon', () => {
    assert.equal(timer.get('Unit'), 'repo-deploy-once.service');
    assert.ok(unitNames.includes(timer.get('Unit') as never));
    assert.equal(once.get('Type'), 'oneshot');
    assert.equal(once.get('ExecStart'), `${shippedCommand} -f`);
    // A busy lock (exit 75) is not a failure; an update failure (1) is.
    assert.equal(once.get('SuccessExitStatus'), '75');
  });

  test('hardening lowers the exposure score, and the strict drop-in lowers it further', () => {
    const bare = shipped('repo-deploy.service')
      .split('\n')
      .filter((l) => !/^(Private|Protect|Restrict|Lock|SystemCall|UMask)/.test(l))
      .join('\n');
    const plain = stage({ 'repo-deploy.service': bare });
    const hardened = stage({ 'repo-deploy.service': shipped('repo-deploy.service') });
    const strict = stage({
      'repo-deploy.service': shipped('repo-deploy.service'),
      'repo-deploy.service.d/strict.conf': shipped('repo-deploy-strict.conf'),
    });
    const scores = { bare: exposure(plain.paths[0]!), hardened: exposure(hardened.paths[0]!), strict: exposure(strict.paths[0]!) };
    assert.ok(scores.hardened < scores.bare, JSON.stringify(scores));
    assert.ok(scores.strict < scores.hardened, JSON.stringify(scores));
  });
});
