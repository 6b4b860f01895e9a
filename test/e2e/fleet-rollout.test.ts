import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../support/cli.js';
import { startEtcd } from '../support/etcd.js';
import { makeFleet, maxConcurrent, readTimeline, timedHook } from './fleet-agents.js';

// End-to-end rolling updates through the built CLI and a real etcd: agents are separate
// `repo-deploy -f` processes, each its own host (deploy dir, config, `-i ID`), on one remote.

const etcd = await startEtcd();

test('five agents with max-parallel 2: all deploy, never more than 2 between swap and confirmed success', async () => {
  const fleet = makeFleet(5, [`etcd = ${etcd.endpoint}`, 'rollout-group = web', 'max-parallel = 2', 'lease-ttl = 2s'].join('\n'));
  fleet.publish('v1');
  for (const agent of fleet.agents) timedHook(fleet, agent);

  const started = Date.now();
  const results = await Promise.all(fleet.agents.map((a) => a.run(['-f'], { timeoutMs: 45_000 })));
  const elapsed = Date.now() - started;
  results.forEach((r, i) => assert.equal(r.code, 0, `${fleet.agents[i]!.id}: ${r.stderr}`));
  for (const agent of fleet.agents) {
    assert.ok(agent.layout.currentId(), `${agent.id} has a current release`);
    assert.equal(readFileSync(join(agent.layout.link, 'v.txt'), 'utf8'), 'v1');
  }

  const events = readTimeline(fleet);
  assert.equal(events.filter((e) => e.kind === 'start').length, 5, 'one post hook per agent');
  assert.equal(events.filter((e) => e.kind === 'end').length, 5);
  const peak = maxConcurrent(events);
  assert.ok(peak <= 2, `at most 2 agents in their post hooks at once, saw ${peak}:\n${readFileSync(fleet.timeline, 'utf8')}`);
  // The limit is a limit, not a queue of one: two did overlap somewhere.
  assert.equal(peak, 2, 'two agents rolled out at the same time');
  // Three rounds of 1 s hooks at least; and the waiting agents said why they waited.
  assert.ok(elapsed >= 3_000, `5 hosts, 2 at a time, 1 s hooks: at least 3 s (took ${elapsed} ms)`);
  // How many arrive while both slots are taken depends on how fast five processes start on a
  // busy machine; one at least does, and each that says it waited started after a slot was
  // given back.
  const waited = fleet.agents.filter((_, i) => results[i]!.logs.some((l) => l.msg === 'waiting for a rollout slot'));
  assert.ok(waited.length >= 1, 'no agent said it waited for a slot');
  const firstEnd = Math.min(...events.filter((e) => e.kind === 'end').map((e) => e.ms));
  for (const agent of waited) {
    const start = events.find((e) => e.id === agent.id && e.kind === 'start')!.ms;
    assert.ok(start >= firstEnd, `${agent.id} said it waited, yet its post hook started before any slot was given back`);
  }

  // Each agent registered itself with its version; no slot is left held.
  const status = await fleet.agents[0]!.run(['fleet', 'status', '--json']);
  assert.equal(status.code, 0, status.stderr);
  const json = JSON.parse(status.stdout) as { group: string; agents: unknown[]; slots: unknown[]; quarantined: unknown[] };
  assert.equal(json.group, 'web');
  assert.deepEqual(json.slots, [], 'every slot given back');
  assert.deepEqual(json.quarantined, []);
});

test('kill -9 of the slot holder: a waiting agent proceeds once the holder lease expires', async () => {
  const ttlMs = 2_000;
  const fleet = makeFleet(2, [`etcd = ${etcd.endpoint}`, 'rollout-group = web-kill', 'max-parallel = 1', `lease-ttl = ${ttlMs / 1000}s`].join('\n'));
  const [holder, waiter] = fleet.agents as [(typeof fleet.agents)[0], (typeof fleet.agents)[0]];
  fleet.publish('v1');
  const hookPid = join(holder.layout.root, 'hook.pid');
  // The holder's hook records its pid and sleeps far longer than the test: only the kill ends it.
  timedHook(fleet, holder, `echo $$ > '${hookPid}.tmp'; mv '${hookPid}.tmp' '${hookPid}'; exec sleep 60`);
  timedHook(fleet, waiter);

  const first = holder.start(['-f']);
  await waitFor('the holder post hook to start', () => existsSync(hookPid), 20_000);
  const second = waiter.start(['-f']);
  await second.waitForLog('waiting for a rollout slot', (l) => l.msg === 'waiting for a rollout slot', 20_000);
  assert.ok(!readTimeline(fleet).some((e) => e.id === waiter.id), 'the waiter has not started its hook');

  const killedAt = Date.now();
  first.child.kill('SIGKILL');
  const pid = Number(readFileSync(hookPid, 'utf8'));
  try {
    process.kill(pid, 'SIGKILL'); // the orphaned hook, so it appends nothing later
  } catch {
    // already gone
  }
  assert.equal((await first.exited).signal, 'SIGKILL');

  let timer: NodeJS.Timeout | undefined;
  const end = await Promise.race([second.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 20_000)))]);
  clearTimeout(timer);
  assert.ok(end, `the waiter finished within 20 s of the kill:\n${second.stderr().slice(-3000)}`);
  assert.equal(end.code, 0, second.stderr());
  const start = readTimeline(fleet).find((e) => e.id === waiter.id && e.kind === 'start');
  assert.ok(start, 'the waiter ran its post hook');
  const delayMs = start.ms - killedAt;
  // Measured for the report: the slot frees when etcd expires the dead holder's lease.
  console.log(`# kill -9 of the slot holder -> waiter post hook start: ${delayMs} ms (lease-ttl ${ttlMs} ms)`);
  // Not before the lease could expire (the holder refreshed it at most ttl/3 before the kill)...
  assert.ok(delayMs >= ttlMs / 2, `the slot is freed by the lease expiring, not at once: ${delayMs} ms`);
  // ...and not much after: ttl plus etcd's expiry tick plus a poll.
  assert.ok(delayMs <= ttlMs + 3_000, `the waiter proceeded within ttl + 3 s: ${delayMs} ms`);
  assert.equal(readFileSync(join(waiter.layout.link, 'v.txt'), 'utf8'), 'v1');
});
