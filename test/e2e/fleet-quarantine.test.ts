import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hookRuns, writeHook } from '../support/cli.js';
import { startEtcd } from '../support/etcd.js';
import { deployed, makeFleet, statusOf, type Agent } from './fleet-agents.js';

// End-to-end quarantine through the built CLI and a real etcd: a version whose post-update
// hook fails on the first host is reverted there and deployed nowhere else, until an operator
// lifts the quarantine with `repo-deploy fleet clear`.

const etcd = await startEtcd();

interface FleetStatusJson {
  group: string;
  agents: { id: string; version?: string; result: string }[];
  slots: unknown[];
  quarantined: { version: string; host: string; time: string; reason: string }[];
}

/** Four hosts on v1; v2 published, and reverted by host 1's failing health check. */
async function revertedOnFirstHost(group: string) {
  const fleet = makeFleet(4, [`etcd = ${etcd.endpoint}`, `rollout-group = ${group}`, 'max-parallel = 2', 'lease-ttl = 2s'].join('\n'));
  const [h1, ...others] = fleet.agents as [Agent, ...Agent[]];
  for (const agent of fleet.agents) writeHook(agent.layout, 'post', '10-record');
  // Host 1's health check rejects v2 (cwd is the release being confirmed).
  writeHook(h1.layout, 'post', '20-health', 'if grep -q v2 v.txt; then echo "health check failed on v2" >&2; exit 3; fi');

  fleet.publish('v1');
  for (const agent of fleet.agents) {
    const r = await agent.run(['-f']);
    assert.equal(r.code, 0, `${agent.id}: ${r.stderr}`);
  }
  const v1Release = new Map(fleet.agents.map((a) => [a.id, a.layout.currentId()]));

  fleet.publish('v2');
  const first = await h1.run(['-f']);
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stderr, /reverted/);
  assert.equal(deployed(h1), 'v1', 'host 1 reverted to v1');
  assert.equal(h1.layout.currentId(), v1Release.get(h1.id));
  const v2 = (await statusOf(h1)).lastCheck?.version;
  assert.ok(v2, 'host 1 status names the version it reverted');
  assert.ok(first.logs.some((l) => l.msg === 'version quarantined for the rollout group' && l.version === v2), 'host 1 logged the quarantine');

  return { h1, others, v1Release, v2 };
}

test('a version reverted on the first host is quarantined: the other hosts skip it, with no hooks, release or back-off', async () => {
  const { h1, others, v1Release, v2 } = await revertedOnFirstHost('web-skip');
  for (const agent of others) {
    const hooksBefore = hookRuns(agent.layout).length;
    const releasesBefore = agent.layout.releases();
    const r = await agent.run(['-f']);
    assert.equal(r.code, 1, `${agent.id}: ${r.stderr}`);
    assert.match(r.stderr, /quarantined/);
    assert.match(r.stderr, new RegExp(`reverted on ${h1.id}`), 'the message names the host that reverted it');
    const line = r.logs.find((l) => l.msg === 'version quarantined by the fleet, not deploying it');
    assert.ok(line, `${agent.id} logged why it skipped the version`);
    assert.equal(line.host, h1.id);
    assert.equal(hookRuns(agent.layout).length, hooksBefore, `${agent.id} ran no hooks for the quarantined version`);
    assert.deepEqual(agent.layout.releases(), releasesBefore, `${agent.id} made no release`);
    assert.equal(agent.layout.currentId(), v1Release.get(agent.id));
    const status = await statusOf(agent);
    assert.equal(status.lastCheck?.result, 'quarantined');
    assert.equal(status.lastCheck?.version, v2);
    assert.equal(status.failing, undefined, 'a quarantined version is not a local failure with back-off');
  }

});

test('fleet status shows the quarantined version; fleet clear lifts it and the next -f deploys it', async () => {
  const { h1, others, v2 } = await revertedOnFirstHost('web');
  const json = await h1.run(['fleet', 'status', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const fleetStatus = JSON.parse(json.stdout) as FleetStatusJson;
  assert.equal(fleetStatus.group, 'web');
  assert.equal(fleetStatus.quarantined.length, 1);
  const [record] = fleetStatus.quarantined;
  assert.equal(record!.version, v2);
  assert.equal(record!.host, h1.id);
  assert.match(record!.reason, /post-update|20-health/);
  assert.ok(!Number.isNaN(Date.parse(record!.time)), 'the record has a time');
  assert.deepEqual(fleetStatus.slots, [], 'no slot left held');

  const text = await others[0]!.run(['fleet', 'status']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /quarantined versions:/);
  assert.match(text.stdout, new RegExp(`${v2}\\s+by ${h1.id} at `));

  const cleared = await others[0]!.run(['fleet', 'clear', v2]);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.match(cleared.stdout, /lifted/);
  const again = await others[0]!.run(['fleet', 'clear', v2]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /was not quarantined/);
  const after = JSON.parse((await h1.run(['fleet', 'status', '--json'])).stdout) as FleetStatusJson;
  assert.deepEqual(after.quarantined, []);

  const h2 = others[0]!;
  const next = await h2.run(['-f']);
  assert.equal(next.code, 0, next.stderr);
  assert.equal(deployed(h2), 'v2', 'after fleet clear the next -f deploys the version');
  assert.ok(hookRuns(h2.layout).some((r) => r.phase === 'post-update' && r.release === h2.layout.currentId()), 'with its hooks');
});
