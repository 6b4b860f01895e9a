import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hookRuns, writeHook, type AppStatusJson } from '../support/cli.js';
import { startEtcd } from '../support/etcd.js';
import { deployed, makeFleet, statusOf, type Agent } from './fleet-agents.js';

// Fleet rollback end to end: a host that already runs a version another host then reverts
// (and so quarantines) returns to its previous release at its next check, says who reverted
// it and why in its log and `status`, holds there, and tells the fleet.

const etcd = await startEtcd();

interface RolledBackJson extends AppStatusJson {
  rolledBack?: { version: string; fromRelease: string; toRelease: string; by: string; reason: string };
}

interface FleetJson {
  agents: { id: string; result: string; rolledBack?: { version: string; by: string; reason: string } }[];
}

test('a host running a version another host quarantines returns to its previous release and holds it', async () => {
  const fleet = makeFleet(2, [`etcd = ${etcd.endpoint}`, 'rollout-group = fleet-rb', 'max-parallel = 2', 'lease-ttl = 2s'].join('\n'));
  const [h1, h2] = fleet.agents as [Agent, Agent];
  for (const agent of fleet.agents) writeHook(agent.layout, 'post', '10-record');
  writeHook(h1.layout, 'post', '20-health', 'if grep -q v2 v.txt; then echo "health check failed on v2" >&2; exit 3; fi');
  fleet.publish('v1');
  for (const agent of fleet.agents) assert.equal((await agent.run(['-f'])).code, 0);
  const v1 = h2.layout.currentId();

  fleet.publish('v2');
  assert.equal((await h2.run(['-f'])).code, 0, 'h2 deploys v2 first');
  assert.equal(deployed(h2), 'v2');
  const v2 = h2.layout.currentId();
  const reverted = await h1.run(['-f']);
  assert.equal(reverted.code, 1, 'h1 reverts v2 and quarantines it');

  const back = await h2.run(['-f']);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(deployed(h2), 'v1', 'h2 serves v1 again');
  assert.equal(h2.layout.currentId(), v1, 'on its previous release');
  const line = back.logs.find((l) => /quarantined by the fleet/.test(l.msg) && l.quarantinedBy === h1.id);
  assert.ok(line, 'the log names the host that reverted the version');
  assert.match(String(line.reason), /20-health/, 'and why');
  assert.ok(hookRuns(h2.layout).some((r) => r.name === '10-record' && r.release === v1 && r.revert === '1'), 'post-update hooks ran for v1 with REPO_DEPLOY_REVERT=1');
  const status = (await statusOf(h2)) as RolledBackJson;
  assert.equal(status.lastCheck?.result, 'rolled-back');
  assert.equal(status.rolledBack?.by, h1.id);
  assert.equal(status.rolledBack?.fromRelease, v2);
  assert.match(status.rolledBack?.reason ?? '', /20-health/);
  assert.equal(status.releases.find((r) => r.id === v2)?.status, 'failed');
  // The history says so too: a rollback by this agent, from v2's release back to v1's, and why.
  const history = await h2.run(['history', '--json']);
  assert.equal(history.code, 0, history.stderr);
  const entries = (JSON.parse(history.stdout) as { entries: { action: string; result: string; fromRelease?: string; toRelease?: string; message?: string }[] }[])[0]!.entries;
  const rollback = entries.find((e) => e.result === 'rolled-back');
  assert.ok(rollback, `a history entry for the fleet rollback: ${history.stdout}`);
  assert.deepEqual([rollback.action, rollback.fromRelease, rollback.toRelease], ['rollback', v2, v1]);
  assert.match(rollback.message ?? '', new RegExp(`quarantined .*reverted on ${h1.id}`));
  const text = await h2.run(['status']);
  assert.match(text.stdout, new RegExp(`rolled back\\s+from ${v2}.*reverted on ${h1.id}`));

  // Held: the remote still offers v2, and the next check leaves v1 in place.
  const again = await h2.run(['-f']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(h2.layout.currentId(), v1);
  assert.equal((await statusOf(h2)).lastCheck?.result, 'held');

  // The fleet record carries it while the agent is registered (a daemon stays registered).
  h2.configure('schedule = */1 * * * * *');
  const daemon = h2.start([]);
  let agents: FleetJson['agents'] = [];
  const registered = () => agents.find((a) => a.id === h2.id && a.rolledBack);
  for (const deadline = Date.now() + 30_000; !registered() && Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    const r = await h1.run(['fleet', 'status', '--json']);
    if (r.code === 0) agents = (JSON.parse(r.stdout) as FleetJson).agents;
  }
  assert.ok(registered(), `h2's fleet record carries the rollback: ${JSON.stringify(agents)}\n${daemon.stderr().slice(-1500)}`);
  assert.equal(registered()?.rolledBack?.by, h1.id);
  assert.match(registered()?.rolledBack?.reason ?? '', /20-health/);
  assert.equal(h2.layout.currentId(), v1, 'the daemon keeps the hold');
  // Stopped here, not left to the end of the file: a daemon checking every second writes its
  // state while the test's directories are removed.
  daemon.child.kill('SIGTERM');
  await daemon.exited;
});
