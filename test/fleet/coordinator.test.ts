// The pipeline's seam to the fleet, against a real etcd: a reverted version is quarantined and
// refused to the next host, slots are given back, and rollout-unavailable decides what an
// unreachable etcd means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCoordinator, Fleet, noCoordinator, type FleetConfig } from '../../src/fleet/index.js';
import { settlementOfFailure } from '../../src/fleet/coordinator.js';
import { UpdateFailedError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { startEtcd } from '../support/etcd.js';
import { freePort } from '../support/git-daemon.js';

const etcd = await startEtcd();
const log = silentLogger();
let groups = 0;

function config(over: Partial<FleetConfig> = {}): FleetConfig {
  return { endpoints: [etcd.endpoint], group: `gate${++groups}`, maxParallel: 1, leaseTtlMs: 2_000, agentId: 'host-a', unavailable: 'wait', ...over };
}

async function coordinator(cfg: FleetConfig, waitMs?: number): Promise<{ fleet: Fleet; coordinator: EtcdCoordinator }> {
  const f = await Fleet.connect(cfg, log);
  test.after(() => f.close().catch(() => {}));
  return { fleet: f, coordinator: new EtcdCoordinator(f, waitMs, log) };
}

test('a version reverted on the first host is refused to the next one, which still deploys the next version', async () => {
  const cfg = config();
  const first = await coordinator(cfg);
  const second = await coordinator({ ...cfg, agentId: 'host-b' }, 2_000);

  const entered = await first.coordinator.admit('v2');
  assert.ok(entered.verdict === 'go' && entered.slot);
  // host-b must wait while host-a is between swap and confirmed success.
  await assert.rejects(second.fleet.acquireSlot('v2', { deadlineMs: 300 }), /no rollout slot/);
  await first.coordinator.settle('v2', entered.slot, { ok: false, reason: 'post-update hook 10-restart exited with 1' });

  const screened = await second.coordinator.screen('v2');
  assert.ok(screened.verdict === 'quarantined', 'screened before the fetch');
  const next = await second.coordinator.admit('v2');
  assert.ok(next.verdict === 'quarantined');
  assert.equal(next.error.record.host, 'host-a');
  assert.match(next.error.record.reason, /10-restart/);
  assert.deepEqual((await second.fleet.status()).slots, [], 'the reverting host gave its slot back');

  assert.deepEqual(await second.coordinator.screen('v3'), { verdict: 'go', slot: null });
  const v3 = await second.coordinator.admit('v3');
  assert.ok(v3.verdict === 'go' && v3.slot, 'a new version is not affected');
  await second.coordinator.settle('v3', v3.slot, { ok: true });
  assert.equal(await second.fleet.quarantined('v3'), null, 'success quarantines nothing');
  assert.deepEqual((await second.fleet.status()).slots, []);
});

test('no slot free within rollout-wait: busy, and a stop request while waiting: stopped', async () => {
  const cfg = config();
  const holder = await coordinator(cfg);
  const waiter = await coordinator({ ...cfg, agentId: 'host-b' }, 500);
  const held = await holder.coordinator.admit('v1');
  assert.ok(held.verdict === 'go' && held.slot);
  const busy = await waiter.coordinator.admit('v1');
  assert.equal(busy.verdict, 'busy');
  const stop = new AbortController();
  const unbounded = await coordinator({ ...cfg, agentId: 'host-c' });
  const waiting = unbounded.coordinator.admit('v1', { signal: stop.signal });
  setTimeout(() => stop.abort(), 300);
  assert.deepEqual(await waiting, { verdict: 'stopped' });
  await holder.coordinator.settle('v1', held.slot, { ok: true });
});

test('etcd unreachable: wait refuses the update, deploy goes on without a slot', async () => {
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  const waiting = await coordinator(config({ endpoints: [endpoint], requestTimeoutMs: 1_500 }), 30_000);
  const decision = await waiting.coordinator.admit('v1');
  assert.ok(decision.verdict === 'unavailable');
  assert.ok(decision.error.message.includes(endpoint));
  assert.equal((await waiting.coordinator.screen('v1')).verdict, 'unavailable');

  const bold = await coordinator(config({ endpoints: [endpoint], requestTimeoutMs: 1_500, unavailable: 'deploy' }));
  assert.deepEqual(await bold.coordinator.admit('v1'), { verdict: 'go', slot: null });
  assert.deepEqual(await bold.coordinator.screen('v1'), { verdict: 'go', slot: null });
  // Settling and reporting with etcd still down log instead of throwing.
  await bold.coordinator.settle('v1', null, { ok: false, reason: 'reverted' });
  await bold.coordinator.report({ lastCheckAt: new Date().toISOString(), result: 'deployed' });
});

test('without etcd everything is admitted', async () => {
  assert.deepEqual(await noCoordinator.screen('v1'), { verdict: 'go', slot: null });
  assert.deepEqual(await noCoordinator.admit('v1'), { verdict: 'go', slot: null });
});

test('a current version: quarantineOf reads the record, even while the group is paused; an unreachable etcd says null', async () => {
  const cfg = config();
  const { fleet, coordinator: c } = await coordinator(cfg);
  assert.equal(await c.quarantineOf('v3'), null);
  await fleet.quarantine('v3', 'post-update hook 10-health exited with 3');
  await fleet.pause();
  assert.equal((await c.quarantineOf('v3'))?.reason, 'post-update hook 10-health exited with 3', 'a pause does not hide the quarantine');
  const away = await coordinator(config({ endpoints: [`127.0.0.1:${await freePort()}`] }));
  assert.equal(await away.coordinator.quarantineOf('v3'), null);
  assert.equal(await noCoordinator.quarantineOf('v3'), null);
});

test('a failed update settles as quarantine only when it was reverted', () => {
  assert.deepEqual(settlementOfFailure(new UpdateFailedError('reverted', 'post-update hook failed')), { ok: false, reason: 'post-update hook failed' });
  assert.deepEqual(settlementOfFailure(Object.assign(new Error('no space left'), { code: 'ENOSPC' })), { ok: null }, 'a full disk after the swap is not the version\'s fault');
});
