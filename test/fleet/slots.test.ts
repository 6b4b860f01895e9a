// Rollout slots against a real etcd: the limit holds across separate processes, a dead
// holder's slot comes free within the lease TTL, waiting ends at a deadline, on abort, on a
// quarantine, and with a typed error when etcd goes away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Fleet, FleetUnavailableError, SlotTimeoutError, VersionQuarantinedError, type FleetConfig } from '../../src/fleet/index.js';
import { ExitCode } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { startEtcd } from '../support/etcd.js';
import { testdir } from '../support/tmp.js';
import { maxOverlap, readRecords, spawnContender } from './spawn-contender.js';

const ttlMs = 2_000; // etcd's smallest lease with default timing (see minLeaseTtlMs)
const etcd = await startEtcd();
let groups = 0;

function config(over: Partial<FleetConfig> = {}): FleetConfig {
  return { endpoints: [etcd.endpoint], group: `g${++groups}`, maxParallel: 1, leaseTtlMs: ttlMs, agentId: 'host-a', unavailable: 'wait', ...over };
}

async function fleet(cfg: FleetConfig): Promise<Fleet> {
  const f = await Fleet.connect(cfg, silentLogger());
  test.after(() => f.close().catch(() => {}));
  return f;
}

test('five processes, max-parallel 2: never more than 2 hold a slot, and all get one', async (t) => {
  const dir = testdir();
  const recordFile = join(dir, 'record');
  const group = `g${++groups}`;
  const holdMs = 1_200;
  const began = Date.now();
  const contenders = ['h1', 'h2', 'h3', 'h4', 'h5'].map((agentId) =>
    spawnContender({ endpoint: etcd.endpoint, group, agentId, maxParallel: 2, leaseTtlMs: ttlMs, version: 'v2', holdMs, recordFile }),
  );
  const exits = await Promise.all(contenders.map((c) => c.exited));
  for (const exit of exits) assert.equal(exit.code, 0, exit.stderr);
  const records = readRecords(recordFile);
  const intervals = ['h1', 'h2', 'h3', 'h4', 'h5'].map((agent) => {
    const start = records.find((r) => r.agent === agent && r.event === 'start');
    const end = records.find((r) => r.agent === agent && r.event === 'end');
    assert.ok(start && end, `${agent} held a slot`);
    return { start: start.time, end: end.time };
  });
  assert.equal(maxOverlap(intervals), 2, 'two hosts at once, never three');
  // Five holds through two slots take at least three rounds.
  const firstStart = Math.min(...intervals.map((i) => i.start));
  const lastEnd = Math.max(...intervals.map((i) => i.end));
  assert.ok(lastEnd - firstStart >= 3 * holdMs, `rollout took ${lastEnd - firstStart} ms`);
  t.diagnostic(`5 hosts x ${holdMs} ms through 2 slots: ${lastEnd - firstStart} ms from first start to last end (${Date.now() - began} ms with process start-up)`);
});

test('kill -9 of the holder: the waiting host proceeds within about the lease TTL', async (t) => {
  const dir = testdir();
  const recordFile = join(dir, 'record');
  const group = `g${++groups}`;
  const common = { endpoint: etcd.endpoint, group, maxParallel: 1, leaseTtlMs: ttlMs, version: 'v2', recordFile };
  const holder = spawnContender({ ...common, agentId: 'holder', holdMs: -1 });
  await holder.line('taken');
  const waiter = spawnContender({ ...common, agentId: 'waiter', holdMs: 0 });
  // Let the waiter find the slot taken and settle into waiting.
  const status = await fleet(config({ group }));
  for (let i = 0; i < 100 && !readRecords(recordFile).some((r) => r.agent === 'waiter'); i++) await sleep(100);
  await sleep(700);
  assert.deepEqual((await status.status()).slots.map((s) => s.host), ['holder']);
  const killedAt = Date.now();
  holder.child.kill('SIGKILL');
  await waiter.line('taken', 15_000);
  const start = readRecords(recordFile).find((r) => r.agent === 'waiter' && r.event === 'start')!;
  const tookMs = start.time - killedAt;
  t.diagnostic(`slot of a kill -9'd holder taken by the waiter ${tookMs} ms after the kill (lease TTL ${ttlMs} ms)`);
  // Not before the lease could have expired (keepalives run every TTL/3), and not much after.
  assert.ok(tookMs >= ttlMs - ttlMs / 3 - 100, `freed too early: ${tookMs} ms`);
  assert.ok(tookMs <= ttlMs + 2_500, `freed too late: ${tookMs} ms`);
  assert.equal((await waiter.exited).code, 0);
});

test('a release wakes a waiter through the watch, sooner than polling would', async (t) => {
  const cfg = config({ maxParallel: 1 });
  const a = await fleet(cfg);
  const b = await fleet({ ...cfg, agentId: 'host-b' });
  const held = await a.acquireSlot('v1');
  const waiting = b.acquireSlot('v1');
  await sleep(300);
  const releasedAt = Date.now();
  await held.release();
  const slot = await waiting;
  const tookMs = Date.now() - releasedAt;
  t.diagnostic(`waiter took the released slot after ${tookMs} ms`);
  assert.equal(slot.index, 0);
  assert.ok(tookMs < 900, `took ${tookMs} ms: the poll is 1000 ms, so the watch did not wake it`);
  await slot.release();
  await held.release(); // a second release is harmless and frees nothing of b's
});

test('no slot before the deadline: SlotTimeoutError, exit code 75', async () => {
  const cfg = config();
  const a = await fleet(cfg);
  const b = await fleet({ ...cfg, agentId: 'host-b' });
  const held = await a.acquireSlot('v1');
  const began = Date.now();
  const error = await b.acquireSlot('v1', { deadlineMs: 800 }).catch((e: unknown) => e);
  const waited = Date.now() - began;
  assert.ok(error instanceof SlotTimeoutError, String(error));
  assert.equal(error.exitCode, ExitCode.busy);
  assert.match(error.message, new RegExp(`group ${cfg.group}`));
  assert.ok(waited >= 800 && waited < 3_000, `waited ${waited} ms`);
  await held.release();
});

test('an abort signal ends the wait with its reason', async () => {
  const cfg = config();
  const a = await fleet(cfg);
  const b = await fleet({ ...cfg, agentId: 'host-b' });
  const held = await a.acquireSlot('v1');
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('daemon stopping')), 300);
  await assert.rejects(b.acquireSlot('v1', { signal: controller.signal }), /daemon stopping/);
  await held.release();
});

test('a version quarantined while a host waits is not handed a slot', async () => {
  const cfg = config();
  const a = await fleet(cfg);
  const b = await fleet({ ...cfg, agentId: 'host-b' });
  const held = await a.acquireSlot('v7');
  const waiting = b.acquireSlot('v7').catch((e: unknown) => e);
  await sleep(200);
  await a.quarantine('v7', 'post-update hook 10-restart exited with 1');
  await held.release();
  const error = await waiting;
  assert.ok(error instanceof VersionQuarantinedError, String(error));
  assert.equal(error.record.host, 'host-a');
  assert.deepEqual((await a.status()).slots, [], 'the slot taken for the check was given back');
});

test('etcd stopped mid-wait: FleetUnavailableError naming the endpoint, then recovery', async (t) => {
  const cfg = config({ requestTimeoutMs: 2_000 });
  const a = await fleet(cfg);
  const b = await fleet({ ...cfg, agentId: 'host-b' });
  const held = await a.acquireSlot('v1');
  const waiting = b.acquireSlot('v1').catch((e: unknown) => e);
  await sleep(300);
  const stoppedAt = Date.now();
  await etcd.stop();
  const error = await waiting;
  const tookMs = Date.now() - stoppedAt;
  t.diagnostic(`waiting acquireSlot failed ${tookMs} ms after etcd stopped`);
  assert.ok(error instanceof FleetUnavailableError, String(error));
  assert.equal(error.exitCode, ExitCode.busy);
  assert.ok(error.message.includes(etcd.endpoint), error.message);
  assert.ok(tookMs < 10_000, `took ${tookMs} ms`);
  assert.equal(b.health().reachable, false);
  await assert.rejects(b.quarantined('v1'), FleetUnavailableError);

  await etcd.start();
  // The client's circuit breaker may hold off a few seconds after the outage.
  let status = null;
  for (let i = 0; i < 40 && !status; i++) status = await b.status().catch(async () => {
      await sleep(250);
      return null;
    });
  assert.ok(status, 'etcd answered again after restart');
  assert.equal(b.health().reachable, true);
  await held.release().catch(() => {});
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
