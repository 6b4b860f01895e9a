import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, writeHook, type LogLine } from '../support/cli.js';
import { startEtcd } from '../support/etcd.js';
import { deployed, makeFleet, statusOf, type Agent, type Fleet } from './fleet-agents.js';

// Bake and validation with a fleet, end to end: agents are separate `-f` processes sharing one
// real etcd. A baking host keeps its rollout slot, so the next host waits for the bake to end;
// a validation that fails during the bake reverts the release and quarantines the version.

const etcd = await startEtcd();

/** Gives every agent a validate.d (returned by agent id) and the common keys plus `extra`. */
function withValidate(fleet: Fleet, extra: string[]): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const agent of fleet.agents) {
    const dir = join(agent.layout.root, 'validate.d');
    mkdirSync(dir, { recursive: true });
    dirs.set(agent.id, dir);
    agent.configure([`validate-hooks = ${dir}`, ...extra].join('\n'));
  }
  return dirs;
}

function validateHook(agent: Agent, dir: string, name: string, body = ''): void {
  writeHook({ root: agent.layout.root, pre: dir, post: dir }, 'pre', name, body);
}

const timeOf = (line: LogLine | undefined): number => Date.parse(String(line?.time));

test('bake holds the rollout slot: with max-parallel 1 the second host waits until the first has baked', async () => {
  const fleet = makeFleet(2, [`etcd = ${etcd.endpoint}`, 'rollout-group = bake', 'max-parallel = 1', 'lease-ttl = 2s'].join('\n'));
  const [h1, h2] = fleet.agents as [Agent, Agent];
  const dirs = withValidate(fleet, ['bake = 20s', 'validate-interval = 2s']);
  for (const agent of fleet.agents) validateHook(agent, dirs.get(agent.id)!, '10-ok');
  fleet.publish('v1');

  const first = h1.start(['-f'], { timeoutMs: 60_000 });
  await first.waitForLog('h1 baking', (l) => /^baking release/.test(l.msg), 30_000);
  const second = await h2.run(['-f'], { timeoutMs: 60_000 });
  const firstEnd = await first.exited;
  assert.equal(firstEnd.code, 0, first.stderr());
  assert.equal(second.code, 0, second.stderr);
  assert.equal(deployed(h1), 'v1');
  assert.equal(deployed(h2), 'v1');

  const baked = first.logs.find((l) => l.msg === 'release baked: confirming it');
  const taken = second.logs.find((l) => l.msg === 'rollout slot taken');
  assert.ok(baked, 'h1 finished its bake');
  assert.ok(taken, 'h2 took a slot');
  assert.ok(second.logs.some((l) => l.msg === 'waiting for a rollout slot'), 'h2 waited for the slot h1 held while baking');
  assert.ok(timeOf(taken) >= timeOf(baked), `h2 took the slot (${String(taken.time)}) only after h1 baked (${String(baked.time)})`);
  // Validated right after the post-update hooks and again during the 20 s bake.
  const validations = hookRuns(h1.layout).filter((r) => r.name === '10-ok' && r.phase === 'validate');
  assert.ok(validations.length >= 3, `h1 validated at least 3 times while baking (saw ${validations.length})`);
  const status = await statusOf(h1);
  assert.equal(status.lastCheck?.result, 'deployed');
  assert.equal(status.interrupted, undefined, 'the bake ended: nothing left in progress');
});

test('a validation failing during the bake reverts the release and quarantines the version', async () => {
  const fleet = makeFleet(2, [`etcd = ${etcd.endpoint}`, 'rollout-group = bake-fail', 'max-parallel = 2', 'lease-ttl = 2s'].join('\n'));
  const [h1, h2] = fleet.agents as [Agent, Agent];
  let dirs = withValidate(fleet, []);
  for (const agent of fleet.agents) writeHook(agent.layout, 'post', '10-record');
  fleet.publish('v1');
  for (const agent of fleet.agents) assert.equal((await agent.run(['-f'])).code, 0);
  const v1 = h1.layout.currentId();

  dirs = withValidate(fleet, ['bake = 20s', 'validate-interval = 1s']);
  // v2 passes its first two validations on h1 (right after the post-update hooks, and once
  // while baking), then fails: it went bad a while after it was deployed.
  const counter = join(h1.layout.root, 'validations');
  writeFileSync(counter, '0');
  validateHook(h1, dirs.get(h1.id)!, '20-health', `if grep -q v2 v.txt; then n=$(( $(cat '${counter}') + 1 )); echo $n > '${counter}'; if [ $n -ge 3 ]; then echo "error rate too high on v2" >&2; exit 5; fi; fi`);
  fleet.publish('v2');
  const r = await h1.run(['-f'], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /reverted/);
  assert.match(r.stderr, /validate hook 20-health exited with status 5/);
  assert.ok(r.logs.some((l) => /^baking release/.test(l.msg)), 'the failure came during the bake');
  assert.equal(h1.layout.currentId(), v1, 'back on the v1 release');
  assert.equal(deployed(h1), 'v1');
  assert.ok(hookRuns(h1.layout).some((run) => run.name === '10-record' && run.release === v1 && run.revert === '1'), 'post-update hooks re-ran for v1 with REPO_DEPLOY_REVERT=1');
  const status = await statusOf(h1);
  assert.equal(status.lastCheck?.result, 'reverted');

  const fleetStatus = JSON.parse((await h2.run(['fleet', 'status', '--json'])).stdout) as { quarantined: { version: string; host: string; reason: string }[]; slots: unknown[] };
  assert.equal(fleetStatus.quarantined.length, 1);
  assert.equal(fleetStatus.quarantined[0]!.host, h1.id);
  assert.match(fleetStatus.quarantined[0]!.reason, /20-health/);
  assert.deepEqual(fleetStatus.slots, [], 'the slot was given back');

  const other = await h2.run(['-f']);
  assert.equal(other.code, 1, other.stderr);
  assert.match(other.stderr, /quarantined/);
  assert.equal(deployed(h2), 'v1', 'the second host never deploys the quarantined version');
});
