import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookRuns, waitFor, writeHook, type Background } from '../support/cli.js';
import { startEtcd } from '../support/etcd.js';
import { deployed, makeFleet, statusOf, type Agent } from './fleet-agents.js';

// End-to-end: what an agent does when it cannot get a rollout slot — etcd stopping while it
// waits, etcd down before it starts (`rollout-unavailable = wait` and `= deploy`), and the only
// slot held longer than `rollout-wait`.

const etcd = await startEtcd();

/** Starts `agent -f` with a post hook that sleeps until killed; resolves once it is in it. */
async function holdSlot(agent: Agent): Promise<{ run: Background; kill(): Promise<void> }> {
  const pidFile = join(agent.layout.root, 'hook.pid');
  writeHook(agent.layout, 'post', '90-hold', `echo $$ > '${pidFile}.tmp'; mv '${pidFile}.tmp' '${pidFile}'; exec sleep 60`);
  const run = agent.start(['-f']);
  await waitFor('the slot holder post hook to start', () => existsSync(pidFile), 20_000);
  return {
    run,
    async kill() {
      run.child.kill('SIGKILL');
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
      await run.exited;
    },
  };
}

/** Resolves with the exit of `run`, or fails after `ms` showing its log. */
async function exitWithin(run: Background, ms: number): Promise<{ code: number | null }> {
  let timer: NodeJS.Timeout | undefined;
  const end = await Promise.race([run.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
  clearTimeout(timer);
  assert.ok(end, `exited within ${ms} ms:\n${run.stderr().slice(-3000)}`);
  return end;
}

test('etcd stopped mid-rollout and down: a waiting agent exits 75, -f deploys nothing unless rollout-unavailable = deploy', async () => {
  const fleet = makeFleet(3, [`etcd = ${etcd.endpoint}`, 'rollout-group = web', 'max-parallel = 1', 'lease-ttl = 2s'].join('\n'));
  const [h1, h2, h3] = fleet.agents as [Agent, Agent, Agent];
  fleet.publish('v1');
  for (const agent of fleet.agents) assert.equal((await agent.run(['-f'])).code, 0);
  for (const agent of fleet.agents) writeHook(agent.layout, 'post', '10-record');
  const v1 = new Map(fleet.agents.map((a) => [a.id, a.layout.currentId()]));

  fleet.publish('v2');
  const holder = await holdSlot(h1);
  const waiter = h2.start(['-f']);
  await waiter.waitForLog('waiting for a rollout slot', (l) => l.msg === 'waiting for a rollout slot', 20_000);

  const stoppedAt = Date.now();
  await etcd.stop();
  const end = await exitWithin(waiter, 20_000);
  const tookMs = Date.now() - stoppedAt;
  console.log(`# etcd stopped -> waiting agent exited in ${tookMs} ms`);
  assert.equal(end.code, 75, waiter.stderr());
  assert.match(waiter.stderr(), /etcd unreachable/);
  assert.equal(h2.layout.currentId(), v1.get(h2.id), 'the waiter kept its current release');
  assert.ok(!hookRuns(h2.layout).some((r) => r.phase === 'post-update'), 'the waiter ran no post hook');
  assert.deepEqual(h2.layout.leftovers(), []);
  await holder.kill();

  // etcd down before the run: nothing deployed, and `status` says why.
  const releasesBefore = h3.layout.releases();
  const down = await h3.run(['-f']);
  assert.notEqual(down.code, 0, down.stderr);
  assert.match(down.stderr, /etcd unreachable/);
  assert.deepEqual(h3.layout.releases(), releasesBefore, 'no release made');
  assert.equal(h3.layout.currentId(), v1.get(h3.id));
  assert.deepEqual(hookRuns(h3.layout), [], 'no hooks ran');
  const status = await statusOf(h3);
  assert.match(status.lastCheck?.error ?? '', /etcd unreachable/);
  const text = await h3.run(['status']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /etcd unreachable/);

  // An operator choosing availability over safety.
  h3.configure('rollout-unavailable = deploy');
  const anyway = await h3.run(['-f']);
  assert.equal(anyway.code, 0, anyway.stderr);
  assert.equal(deployed(h3), 'v2');
  assert.ok(anyway.logs.some((l) => /etcd unreachable/.test(l.msg) && /rollout-unavailable = deploy/.test(l.msg)), 'it says it deployed uncoordinated');

  await etcd.start();
});

test('-f with rollout-wait = 1s while the only slot is held exits 75 quickly, current unchanged', async () => {
  const fleet = makeFleet(2, [`etcd = ${etcd.endpoint}`, 'rollout-group = web-wait', 'max-parallel = 1', 'lease-ttl = 2s'].join('\n'));
  const [h1, h2] = fleet.agents as [Agent, Agent];
  fleet.publish('v1');
  assert.equal((await h2.run(['-f'])).code, 0);
  const before = h2.layout.currentId();
  fleet.publish('v2');
  writeHook(h2.layout, 'post', '10-record');
  h2.configure('rollout-wait = 1s');

  const holder = await holdSlot(h1);
  const busy = await h2.run(['-f']);
  await holder.kill();
  assert.equal(busy.code, 75, busy.stderr);
  assert.match(busy.stderr, /no rollout slot of group web-wait came free/);
  assert.ok(busy.durationMs < 5_000, `gave up after about 1 s (took ${busy.durationMs} ms)`);
  assert.equal(h2.layout.currentId(), before);
  assert.deepEqual(hookRuns(h2.layout), [], 'no post hook ran');
  assert.deepEqual(h2.layout.leftovers(), []);
  assert.equal(deployed(h2), 'v1');
  // Busy is not the version's fault: no back-off recorded.
  assert.equal((await statusOf(h2)).failing, undefined);
});
