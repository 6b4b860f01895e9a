/**
 * Renders the status page with example data of a small fleet and saves a screenshot of it in
 * Debian's Chromium: the picture of the README (docs/status-page.png). Example data rather than
 * a test run's, so the picture shows the paths and remotes of a real host, not temp dirs.
 *
 *   node --import tsx test/support/status-page-shot.ts docs/status-page.png
 */
import { createHash } from 'node:crypto';
import type { HistoryEntry } from '../../src/history/index.js';
import { renderStatusPage, type AppPageData } from '../../src/metrics/status-page.js';
import type { AppStatus, ReleaseInfo } from '../../src/status.js';
import { launchChromium } from './chromium.js';

const now = new Date('2026-11-27T14:32:10Z');
const ago = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();
const sha = (seed: string) => createHash('sha1').update(seed).digest('hex');

function release(app: string, id: string, version: string, minutes: number, status: ReleaseInfo['status'] = 'good'): ReleaseInfo {
  return { id, version, status, createdAt: ago(minutes), path: `/var/deploy/${app}/releases/${id}` };
}

function entry(minutes: number, result: string, from: string, to: string, message?: string): HistoryEntry {
  return { at: ago(minutes), action: 'deploy', result, fromVersion: from, toVersion: to, durationMs: 41_800, actor: 'agent', by: 'web-2', ...(message ? { message } : {}) };
}

function web(): AppPageData {
  const [v1, v2, v3] = [sha('3f9c1a'), sha('8be04d'), sha('c41d77')];
  const current = release('web', '20261127T141902Z-c41d77c4', v3, 13);
  const previous = release('web', '20261126T093311Z-8be04d8b', v2, 1739);
  const status: AppStatus = {
    app: 'web', remote: 'https://github.com/example/web.git#main', link: '/var/deploy/web/current', linkState: 'release',
    current, previous, lastCheck: { at: ago(0.2), result: 'up-to-date', version: v3 }, lastSuccessAt: ago(13),
    lastHookOutput: ['10-npm-ci: added 214 packages in 31s', '20-migrate: 2 migrations applied', '50-restart: restarted web.service', '60-health: GET http://127.0.0.1:3000/health -> 200 after 2 tries'],
    releases: [release('web', '20261120T101500Z-3f9c1a3f', v1, 10_457), previous, current],
  };
  return { status, schedule: '* * * * *', history: [entry(13, 'deployed', v2, v3), entry(1739, 'deployed', v1, v2), entry(10_457, 'deployed', '', v1)] };
}

function worker(): AppPageData {
  const [good, bad] = ['"5d41402abc4b2a76b9719d911017c592"', '"7d793037a0760186574b0282f2f435e7"'];
  const current = release('worker', '20261125T080000Z-5d41402a', good, 3_272);
  const status: AppStatus = {
    app: 'worker', remote: 's3://example-deploys/worker.zip', link: '/var/deploy/worker/current', linkState: 'release',
    current, lastCheck: { at: ago(4), result: 'reverted', version: bad, error: 'post-update hook 60-health exited 1: reverted to 20261125T080000Z-5d41402a' },
    lastSuccessAt: ago(3_272),
    failing: { version: bad, failures: 2, lastFailureAt: ago(4), nextTryAt: new Date(now.getTime() + 11 * 60_000).toISOString(), reason: 'post-update hook 60-health exited 1' },
    lastHookOutput: ['50-restart: restarted worker.service', '60-health: GET http://127.0.0.1:4000/health -> 502 (5 tries)', '60-health: giving up'],
    releases: [current],
  };
  return { status, schedule: '*/5 * * * *', history: [entry(4, 'reverted', good, bad, 'post-update hook 60-health exited 1'), entry(19, 'reverted', good, bad, 'post-update hook 60-health exited 1'), entry(3_272, 'deployed', '', good)] };
}

async function main(out: string): Promise<void> {
  const v3 = sha('c41d77');
  const page = renderStatusPage({
    agentId: 'web-2', version: '2.0.0', now, refreshSeconds: 10, apps: [web(), worker()],
    fleets: [{
      group: 'web', apps: ['web'], maxParallel: 1,
      status: {
        paused: null,
        rollouts: [],
        agents: [
          { id: 'web-1', version: v3, lastCheckAt: ago(0.3), result: 'up-to-date', updatedAt: ago(0.3) },
          { id: 'web-2', version: v3, lastCheckAt: ago(0.2), result: 'up-to-date', updatedAt: ago(0.2) },
          { id: 'web-3', version: sha('8be04d'), lastCheckAt: ago(0.1), result: 'waiting for slot', updatedAt: ago(0.1) },
        ],
        slots: [{ index: 0, host: 'web-3', version: v3, since: ago(0.1) }],
        quarantined: [{ version: sha('a0be11'), host: 'web-1', time: ago(2_900), reason: 'post-update hook 60-health exited 1' }],
      },
    }],
  });
  const browser = await launchChromium();
  try {
    const tab = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await tab.setContent(page);
    await tab.screenshot({ path: out, fullPage: true });
  } finally {
    await browser.close();
  }
}

await main(process.argv[2] ?? 'docs/status-page.png');
