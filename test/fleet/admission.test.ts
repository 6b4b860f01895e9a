// Who may enter a rollout, through the library against a real etcd: waves (a host beyond the
// open wave waits until its hosts confirmed), pause and resume, the per-version records that
// `fleet status` shows, and an idle agent's record written only when it changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { EtcdCoordinator, Fleet, type FleetConfig } from '../../src/fleet/index.js';
import { FleetPausedError, SlotTimeoutError, WaveTimeoutError } from '../../src/fleet/errors.js';
import { ExitCode } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { startEtcd } from '../support/etcd.js';

const etcd = await startEtcd();
const log = silentLogger();
let groups = 0;

function config(over: Partial<FleetConfig> = {}): FleetConfig {
  return { endpoints: [etcd.endpoint], group: `adm${++groups}`, maxParallel: 3, leaseTtlMs: 2_000, agentId: 'h1', unavailable: 'wait', ...over };
}

/** Agents of one group, each registered (as after its first check), unless `register` is false. */
async function fleets(cfg: FleetConfig, ids: string[], register = true): Promise<Fleet[]> {
  return Promise.all(
    ids.map(async (agentId) => {
      const f = await Fleet.connect({ ...cfg, agentId }, log);
      test.after(() => f.close().catch(() => {}));
      if (register) await f.report({ version: 'v0', lastCheckAt: new Date().toISOString(), result: 'up-to-date' });
      return f;
    }),
  );
}

test('waves 1, 100%: the second host waits for the first to confirm, then enters; status shows places and counts', async () => {
  const cfg = config({ waves: [{ count: 1 }, { percent: 100 }] });
  const [h1, h2, h3] = (await fleets(cfg, ['h1', 'h2', 'h3'])) as [Fleet, Fleet, Fleet];
  const first = await h1.acquireSlot('v2');
  const refused = await h2.acquireSlot('v2', { deadlineMs: 400 }).then(() => null, (e: unknown) => e);
  assert.ok(refused instanceof WaveTimeoutError, `a closed wave, not a full slot table: ${String(refused)}`);
  assert.ok(refused instanceof SlotTimeoutError, 'exit 75 like a slot timeout');
  assert.match(refused.message, /wave 1 of 2 .* 0 of 1 hosts confirmed/);

  const during = (await h3.status()).rollouts[0]!;
  assert.deepEqual([during.version, during.wave, during.admitted, during.inFlight, during.confirmed, during.waitReason], ['v2', 1, 1, 1, 0, 'wave']);
  assert.deepEqual(during.hosts.map((h) => [h.place, h.host, h.state]), [[1, 'h1', 'in-flight']]);

  const waiting = h2.acquireSlot('v2', { deadlineMs: 20_000 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await new EtcdCoordinator(h1, undefined, log).settle('v2', first, { ok: true });
  const second = await waiting;
  const third = await h3.acquireSlot('v2', { deadlineMs: 5_000 });
  await new EtcdCoordinator(h2, undefined, log).settle('v2', second, { ok: true });
  await new EtcdCoordinator(h3, undefined, log).settle('v2', third, { ok: false, reason: 'post-update hook 10-restart exited with 1' });

  const after = (await h1.status()).rollouts[0]!;
  assert.deepEqual([after.wave, after.admitted, after.inFlight, after.confirmed, after.failed], [2, 3, 0, 2, 1]);
  assert.deepEqual(after.hosts.map((h) => [h.place, h.host, h.state]), [[1, 'h1', 'confirmed'], [2, 'h2', 'confirmed'], [3, 'h3', 'failed']]);
  assert.equal(after.waitReason, 'quarantined');
});

test('hosts racing for the first wave: exactly one is admitted, the others wait', async () => {
  const cfg = config({ waves: [{ count: 1 }, { percent: 100 }], maxParallel: 4 });
  const hosts = await fleets(cfg, ['a', 'b', 'c', 'd']);
  const outcomes = await Promise.allSettled(hosts.map((h) => h.acquireSlot('v1', { deadlineMs: 1_500 })));
  assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, 'one canary');
  assert.ok(outcomes.every((o) => o.status === 'fulfilled' || o.reason instanceof WaveTimeoutError));
  assert.equal((await hosts[0]!.status()).slots.length, 1, 'the waiting hosts hold no slot');
});

test('pause: no host enters a new version (result paused, exit 0), a host in flight finishes; resume lets them in', async () => {
  const cfg = config();
  const [h1, h2] = (await fleets(cfg, ['h1', 'h2'])) as [Fleet, Fleet];
  const inFlight = await h1.acquireSlot('v5');
  const record = await h2.pause();
  assert.equal(record.by, 'h2');
  assert.equal((await h1.pause()).by, 'h2', 'pausing twice keeps the first record');
  const refused = await h2.acquireSlot('v5', { deadlineMs: 5_000 }).then(() => null, (e: unknown) => e);
  assert.ok(refused instanceof FleetPausedError, String(refused));
  assert.equal(refused.exitCode, ExitCode.ok);
  assert.match(refused.message, /paused .*fleet resume/);
  const decision = await new EtcdCoordinator(h2, undefined, log).admit('v5');
  assert.equal(decision.verdict, 'paused');
  assert.equal((await new EtcdCoordinator(h2, undefined, log).screen('v5')).verdict, 'paused', 'screened before any download');
  await new EtcdCoordinator(h1, undefined, log).settle('v5', inFlight, { ok: true });
  const status = await h1.status();
  assert.equal(status.paused?.by, 'h2');
  assert.equal(status.rollouts[0]!.waitReason, 'paused');

  assert.equal(await h1.resume(), true);
  assert.equal(await h1.resume(), false);
  const entered = await new EtcdCoordinator(h2, 5_000, log).admit('v5');
  assert.ok(entered.verdict === 'go' && entered.slot);
  await new EtcdCoordinator(h2, undefined, log).settle('v5', entered.slot, { ok: true });
  assert.equal((await h2.status()).rollouts[0]!.confirmed, 2);
});

test('an idle agent writes its record only when it changes, and again after reportEveryMs', async () => {
  const cfg = config({ reportEveryMs: 1_500 });
  const client = new Etcd3({ hosts: etcd.endpoint });
  test.after(() => client.close());
  const revision = async () => Number((await client.get('/none').exec()).header.revision);
  const [agent] = (await fleets(cfg, ['idle'], false)) as [Fleet];
  const report = (result: string) => agent.report({ version: 'v1', release: 'r1', lastCheckAt: new Date().toISOString(), result });
  assert.equal(await report('deployed'), true);
  const before = await revision();
  for (let i = 0; i < 5; i++) assert.equal(await report('deployed'), false, `check ${i + 1}: nothing changed, nothing written`);
  assert.equal(await revision(), before, 'no revision for unchanged checks');
  assert.equal(await report('up-to-date'), true, 'a change is written');
  // A new process (a -f run) reads its record back instead of writing it again.
  const [again] = (await fleets(cfg, ['idle'], false)) as [Fleet];
  assert.equal(await again.report({ version: 'v1', release: 'r1', lastCheckAt: new Date().toISOString(), result: 'up-to-date' }), false);
  await new Promise((resolve) => setTimeout(resolve, 1_600));
  assert.equal(await report('up-to-date'), true, 'rewritten after reportEveryMs to show the agent still checks');
});
