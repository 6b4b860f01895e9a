// The pipeline's two calls around the swap, against a real etcd: a reverted version is
// quarantined and skipped by the next host, slots are given back, and rollout-unavailable
// decides what an unreachable etcd means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fleet, enterRollout, leaveRollout, type FleetConfig } from '../../src/fleet/index.js';
import { silentLogger } from '../../src/log.js';
import { startEtcd } from '../support/etcd.js';
import { freePort } from '../support/git-daemon.js';

const etcd = await startEtcd();
const log = silentLogger();
let groups = 0;

function config(over: Partial<FleetConfig> = {}): FleetConfig {
  return { endpoints: [etcd.endpoint], group: `gate${++groups}`, maxParallel: 1, leaseTtlMs: 2_000, agentId: 'host-a', unavailable: 'wait', ...over };
}

async function fleet(cfg: FleetConfig): Promise<Fleet> {
  const f = await Fleet.connect(cfg, log);
  test.after(() => f.close().catch(() => {}));
  return f;
}

test('a version reverted on the first host is skipped by the next one, which still deploys the next version', async () => {
  const cfg = config();
  const first = await fleet(cfg);
  const second = await fleet({ ...cfg, agentId: 'host-b' });

  const entered = await enterRollout(first, 'v2', {}, log);
  assert.equal(entered.proceed, true);
  assert.ok(entered.proceed && entered.slot);
  // host-b must wait while host-a is between swap and confirmed success.
  await assert.rejects(second.acquireSlot('v2', { deadlineMs: 300 }), /no rollout slot/);
  await leaveRollout(first, entered.slot, 'v2', { ok: false, reason: 'post-update hook 10-restart exited with 1' }, log);

  const next = await enterRollout(second, 'v2', { deadlineMs: 2_000 }, log);
  assert.equal(next.proceed, false);
  assert.ok(!next.proceed && next.reason === 'quarantined');
  assert.equal(next.record.host, 'host-a');
  assert.match(next.record.reason, /10-restart/);
  assert.deepEqual((await second.status()).slots, [], 'the reverting host gave its slot back');

  const v3 = await enterRollout(second, 'v3', { deadlineMs: 2_000 }, log);
  assert.ok(v3.proceed && v3.slot, 'a new version is not affected');
  await leaveRollout(second, v3.slot, 'v3', { ok: true }, log);
  assert.equal(await second.quarantined('v3'), null, 'success quarantines nothing');
  assert.deepEqual((await second.status()).slots, []);
});

test('etcd unreachable: wait skips the update, deploy goes on without a slot', async () => {
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  const waiting = await fleet(config({ endpoints: [endpoint], requestTimeoutMs: 1_500 }));
  const decision = await enterRollout(waiting, 'v1', { deadlineMs: 30_000 }, log);
  assert.equal(decision.proceed, false);
  assert.ok(!decision.proceed && decision.reason === 'unavailable');
  assert.ok(decision.error.message.includes(endpoint));

  const bold = await fleet(config({ endpoints: [endpoint], requestTimeoutMs: 1_500, unavailable: 'deploy' }));
  const go = await enterRollout(bold, 'v1', {}, log);
  assert.deepEqual(go, { proceed: true, slot: null });
  // Leaving with etcd still down logs instead of throwing.
  await leaveRollout(bold, null, 'v1', { ok: false, reason: 'reverted' }, log);
});
