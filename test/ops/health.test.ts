import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { assessHealth, HealthTracker, overdueFactor, scheduleIntervalMs, type AppHealthInput, type HealthReport } from '../../src/metrics/health.js';
import { AgentMetrics } from '../../src/metrics/registry.js';
import { parseListen, startMetricsServer } from '../../src/metrics/server.js';

const minute = 60_000;
const t0 = new Date('2030-03-04T10:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

describe('assessHealth', () => {
  const app = (extra: Partial<AppHealthInput>): AppHealthInput => ({ app: 'web', intervalMs: minute, since: t0, ...extra });
  const cases: Array<[string, Partial<AppHealthInput>, number, string]> = [
    ['no check yet, just started', {}, 30_000, 'pending'],
    ['no check since start for three intervals', {}, overdueFactor * minute + 1, 'overdue'],
    ['up to date a moment ago', { lastCheckAt: at(0), lastResult: 'up-to-date' }, 10_000, 'ok'],
    ['deployed', { lastCheckAt: at(0), lastResult: 'deployed' }, 10_000, 'ok'],
    ['held on a rolled-back release', { lastCheckAt: at(0), lastResult: 'held' }, 10_000, 'ok'],
    ['stopped at a safe point', { lastCheckAt: at(0), lastResult: 'stopped' }, 10_000, 'ok'],
    ['exactly three intervals is still on time', { lastCheckAt: at(0), lastResult: 'up-to-date' }, overdueFactor * minute, 'ok'],
    ['a millisecond later it is overdue', { lastCheckAt: at(0), lastResult: 'up-to-date' }, overdueFactor * minute + 1, 'overdue'],
    ['remote failed', { lastCheckAt: at(0), lastResult: 'failed', lastError: 'connection refused (remote https://example.test/app.zip)' }, 1_000, 'failing'],
    ['blocked by a hook', { lastCheckAt: at(0), lastResult: 'blocked' }, 1_000, 'failing'],
    ['reverted', { lastCheckAt: at(0), lastResult: 'reverted' }, 1_000, 'failing'],
    ['backing off a broken version', { lastCheckAt: at(0), lastResult: 'backing-off' }, 1_000, 'failing'],
    ['a long interval stretches the deadline', { intervalMs: 60 * minute, lastCheckAt: at(0), lastResult: 'up-to-date' }, 2 * 60 * minute, 'ok'],
  ];
  for (const [name, input, elapsed, expected] of cases) {
    test(name, () => {
      const report = assessHealth([app(input)], at(elapsed));
      assert.equal(report.apps[0]!.status, expected);
      const healthy = expected === 'ok' || expected === 'pending';
      assert.equal(report.status, healthy ? 'ok' : 'unhealthy');
      if (healthy) assert.equal(report.reason, undefined);
      else assert.match(report.reason!, new RegExp(`^app web: ${expected === 'overdue' ? 'overdue' : `last check ${input.lastResult}`}`));
      if (input.lastError) assert.ok(report.reason!.includes(input.lastError));
    });
  }

  test('one unhealthy app makes the agent unhealthy, naming only that app', () => {
    const report = assessHealth(
      [
        { app: 'web', intervalMs: minute, since: t0, lastCheckAt: at(0), lastResult: 'up-to-date' },
        { app: 'api', intervalMs: minute, since: t0, lastCheckAt: at(0), lastResult: 'reverted' },
      ],
      at(1_000),
    );
    assert.equal(report.status, 'unhealthy');
    assert.match(report.reason!, /^app api: last check reverted$/);
    assert.deepEqual(report.apps.map((a) => a.status), ['ok', 'failing']);
  });
});

describe('scheduleIntervalMs', () => {
  const cases: Array<[string, number]> = [
    ['* * * * *', minute],
    ['*/5 * * * *', 5 * minute],
    ['*/10 * * * * *', 10_000],
    ['0 */6 * * *', 6 * 60 * minute],
  ];
  for (const [schedule, expected] of cases) {
    test(schedule, () => assert.equal(scheduleIntervalMs(schedule), expected));
  }
  test('the longest gap counts: weekdays at nine wait from Friday to Monday', () => {
    // 72 hours, give or take a daylight-saving hour in the host's time zone.
    const gap = scheduleIntervalMs('0 9 * * 1-5');
    assert.ok(Math.abs(gap - 72 * 60 * minute) <= 60 * minute, `${gap} ms`);
  });
});

describe('HealthTracker', () => {
  test('follows outcomes and the clock; a reload keeps history and starts new apps fresh', () => {
    const clock = { now: t0 };
    const tracker = new HealthTracker([{ name: 'web', schedule: '* * * * *' }], () => clock.now);
    assert.deepEqual(tracker.report(), { status: 'ok', apps: [{ app: 'web', status: 'pending' }] });
    tracker.record({ app: 'web', result: 'failed', error: new Error('no such bucket') });
    assert.match(tracker.report().reason!, /app web: last check failed: no such bucket/);
    clock.now = at(minute);
    tracker.record({ app: 'web', result: 'up-to-date', version: 'v1', releaseId: 'r1' });
    assert.equal(tracker.report().status, 'ok');
    tracker.setApps([{ name: 'web', schedule: '* * * * *' }, { name: 'api', schedule: '*/5 * * * *' }]);
    clock.now = at(minute + 3 * minute + 1);
    const report = tracker.report();
    assert.deepEqual(report.apps.map((a) => [a.app, a.status]), [['web', 'overdue'], ['api', 'pending']]);
    assert.equal(report.apps[0]!.lastCheckAt, at(minute).toISOString());
  });
});

describe('parseListen', () => {
  const cases: Array<[string, { host: string; port: number } | null]> = [
    ['9464', { host: '127.0.0.1', port: 9464 }],
    [':9464', { host: '127.0.0.1', port: 9464 }],
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
    ['localhost:9464', { host: 'localhost', port: 9464 }],
    ['[::1]:9464', { host: '::1', port: 9464 }],
    ['70000', null],
    ['host:', null],
    ['::1:9464', null],
    ['http://127.0.0.1:9464', null],
  ];
  for (const [raw, expected] of cases) test(raw, () => assert.deepEqual(parseListen(raw), expected));
});

/** A raw HTTP request over one connection, so status, headers and body are all visible. */
function get(address: string, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')).replace(/^\[|\]$/g, ''), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

describe('/healthz over HTTP', () => {
  test('200 {"status":"ok"}, then 503 with the reason, then 200 again', async () => {
    const clock = { now: t0 };
    const tracker = new HealthTracker([{ name: 'web', schedule: '* * * * *' }], () => clock.now);
    const server = await startMetricsServer({ listen: '0', metrics: new AgentMetrics(), health: () => tracker.report(), logger: silentLogger() });
    after(() => server.close());
    // Only a port: loopback.
    assert.match(server.address, /^127\.0\.0\.1:\d+$/);
    let res = await get(server.address, '/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { status: 'ok' });
    assert.equal(res.headers['cache-control'], 'no-store');

    tracker.record({ app: 'web', result: 'blocked', version: 'v2', error: new Error('pre-update hook 10-gate exited with status 1') });
    res = await get(server.address, '/healthz');
    assert.equal(res.status, 503);
    const body = JSON.parse(res.body) as HealthReport;
    assert.equal(body.status, 'unhealthy');
    assert.match(body.reason!, /app web: last check blocked: pre-update hook 10-gate exited/);

    tracker.record({ app: 'web', result: 'deployed', version: 'v3', releaseId: 'r3' });
    assert.equal((await get(server.address, '/healthz')).status, 200);
    clock.now = at(10 * minute);
    res = await get(server.address, '/healthz');
    assert.equal(res.status, 503);
    assert.equal((JSON.parse(res.body) as HealthReport).apps[0]!.status, 'overdue');
    res = await get(server.address, '/healthz', 'HEAD');
    assert.equal(res.status, 503);
    assert.equal(res.body, '');
  });

  test('unknown paths, other methods and a throwing health function', async () => {
    let fail = true;
    const server = await startMetricsServer({
      listen: '127.0.0.1:0',
      metrics: new AgentMetrics(),
      health: () => {
        if (fail) throw new Error('state file unreadable');
        return { status: 'ok', apps: [] };
      },
      logger: silentLogger(),
    });
    after(() => server.close());
    assert.equal((await get(server.address, '/')).status, 404);
    const post = await get(server.address, '/metrics', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const broken = await get(server.address, '/healthz');
    assert.equal(broken.status, 500);
    assert.match(broken.body, /state file unreadable/);
    fail = false;
    assert.equal((await get(server.address, '/healthz?verbose=1')).status, 200);
  });

  test('a port in use is an error naming the address; close ends open keep-alive connections', async () => {
    const first = await startMetricsServer({ listen: '127.0.0.1:0', metrics: new AgentMetrics(), health: () => ({ status: 'ok', apps: [] }), logger: silentLogger() });
    await assert.rejects(
      startMetricsServer({ listen: first.address, metrics: new AgentMetrics(), health: () => ({ status: 'ok', apps: [] }), logger: silentLogger() }),
      new RegExp(`cannot listen on ${first.address.replace(/\./g, '\\.')} for /healthz and /metrics: address already in use`),
    );
    await assert.rejects(
      startMetricsServer({ listen: 'nonsense', metrics: new AgentMetrics(), health: () => ({ status: 'ok', apps: [] }), logger: silentLogger() }),
      /invalid listen address "nonsense"/,
    );
    // A keep-alive connection left open by a scraper must not hold close() up.
    const res = await fetch(`http://${first.address}/metrics`);
    assert.equal(res.status, 200);
    const started = Date.now();
    await first.close();
    assert.ok(Date.now() - started < 2_000, 'close waited for an idle connection');
    await assert.rejects(fetch(`http://${first.address}/healthz`));
  });
});
