// Quarantine records, the agent registry and `fleet status` against a real etcd; the `etcd`
// config value; an etcd that is not there at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Fleet, FleetUnavailableError, badKey, parseEndpoints, type FleetConfig } from '../../src/fleet/index.js';
import { ConfigError, ExitCode } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { startEtcd } from '../support/etcd.js';
import { freePort } from '../support/git-daemon.js';
import { testdir } from '../support/tmp.js';

const ttlMs = 2_000;
const etcd = await startEtcd();
let groups = 0;

function config(over: Partial<FleetConfig> = {}): FleetConfig {
  return { endpoints: [etcd.endpoint], group: `r${++groups}`, maxParallel: 1, leaseTtlMs: ttlMs, agentId: 'host-a', unavailable: 'wait', ...over };
}

async function fleet(cfg: FleetConfig): Promise<Fleet> {
  const f = await Fleet.connect(cfg, silentLogger());
  test.after(() => f.close().catch(() => {}));
  return f;
}

test('parseEndpoints: comma-separated http(s) URLs, nothing else', () => {
  const cases: Array<[string, string[] | RegExp]> = [
    ['http://127.0.0.1:2379', ['http://127.0.0.1:2379']],
    [' http://a:2379 , https://b:2379,', ['http://a:2379', 'https://b:2379']],
    ['', /one or more etcd URLs/],
    ['127.0.0.1:2379', /expected an http:\/\/ or https:\/\/ URL|not a URL/],
    ['etcd', /not a URL/],
    ['ftp://a:2379', /http:\/\/ or https:\/\//],
    ['http://root:secret@a:2379', /must not hold credentials/],
  ];
  for (const [input, expected] of cases) {
    const result = parseEndpoints(input);
    if (Array.isArray(expected)) assert.deepEqual(result, expected, input);
    else {
      assert.ok(!Array.isArray(result), `${input} should be refused`);
      assert.match(result.error, expected, input);
      assert.ok(!result.error.includes('secret'), 'no password in the message');
    }
  }
});

test('quarantine: recorded with host, time and reason; first record wins; cleared', async () => {
  const cfg = config();
  const a = await fleet(cfg);
  const b = await fleet({ ...cfg, agentId: 'host-b' });
  assert.equal(await b.quarantined('"etag-1"'), null);
  const before = Date.now();
  const stored = await a.quarantine('"etag-1"', 'post-update hook 20-migrate exited with 2');
  assert.equal(stored.host, 'host-a');

  const seen = await b.quarantined('"etag-1"');
  assert.ok(seen);
  assert.equal(seen.version, '"etag-1"');
  assert.equal(seen.host, 'host-a');
  assert.equal(seen.reason, 'post-update hook 20-migrate exited with 2');
  assert.ok(Date.parse(seen.time) >= before - 1000 && Date.parse(seen.time) <= Date.now());
  assert.equal(await b.quarantined('"etag-2"'), null, 'other versions are not affected');

  // A second host reverting the same version keeps the first host's record.
  const again = await b.quarantine('"etag-1"', 'hook timed out');
  assert.equal(again.host, 'host-a');
  assert.equal((await a.quarantined('"etag-1"'))?.reason, 'post-update hook 20-migrate exited with 2');

  const status = await b.status();
  assert.deepEqual(status.quarantined.map((q) => [q.version, q.host]), [['"etag-1"', 'host-a']]);

  assert.equal(await b.clear('"etag-1"'), true);
  assert.equal(await a.quarantined('"etag-1"'), null);
  assert.equal(await b.clear('"etag-1"'), false, 'nothing left to clear');
});

test('a quarantine outlives the host that recorded it (no lease)', async () => {
  const cfg = config();
  const a = await fleet(cfg);
  await a.quarantine('v9', 'reverted');
  await a.close();
  const b = await fleet({ ...cfg, agentId: 'host-b' });
  assert.equal((await b.quarantined('v9'))?.host, 'host-a');
  assert.match(badKey(cfg.group, 'v9'), /^\/repo-deploy\/r\d+\/bad\/[0-9a-f]{64}$/);
});

test('agents register without a lease: listed in status with their last check after they close', async () => {
  const cfg = config();
  const a = await fleet(cfg);
  const b = await fleet({ ...cfg, agentId: 'host-b' });
  const checkedAt = new Date().toISOString();
  await a.report({ version: 'v1', release: '20240101T000000Z-v1', lastCheckAt: checkedAt, result: 'deployed' });
  await b.report({ lastCheckAt: checkedAt, result: 'waiting for slot' });
  await a.report({ version: 'v2', release: '20240102T000000Z-v2', lastCheckAt: checkedAt, result: 'deployed' });
  const { agents } = await b.status();
  assert.deepEqual(
    agents.map((x) => [x.id, x.version, x.result]),
    [
      ['host-a', 'v2', 'deployed'],
      ['host-b', undefined, 'waiting for slot'],
    ],
  );
  assert.equal(agents[0]!.lastCheckAt, checkedAt);
  await a.close();
  const after = (await b.status()).agents;
  assert.deepEqual(after.map((x) => [x.id, x.version]), [['host-a', 'v2'], ['host-b', undefined]], 'a run from cron stays listed after it exits');
  assert.equal(after[0]!.lastCheckAt, checkedAt);
});

test('an agent silent for longer than the retention is pruned by the next status', async () => {
  const cfg = config({ agentRetentionMs: 1_500 });
  const gone = await fleet({ ...cfg, agentId: 'gone' });
  await gone.report({ version: 'v3', lastCheckAt: new Date().toISOString(), result: 'deployed' });
  await gone.close();
  const observer = await fleet({ ...cfg, agentId: 'observer' });
  assert.deepEqual((await observer.status()).agents.map((x) => x.id), ['gone'], 'listed within the retention');
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await observer.report({ lastCheckAt: new Date().toISOString(), result: 'up-to-date' });
  assert.deepEqual((await observer.status()).agents.map((x) => x.id), ['observer'], 'pruned after the retention; a fresh record stays');
});

test('etcd not there: typed error naming the endpoints, within the request bound', async () => {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const f = await fleet(config({ endpoints: [endpoint], requestTimeoutMs: 1_500 }));
  assert.equal(f.health().reachable, null, 'connect does not need etcd');
  const began = Date.now();
  const error = await f.quarantined('v1').catch((e: unknown) => e);
  assert.ok(error instanceof FleetUnavailableError, String(error));
  assert.equal(error.exitCode, ExitCode.busy);
  assert.ok(error.message.includes(endpoint), error.message);
  assert.deepEqual(error.endpoints, [endpoint]);
  assert.ok(Date.now() - began < 10_000, `took ${Date.now() - began} ms`);
  assert.equal(f.health().reachable, false);
  await assert.rejects(f.acquireSlot('v1', { deadlineMs: 60_000 }), FleetUnavailableError);
  await assert.rejects(f.report({ lastCheckAt: new Date().toISOString(), result: 'up-to-date' }), FleetUnavailableError);
});

test('an unreadable TLS file is a config error naming it', async () => {
  const missing = join(testdir(), 'no-such-ca.pem');
  const error = await Fleet.connect(config({ tls: { ca: missing } }), silentLogger()).catch((e: unknown) => e);
  assert.ok(error instanceof ConfigError, String(error));
  assert.ok(error.message.includes('no-such-ca.pem'), error.message);
});
