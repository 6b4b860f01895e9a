/**
 * Start-up cost of a `-f` run: the metrics (prom-client), the etcd client and the AWS SDK are
 * loaded only by what uses them (node-cron is: the config's schedule is validated with it). The built CLI runs with a resolve
 * hook (through NODE_OPTIONS) that writes every module specifier it resolves to a file; a daemon
 * with `listen` must resolve node-cron and prom-client, which shows the detector works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, makeLayout, runCli, startBackground } from '../support/cli.js';
import { testdir, writeTree } from '../support/tmp.js';

const hooks = `
import { appendFileSync } from 'node:fs';
let log;
export async function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  appendFileSync(log, specifier + '\\n');
  return next(specifier, context);
}
`;
const register = `
import { register } from 'node:module';
register(new URL('./hooks.mjs', import.meta.url), { data: { log: process.env.RESOLVE_LOG } });
`;

/** Environment that makes the CLI log what it resolves into the returned file. */
function recording(): { env: Record<string, string>; resolved: () => string[] } {
  const dir = testdir({ 'hooks.mjs': hooks, 'register.mjs': register });
  const log = join(dir, 'resolved.log');
  writeFileSync(log, '');
  return {
    env: { NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'register.mjs')).href}`, RESOLVE_LOG: log },
    resolved: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  };
}

const heavy = ['prom-client', 'etcd3', '@aws-sdk/client-s3'];

test('a -f run loads neither the metrics, etcd nor the AWS SDK', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  writeTree(remote, { 'v.txt': 'v1' });
  const { env, resolved } = recording();
  const run = await runCli([...layout.args(remote), '-f'], { cwd: layout.root, env });
  assert.equal(run.code, 0, run.stderr);
  const seen = resolved();
  assert.ok(seen.includes('pino'), `the detector saw nothing: ${seen.join(', ')}`);
  assert.deepEqual(heavy.filter((m) => seen.includes(m)), []);
});

test('the daemon with listen loads the scheduler and the metrics', async () => {
  const layout = makeLayout();
  const remote = join(layout.root, 'src');
  mkdirSync(remote);
  writeTree(remote, { 'v.txt': 'v1' });
  writeFileSync(layout.config, `schedule = */1 * * * * *\nlisten = 127.0.0.1:${await freePort()}\n`);
  const { env, resolved } = recording();
  const daemon = startBackground(layout.args(remote), { cwd: layout.root, env });
  try {
    await daemon.waitForLog('first deploy', (l) => l.msg === 'deployed');
  } finally {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
  const seen = resolved();
  assert.ok(seen.includes('node-cron'), 'node-cron not loaded by the daemon');
  assert.ok(seen.includes('prom-client'), 'prom-client not loaded with listen');
});
