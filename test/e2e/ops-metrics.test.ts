import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { freePort, makeAppsLayout, parseMetrics, startBackground, writeHook, type AppLayout, type MetricSample } from '../support/cli.js';
import { writeTree } from '../support/tmp.js';

// End-to-end: `listen = 127.0.0.1:PORT` on the daemon. /healthz and /metrics are
// scraped over real HTTP while it runs, and the exposition text is parsed, not grepped.

const sum = (samples: MetricSample[], name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);

/** A daemon with `listen`, two apps deployed and the first up-to-date check of web counted. */
async function listening() {
  const layout = makeAppsLayout(['web', 'api']);
  const { web, api } = layout.apps as Record<'web' | 'api', AppLayout>;
  const port = await freePort();
  layout.writeConfig(`schedule = */1 * * * * *\nlisten = 127.0.0.1:${port}`);
  writeTree(web.remote, { 'v.txt': 'web v1', 'big.bin': 'x'.repeat(10_000) });
  writeTree(api.remote, { 'v.txt': 'api v1' });
  writeHook(web, 'post', '10-restart', 'sleep 0.1');
  const daemon = startBackground(['-c', layout.config], { cwd: layout.root });
  const base = `http://127.0.0.1:${port}`;
  await daemon.waitForLog('listening', (l) => /listening/.test(l.msg));
  await daemon.waitForLog('both deployed', () => ['web', 'api'].every((app) => daemon.logs.some((l) => l.msg === 'deployed' && l.app === app)));
  // The outcome reaches the metrics after the 'deployed' line: wait for the next tick's check.
  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    return parseMetrics(await res.text());
  };
  let samples: MetricSample[] = [];
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    samples = await scrape();
    if (sum(samples, 'repo_deploy_checks_total', { app: 'web', result: 'up-to-date' }) >= 1) break;
    await new Promise((r) => setTimeout(r, 200));
  }

  return { layout, web, api, daemon, base, scrape, samples };
}

/** Stops the daemon: it exits 0 and its listener closes. */
async function stop({ daemon, base }: Awaited<ReturnType<typeof listening>>): Promise<void> {
  daemon.child.kill('SIGTERM');
  assert.equal((await daemon.exited).code, 0, daemon.stderr().slice(-2000));
  await assert.rejects(fetch(`${base}/healthz`), 'listener closed with the daemon');
}

test('listen: /healthz ok and /metrics with checks, release info, hook and download figures', async () => {
  const at = await listening();
  const { layout, web, api, base, samples } = at;
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });

  assert.ok(sum(samples, 'repo_deploy_checks_total', { app: 'web', result: 'deployed' }) >= 1, 'web deployed counted');
  assert.ok(sum(samples, 'repo_deploy_checks_total', { app: 'web', result: 'up-to-date' }) >= 1, 'web up-to-date counted');
  assert.equal(sum(samples, 'repo_deploy_deploys_total', { app: 'web', result: 'deployed' }), 1);
  const info = samples.filter((s) => s.name === 'repo_deploy_current_release_info');
  assert.deepEqual(
    info.map((s) => [s.labels.app, s.labels.release, s.value]).sort(),
    [['api', api.currentId(), 1], ['web', web.currentId(), 1]].sort(),
  );
  const status = await layout.status();
  assert.equal(info.find((s) => s.labels.app === 'web')?.labels.version, status.web!.current!.version);
  assert.ok(sum(samples, 'repo_deploy_hook_duration_seconds_count', { app: 'web', phase: 'post-update' }) >= 1, 'hook histogram has web post-update runs');
  assert.ok(sum(samples, 'repo_deploy_hook_duration_seconds_sum', { app: 'web', phase: 'post-update' }) >= 0.1, 'the hook slept 0.1 s');
  assert.ok(sum(samples, 'repo_deploy_download_duration_seconds_count', { app: 'web' }) >= 1);
  const bytes = samples.find((s) => s.name === 'repo_deploy_downloaded_bytes_total' && s.labels.app === 'web');
  assert.ok(bytes, 'downloaded bytes counter for web present');
  assert.ok(bytes.value >= 10_000, `downloaded bytes ${bytes.value}`);
  const lastSuccess = sum(samples, 'repo_deploy_last_success_timestamp_seconds', { app: 'web' });
  assert.ok(Math.abs(lastSuccess - Date.now() / 1000) < 30, `last success ${lastSuccess}`);

  await stop(at);
});

test('listen: a failing check turns /healthz 503 naming the app, and /metrics counts it', async () => {
  const at = await listening();
  const { web, base, scrape } = at;
  // The remote disappears: the next check fails and /healthz says which app and why.
  rmSync(web.remote, { recursive: true, force: true });
  let unhealthy: { status: number; body: { status: string; reason?: string; apps?: { app: string; status: string }[] } } | undefined;
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const res = await fetch(`${base}/healthz`);
    unhealthy = { status: res.status, body: (await res.json()) as never };
    if (res.status === 503) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(unhealthy?.status, 503, JSON.stringify(unhealthy));
  assert.equal(unhealthy.body.status, 'unhealthy');
  assert.match(unhealthy.body.reason ?? '', /^app web: last check failed/);
  assert.ok(!/app api/.test(unhealthy.body.reason ?? ''), 'api is healthy and not named');
  assert.deepEqual(unhealthy.body.apps?.map((a) => [a.app, a.status]), [['web', 'failing'], ['api', 'ok']]);
  const after = await scrape();
  assert.ok(sum(after, 'repo_deploy_checks_total', { app: 'web', result: 'failed' }) >= 1, 'failed check counted');

  await stop(at);
});
