import assert from 'node:assert/strict';
import { readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { register as defaultRegistry } from 'prom-client';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { AgentMetrics } from '../../src/metrics/registry.js';
import { startMetricsServer } from '../../src/metrics/server.js';
import { checkOnce, type CheckOutcome } from '../../src/pipeline/check.js';
import { testdir } from '../support/tmp.js';

/** One sample of the Prometheus text format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A small parser for the text exposition format: samples and `# TYPE` lines. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

/** The value of the one sample matching name and labels; undefined when absent. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

/** Serves `metrics` on a free loopback port and scrapes it over real HTTP. */
async function serve(metrics: AgentMetrics): Promise<{ scrape: () => Promise<{ samples: Sample[]; types: Map<string, string> }> }> {
  const server = await startMetricsServer({ listen: '127.0.0.1:0', metrics, health: () => ({ status: 'ok', apps: [] }), logger: silentLogger() });
  after(() => server.close());
  return {
    scrape: async () => {
      const res = await fetch(`http://${server.address}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return parseExposition(await res.text());
    },
  };
}

const clockAt = (iso: string) => {
  const clock = { now: new Date(iso) };
  return { clock, now: () => clock.now };
};

describe('metrics fed with outcomes, scraped over HTTP', () => {
  test('checks and deploys are counted by app and result', async () => {
    const metrics = new AgentMetrics();
    const { scrape } = await serve(metrics);
    const feed: CheckOutcome[] = [
      { app: 'web', result: 'up-to-date', version: 'v1', releaseId: 'r1' },
      { app: 'web', result: 'up-to-date', version: 'v1', releaseId: 'r1' },
      { app: 'web', result: 'deployed', version: 'v2', releaseId: 'r2' },
      // The remote could not be asked: a check failure, not a deploy.
      { app: 'web', result: 'failed', error: new Error('connection refused') },
      // The version was known, its fetch failed: a deploy attempt.
      { app: 'web', result: 'failed', version: 'v3', releaseId: 'r2', error: new Error('archive truncated') },
      { app: 'web', result: 'backing-off', version: 'v3', nextTryAt: '2030-01-01T00:00:00Z' },
      { app: 'web', result: 'blocked', version: 'v4', releaseId: 'r2' },
      { app: 'api', result: 'reverted', version: 'b', releaseId: 'a1' },
    ];
    for (const o of feed) metrics.observe(o);
    const { samples, types } = await scrape();
    const expectChecks = (app: string, result: string) => feed.filter((o) => o.app === app && o.result === result).length;
    for (const result of ['up-to-date', 'deployed', 'failed', 'backing-off', 'blocked']) {
      assert.equal(valueOf(samples, 'repo_deploy_checks_total', { app: 'web', result }), expectChecks('web', result), result);
    }
    assert.equal(valueOf(samples, 'repo_deploy_checks_total', { app: 'api', result: 'reverted' }), 1);
    assert.equal(valueOf(samples, 'repo_deploy_deploys_total', { app: 'web', result: 'deployed' }), 1);
    assert.equal(valueOf(samples, 'repo_deploy_deploys_total', { app: 'web', result: 'failed' }), 1);
    assert.equal(valueOf(samples, 'repo_deploy_deploys_total', { app: 'web', result: 'blocked' }), 1);
    assert.equal(valueOf(samples, 'repo_deploy_deploys_total', { app: 'web', result: 'up-to-date' }), undefined);
    assert.equal(valueOf(samples, 'repo_deploy_deploys_total', { app: 'web', result: 'backing-off' }), undefined);
    assert.equal(valueOf(samples, 'repo_deploy_deploys_total', { app: 'api', result: 'reverted' }), 1);
    assert.equal(types.get('repo_deploy_checks_total'), 'counter');
    assert.equal(types.get('repo_deploy_current_release_info'), 'gauge');
  });

  test('last success time follows the clock and survives later failures', async () => {
    const { clock, now } = clockAt('2030-05-01T10:00:00.000Z');
    const metrics = new AgentMetrics(now);
    const { scrape } = await serve(metrics);
    metrics.observe({ app: 'web', result: 'deployed', version: 'v1', releaseId: 'r1' });
    const deployedAt = clock.now.getTime() / 1000;
    clock.now = new Date('2030-05-01T10:05:00.000Z');
    metrics.observe({ app: 'web', result: 'up-to-date', version: 'v1', releaseId: 'r1' });
    const successAt = clock.now.getTime() / 1000;
    clock.now = new Date('2030-05-01T10:06:00.000Z');
    metrics.observe({ app: 'web', result: 'failed', error: new Error('timeout') });
    const { samples } = await scrape();
    assert.equal(valueOf(samples, 'repo_deploy_last_success_timestamp_seconds', { app: 'web' }), successAt);
    assert.equal(valueOf(samples, 'repo_deploy_last_deploy_timestamp_seconds', { app: 'web' }), deployedAt);
  });

  test('release info: one series per app, replaced on deploy, kept through a revert', async () => {
    const metrics = new AgentMetrics();
    const { scrape } = await serve(metrics);
    const info = async () => (await scrape()).samples.filter((s) => s.name === 'repo_deploy_current_release_info');
    // ETags arrive quoted: the label value must survive escaping.
    const etag = '"9b2c\\x"';
    metrics.observe({ app: 'web', result: 'deployed', version: etag, releaseId: 'r1' });
    metrics.observe({ app: 'web', result: 'deployed', version: 'v2', releaseId: 'r2' });
    metrics.observe({ app: 'api', result: 'deployed', version: etag, releaseId: 'a1' });
    assert.deepEqual(
      (await info()).map((s): Record<string, string | number> => ({ ...s.labels, value: s.value })).sort((a, b) => String(a.app).localeCompare(String(b.app))),
      [{ app: 'api', release: 'a1', version: etag, value: 1 }, { app: 'web', release: 'r2', version: 'v2', value: 1 }],
    );
    // A reverted update reports the failed version, but current still holds r2 with v2.
    metrics.observe({ app: 'web', result: 'reverted', version: 'v3', releaseId: 'r2' });
    assert.deepEqual((await info()).filter((s) => s.labels.app === 'web').map((s) => s.labels), [{ app: 'web', release: 'r2', version: 'v2' }]);
    // Rolled back to r1 and held there: the outcome carries the remote's version (v2), the
    // label must say what r1 holds.
    metrics.observe({ app: 'web', result: 'held', version: 'v2', releaseId: 'r1' });
    assert.deepEqual((await info()).filter((s) => s.labels.app === 'web').map((s) => s.labels), [{ app: 'web', release: 'r1', version: etag }]);
    // A release never seen deployed (the daemon started after it) is not guessed.
    metrics.observe({ app: 'web', result: 'held', version: 'v2', releaseId: 'r0' });
    assert.deepEqual((await info()).filter((s) => s.labels.app === 'web').map((s) => s.labels), [{ app: 'web', release: 'r0', version: 'unknown' }]);
  });

  test('hook and download durations are histograms; bytes add up', async () => {
    const metrics = new AgentMetrics();
    const { scrape } = await serve(metrics);
    const hookMs = [40, 800, 3_000, 250_000];
    for (const ms of hookMs) metrics.observeHook('web', 'post-update', ms);
    metrics.observeHook('web', 'pre-update', 1_500);
    const downloads: Array<[number, number]> = [[120, 1_000_000], [30, 0], [2_000, 52_428_800]];
    for (const [ms, bytes] of downloads) metrics.observeDownload('web', ms, bytes);
    const { samples, types } = await scrape();
    const post = { app: 'web', phase: 'post-update' };
    assert.equal(types.get('repo_deploy_hook_duration_seconds'), 'histogram');
    assert.equal(valueOf(samples, 'repo_deploy_hook_duration_seconds_count', post), hookMs.length);
    assert.ok(Math.abs(valueOf(samples, 'repo_deploy_hook_duration_seconds_sum', post)! - hookMs.reduce((a, b) => a + b) / 1000) < 1e-9);
    // Buckets are cumulative: each counts the observations at or below its bound.
    for (const s of samples.filter((x) => x.name === 'repo_deploy_hook_duration_seconds_bucket' && x.labels.phase === 'post-update')) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      assert.equal(s.value, hookMs.filter((ms) => ms / 1000 <= le).length, `le=${s.labels.le}`);
    }
    assert.equal(valueOf(samples, 'repo_deploy_hook_duration_seconds_count', { app: 'web', phase: 'pre-update' }), 1);
    assert.equal(valueOf(samples, 'repo_deploy_download_duration_seconds_count', { app: 'web' }), downloads.length);
    assert.equal(valueOf(samples, 'repo_deploy_downloaded_bytes_total', { app: 'web' }), downloads.reduce((a, [, b]) => a + b, 0));
  });

  test('seed from recorded status, forget on removal; registries are private', async () => {
    const metrics = new AgentMetrics();
    const other = new AgentMetrics();
    const { scrape } = await serve(metrics);
    metrics.seed({ app: 'web', current: { id: 'r9', version: 'v9', status: 'good', path: 'releases/r9' }, lastSuccessAt: '2030-01-02T03:04:05.000Z' });
    metrics.observe({ app: 'web', result: 'up-to-date', version: 'v9', releaseId: 'r9' });
    metrics.observeHook('web', 'pre-update', 10);
    metrics.observe({ app: 'api', result: 'deployed', version: 'x', releaseId: 'a' });
    let { samples } = await scrape();
    assert.equal(valueOf(samples, 'repo_deploy_current_release_info', { app: 'web', release: 'r9', version: 'v9' }), 1);
    assert.equal(valueOf(samples, 'repo_deploy_last_deploy_timestamp_seconds', { app: 'web' }), Date.parse('2030-01-02T03:04:05.000Z') / 1000);
    metrics.forget('web');
    ({ samples } = await scrape());
    assert.deepEqual(samples.filter((s) => s.labels.app === 'web'), []);
    assert.equal(valueOf(samples, 'repo_deploy_checks_total', { app: 'api', result: 'deployed' }), 1);
    // Nothing leaked into another instance or the process-wide default registry.
    assert.equal(valueOf(parseExposition(await other.text()).samples, 'repo_deploy_checks_total', { app: 'api', result: 'deployed' }), undefined);
    assert.equal(defaultRegistry.getSingleMetric('repo_deploy_checks_total'), undefined);
  });
});

describe('metrics from real checks', () => {
  test('a local remote deployed, then up to date, then blocked by a pre-update hook', async () => {
    const dir = testdir({
      'src/index.html': 'one',
      'pre-update.d/10-gate': { content: '#!/bin/sh\n[ ! -e "$CURRENT_CONFIG/block" ]\n', mode: 0o755 },
      'repo-deploy.cfg': 'remote = src\ndirectory = deploy\npre-hooks = pre-update.d\npost-hooks = pre-update.d\n',
    });
    const [app] = loadConfig({ configFile: join(dir, 'repo-deploy.cfg'), cwd: dir }).apps;
    assert.ok(app);
    const metrics = new AgentMetrics();
    const { scrape } = await serve(metrics);
    const run = async () => {
      const outcome = await checkOnce({ app, logger: silentLogger() });
      metrics.observe(outcome);
      return outcome;
    };
    const first = await run();
    assert.equal(first.result, 'deployed');
    assert.equal((await run()).result, 'up-to-date');
    writeFileSync(join(dir, 'src/block'), 'x');
    assert.equal((await run()).result, 'blocked');

    const { samples } = await scrape();
    assert.equal(valueOf(samples, 'repo_deploy_checks_total', { app: 'default', result: 'up-to-date' }), 1);
    assert.equal(valueOf(samples, 'repo_deploy_deploys_total', { app: 'default', result: 'deployed' }), 1);
    assert.equal(valueOf(samples, 'repo_deploy_deploys_total', { app: 'default', result: 'blocked' }), 1);
    // The release info names what `current` really points at.
    const info = samples.filter((s) => s.name === 'repo_deploy_current_release_info');
    assert.equal(info.length, 1);
    assert.equal(info[0]!.labels.release, basename(readlinkSync(app.local)));
    assert.equal(info[0]!.labels.version, first.version);
  });
});
