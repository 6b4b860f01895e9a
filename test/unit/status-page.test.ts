import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMessage, shortVersion } from '../../src/log-pretty.js';
import { when } from '../../src/metrics/html.js';
import { renderStatusPage, type StatusPageData } from '../../src/metrics/status-page.js';
import type { AppStatus } from '../../src/status.js';

const now = new Date('2026-11-27T12:00:00Z');

function page(over: Partial<StatusPageData> = {}): string {
  const status: AppStatus = { app: 'web', remote: '/srv/src', link: '/var/deploy/web/current', linkState: 'missing', lastHookOutput: [], releases: [] };
  return renderStatusPage({ agentId: 'h1', version: '2.0.0', now, refreshSeconds: 10, apps: [{ status, schedule: '* * * * *' }], fleets: [], ...over });
}

test('fleet data the page has no section for is still shown, as a table of its records', () => {
  const html = page({
    fleets: [{ group: 'web', apps: ['web'], maxParallel: 2, status: { agents: [], slots: [], quarantined: [], paused: null, rollouts: [], waves: [{ wave: 1, hosts: 'h1 & h2', state: 'done' }] } }],
  });
  assert.match(html, /<h3>waves<\/h3>\s*<div class="scroll"><table><thead><tr><th>wave<\/th><th>hosts<\/th><th>state<\/th>/);
  assert.match(html, /<td>h1 &amp; h2<\/td>/);
  assert.match(html, /no agent registered/);
});

test('an unreadable group or history is said on the page, escaped and without credentials', () => {
  const html = page({
    apps: [{
      status: { app: 'web', remote: '/srv/src', link: '/l', linkState: 'missing', lastHookOutput: ['<img src=x> https://u:tok3n@h/x'], releases: [] },
      schedule: '* * * * *',
      history: new Error('cannot read <history>'),
    }],
    fleets: [{ group: 'g<1>', apps: ['web'], maxParallel: 1, error: 'etcd did not answer within 3 s' }],
  });
  assert.match(html, /etcd: etcd did not answer within 3 s/);
  assert.match(html, /Rollout group g&lt;1&gt;/);
  assert.match(html, /cannot read the history: cannot read &lt;history&gt;/);
  assert.match(html, /&lt;img src=x&gt; https:\/\/h\/x/);
  assert.ok(!html.includes('tok3n') && !html.includes('<img'));
});

test('log lines for people: short versions and key=value', () => {
  assert.equal(shortVersion('0a844d3d88a4d23c770c868bfc45a2df9754203c'), '0a844d3d88a4');
  assert.equal(shortVersion('tree-6c80d0737364d2030f89460df63439ad5c0204c2d4477b5b97e12d8f4209b38b'), 'tree-6c80d0737364');
  assert.equal(shortVersion('"5d41402abc4b2a76b9719d911017c592"'), '5d41402abc4b');
  assert.equal(shortVersion('v1.2.3'), 'v1.2.3');
  assert.equal(
    formatMessage({ level: 'info', time: 't', pid: 1, name: 'repo-deploy', app: 'web', version: 'v1', msg: 'hook finished', hook: '10 a', ms: 5, ok: true }),
    'web v1 hook finished hook="10 a" ms=5 ok=true',
  );
});

test('times show to the second with how long ago or ahead, the exact time kept in the attribute', () => {
  assert.equal(when('2026-11-27T11:58:00.123Z', now)?.html, '<time datetime="2026-11-27T11:58:00.123Z">2026-11-27 11:58:00Z</time> <span class="ago">(2 min ago)</span>');
  assert.match(when('2026-11-27T15:00:00Z', now)!.html, /\(in 3 h\)/);
  assert.equal(when('soon <b>', now)?.html, 'soon &lt;b&gt;');
  assert.equal(when(undefined, now), undefined);
});
