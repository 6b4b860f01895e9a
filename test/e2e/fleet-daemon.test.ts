import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from '../support/cli.js';
import { startEtcd } from '../support/etcd.js';
import { makeFleet, statusOf, type Agent } from './fleet-agents.js';

// End-to-end: the daemon through an etcd outage. It keeps serving its current release, says
// why it does not deploy in its log, `status` and `/healthz`, and deploys once etcd is back.

const etcd = await startEtcd();

async function healthz(port: number): Promise<{ code: number; body: { status: string; reason?: string } }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { code: res.status, body: (await res.json()) as { status: string; reason?: string } };
}

test('daemon: with etcd down a new version waits (log, status, /healthz say why); etcd back, it deploys', async (t) => {
  const port = await freePort();
  const fleet = makeFleet(1, [`etcd = ${etcd.endpoint}`, 'rollout-group = web', 'lease-ttl = 2s', 'schedule = */1 * * * * *', `listen = 127.0.0.1:${port}`].join('\n'));
  const [h1] = fleet.agents as [Agent];
  const deployed = () => readFileSync(join(h1.layout.link, 'v.txt'), 'utf8');
  fleet.publish('v1');
  const daemon = h1.start([]);
  // A failed assertion must not leave the daemon running until the file's timeout.
  t.after(() => {
    if (daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
  });
  await waitFor(() => `v1 deployed:\n${daemon.stderr().slice(-2000)}`, () => h1.layout.currentId() !== null, 20_000);
  assert.equal(deployed(), 'v1');
  const v1 = h1.layout.currentId();
  // The swap comes before the post hooks, the rollout's settle and the recorded result: poll.
  let first = await healthz(port);
  for (let i = 0; i < 150 && first.code !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    first = await healthz(port);
  }
  assert.equal(first.code, 200, JSON.stringify(first.body));

  await etcd.stop();
  const seen = daemon.logs.length;
  fleet.publish('v2');
  await daemon.waitForLog('not deploying for etcd', (l) => daemon.logs.indexOf(l) >= seen && /etcd unreachable: not deploying/.test(l.msg), 20_000);
  assert.equal(h1.layout.currentId(), v1, 'current release kept while etcd is down');
  assert.equal(deployed(), 'v1');
  // The log line comes before the check ends (the agent still tries to report to the
  // fleet, which waits for etcd's request timeout): poll until the outcome is recorded.
  let health = await healthz(port);
  const until = Date.now() + 15_000;
  while (health.code !== 503 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    health = await healthz(port);
  }
  assert.equal(health.code, 503);
  assert.match(health.body.reason ?? '', /etcd unreachable/);
  assert.match((await statusOf(h1)).lastCheck?.error ?? '', /etcd unreachable/);
  // Several ticks go by: it keeps retrying, and never deploys uncoordinated.
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal(deployed(), 'v1');
  assert.equal(daemon.child.exitCode, null, 'the daemon keeps running');

  const restartedAt = Date.now();
  await etcd.start();
  await waitFor(() => `v2 deployed after etcd came back:\n${daemon.stderr().slice(-3000)}`, () => deployed() === 'v2', 30_000);
  console.log(`# etcd back -> daemon deployed the waiting version in ${Date.now() - restartedAt} ms`);
  // The swap comes before the post hooks and the recorded result: poll until it is recorded.
  let code = 0;
  for (let i = 0; i < 100 && code !== 200; i++) {
    code = (await healthz(port)).code;
    if (code !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(code, 200, '/healthz ok again once deployed');
  const fleetStatus = await h1.run(['fleet', 'status', '--json']);
  assert.equal(fleetStatus.code, 0, fleetStatus.stderr);
  const agents = (JSON.parse(fleetStatus.stdout) as { agents: { id: string; version?: string }[] }).agents;
  const me = agents.find((a) => a.id === h1.id);
  assert.ok(me, `the daemon re-registered after the outage: ${fleetStatus.stdout}`);
  assert.equal(me.version, (await statusOf(h1)).current?.version);

  daemon.child.kill('SIGTERM');
  assert.equal((await daemon.exited).code, 0, daemon.stderr().slice(-2000));
});
