import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { waitFor } from '../support/cli.js';
import { startEtcd } from '../support/etcd.js';
import { deployed, makeFleet, readTimeline, statusOf, timedHook, type Agent } from './fleet-agents.js';

// End to end through the built CLI and a real etcd, each agent its own `repo-deploy` process:
// rollout waves, pause and resume (for `-f` and the daemon), agents run from cron listed after
// they exit, and an idle daemon that leaves etcd alone.

const etcd = await startEtcd();

interface StatusJson {
  agents: { id: string; version?: string; lastCheckAt: string; result: string }[];
  paused: { by: string } | null;
  rollouts: { version: string; wave: number; waveCount: number; admitted: number; confirmed: number; hosts: { place: number; host: string; state: string }[] }[];
}

async function fleetStatus(agent: Agent, group: string): Promise<StatusJson> {
  const r = await agent.run(['fleet', 'status', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as StatusJson & { group: string };
  assert.equal(json.group, group);
  return json;
}

test('rollout-waves = 1, 100%: the second and third host start only after the first confirmed', async () => {
  const fleet = makeFleet(3, [`etcd = ${etcd.endpoint}`, 'rollout-group = waves', 'max-parallel = 3', 'lease-ttl = 2s', 'rollout-waves = 1, 100%'].join('\n'));
  fleet.publish('v1');
  for (const agent of fleet.agents) timedHook(fleet, agent);
  const results = await Promise.all(fleet.agents.map((a) => a.run(['-f'], { timeoutMs: 60_000 })));
  results.forEach((r, i) => assert.equal(r.code, 0, `${fleet.agents[i]!.id}: ${r.stderr}`));
  for (const agent of fleet.agents) assert.equal(deployed(agent), 'v1');

  const events = readTimeline(fleet);
  const starts = events.filter((e) => e.kind === 'start').sort((a, b) => a.ms - b.ms);
  assert.equal(starts.length, 3, 'one post hook per agent');
  const canary = starts[0]!.id;
  const canaryEnd = events.find((e) => e.id === canary && e.kind === 'end')!;
  for (const later of starts.slice(1)) {
    assert.ok(later.ms >= canaryEnd.ms, `${later.id} started its hook before the canary ${canary} confirmed:\n${readFileSync(fleet.timeline, 'utf8')}`);
  }
  const waited = results.filter((r) => r.logs.some((l) => l.msg === 'waiting for the hosts of the open wave to confirm'));
  assert.equal(waited.length, 2, 'the two others said they waited for the wave');

  const status = await fleetStatus(fleet.agents[0]!, 'waves');
  const version = (await statusOf(fleet.agents[0]!)).current?.version;
  const rollout = status.rollouts[0]!;
  assert.equal(rollout.version, version);
  assert.deepEqual([rollout.wave, rollout.waveCount, rollout.admitted, rollout.confirmed], [2, 2, 3, 3]);
  assert.equal(rollout.hosts[0]!.host, canary, 'the canary has place 1');
  const text = await fleet.agents[0]!.run(['fleet', 'status']);
  assert.ok(text.stdout.includes(`${version}  wave 2 of 2 (1, 100%; up to all hosts)  confirmed 3, in flight 0, failed 0`), text.stdout);
});

test('fleet pause: no host starts the new version, -f nor daemon (result paused, exit 0); fleet resume: they deploy it', async () => {
  const fleet = makeFleet(2, [`etcd = ${etcd.endpoint}`, 'rollout-group = pausing', 'max-parallel = 2', 'lease-ttl = 2s', 'schedule = */1 * * * * *'].join('\n'));
  const [cron, daemonHost] = fleet.agents as [Agent, Agent];
  fleet.publish('v1');
  for (const agent of fleet.agents) assert.equal((await agent.run(['-f'])).code, 0);
  const daemon = daemonHost.start([]);

  const paused = await cron.run(['fleet', 'pause', 'pausing']);
  assert.equal(paused.code, 0, paused.stderr);
  assert.match(paused.stdout, /pausing: paused by h1/);
  fleet.publish('v2');
  const run = await cron.run(['-f']);
  assert.equal(run.code, 0, `paused is exit 0: ${run.stderr}`);
  assert.equal((await statusOf(cron)).lastCheck?.result, 'paused');
  assert.ok(run.logs.some((l) => l.msg === 'rollout group paused: not starting the new version'));
  const seen = daemon.logs.length;
  await daemon.waitForLog('two paused checks', () => daemon.logs.slice(seen).filter((l) => l.msg === 'rollout group paused: not starting the new version').length >= 2, 30_000);
  assert.equal(deployed(cron), 'v1');
  assert.equal(deployed(daemonHost), 'v1');
  assert.equal((await fleetStatus(cron, 'pausing')).paused?.by, 'h1');

  const resumed = await daemonHost.run(['fleet', 'resume', 'pausing']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /resumed/);
  assert.equal((await cron.run(['-f'])).code, 0);
  assert.equal(deployed(cron), 'v2');
  await waitFor(() => `the daemon deploys v2 after resume:\n${daemon.stderr().slice(-2000)}`, () => deployed(daemonHost) === 'v2', 30_000);
  daemon.child.kill('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
});

test('agents run with -f stay listed in fleet status, with their last check, after they exit', async () => {
  const fleet = makeFleet(2, [`etcd = ${etcd.endpoint}`, 'rollout-group = cron', 'max-parallel = 2', 'lease-ttl = 2s'].join('\n'));
  fleet.publish('v1');
  for (const agent of fleet.agents) assert.equal((await agent.run(['-f'])).code, 0);
  // Longer than the lease: a record bound to it would be gone by now.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const status = await fleetStatus(fleet.agents[1]!, 'cron');
  const version = (await statusOf(fleet.agents[0]!)).current?.version;
  assert.ok(version);
  assert.deepEqual(status.agents.map((a) => [a.id, a.version, a.result]), [['h1', version, 'deployed'], ['h2', version, 'deployed']]);
  const text = await fleet.agents[1]!.run(['fleet', 'status']);
  assert.match(text.stdout, new RegExp(`h1  ${version}  deployed  last check \\S+, reported \\d+s ago`));
});

test('an idle daemon writes nothing to etcd while nothing changes', async () => {
  const fleet = makeFleet(1, [`etcd = ${etcd.endpoint}`, 'rollout-group = idle', 'lease-ttl = 2s', 'schedule = */1 * * * * *'].join('\n'));
  const [h1] = fleet.agents as [Agent];
  fleet.publish('v1');
  const daemon = h1.start(['-v']);
  await waitFor(() => `v1 deployed:\n${daemon.stderr().slice(-2000)}`, () => h1.layout.currentId() !== null, 20_000);
  const upToDate = () => daemon.logs.filter((l) => l.msg === 'up to date').length;
  await waitFor('a first idle check', () => upToDate() >= 1, 20_000);
  const client = new Etcd3({ hosts: etcd.endpoint });
  test.after(() => client.close());
  const revision = async () => Number((await client.get('/none').exec()).header.revision);
  const before = revision();
  const checksBefore = upToDate();
  await waitFor('five more idle checks', () => upToDate() >= checksBefore + 5, 30_000);
  const after = await revision();
  assert.equal(after, await before, `${upToDate() - checksBefore} idle checks added ${after - (await before)} etcd revisions`);
  const status = await fleetStatus(h1, 'idle');
  assert.deepEqual(status.agents.map((a) => [a.id, a.version]), [['h1', (await statusOf(h1)).current?.version]], 'the daemon is registered');
  daemon.child.kill('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
});
