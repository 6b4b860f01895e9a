import type { FleetStatus } from '../fleet/types.js';
import type { HistoryEntry } from '../history/index.js';
import type { AppStatus, ReleaseInfo } from '../status.js';
import { anyValue, badge, facts, html, table, text, version, when, type Html } from './html.js';

export type { HistoryEntry };

/**
 * The HTML status page of `GET /` (with `listen`): one self-contained page rendered on the
 * server, readable without JavaScript, no external assets, refreshing itself. Pure: the data
 * is gathered by `status-data.ts`.
 */

/** What the page shows about one app. */
export interface AppPageData {
  status: AppStatus;
  /** The app's cron schedule. */
  schedule: string;
  /** Recent history, newest first; an Error when it could not be read; absent when not recorded. */
  history?: readonly HistoryEntry[] | Error;
}

/** What the page shows about one rollout group in etcd. */
export interface FleetPageData {
  group: string;
  /** Apps of this agent in the group. */
  apps: string[];
  maxParallel: number;
  /** The group as etcd has it; other fields than the known three get a section of their own. */
  status?: FleetStatus & Record<string, unknown>;
  /** Why the group could not be read (etcd down, a timeout). */
  error?: string;
}

/** Everything on the page. */
export interface StatusPageData {
  agentId: string;
  /** repo-deploy's version. */
  version: string;
  now: Date;
  /** Seconds between the page's own reloads. */
  refreshSeconds: number;
  apps: AppPageData[];
  fleets: FleetPageData[];
}

/**
 * Sections of a rollout group, in order. Adding one (waves, say) is one entry here; a field of
 * the fleet status no entry claims is still shown by the generic renderer below.
 */
export const fleetSections: readonly { key: string; title: string; render(status: FleetStatus & Record<string, unknown>, now: Date): string }[] = [
  { key: 'agents', title: 'Agents by version', render: (s, now) => agentsByVersion(s, now) },
  { key: 'slots', title: 'Rollout slots', render: (s, now) => table(['slot', 'host', 'version', 'since'], s.slots.map((x) => [x.index, x.host, version(x.version), when(x.since, now)]), 'all free') },
  { key: 'quarantined', title: 'Quarantined versions', render: (s, now) => table(['version', 'by', 'at', 'reason'], s.quarantined.map((q) => [version(q.version), q.host, when(q.time, now), q.reason])) },
];

/** The whole page. */
export function renderStatusPage(data: StatusPageData): string {
  const apps = data.apps.map((a) => appSection(a, data.now)).join('\n');
  const fleets = data.fleets.map((f) => fleetSection(f, data.now)).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${data.refreshSeconds}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>repo-deploy on ${text(data.agentId)}</title>
<style>${style}</style>
</head>
<body>
<header><h1>repo-deploy on ${text(data.agentId)}</h1>
<p>version ${text(data.version)} · ${text(data.now.toISOString())} · reloads every ${data.refreshSeconds} s · <a href="/metrics">metrics</a> · <a href="/healthz">health</a></p></header>
<main>
${apps || '<p class="none">no apps configured</p>'}
${fleets}
</main>
</body>
</html>
`;
}

function appSection(app: AppPageData, now: Date): string {
  const s = app.status;
  const failing = s.failing ? html(`${text(s.failing.version)}: ${s.failing.failures} failure(s), ${when(s.failing.nextTryAt, now)!.html}<br>${text(s.failing.reason)}`) : undefined;
  const lastCheck = s.lastCheck ? html(`${badge(s.lastCheck.result).html} ${when(s.lastCheck.at, now)!.html}${s.lastCheck.version ? ` version <code>${text(s.lastCheck.version)}</code>` : ''}${s.lastCheck.error ? `<br>${text(s.lastCheck.error)}` : ''}`) : 'never';
  const rows: [string, unknown][] = [
    ['remote', s.remote],
    ['link', `${s.link} (${s.linkState})`],
    ['current', release(s.current, now)],
    ['previous', release(s.previous, now)],
    ['latest version', s.seenVersion ? `${s.seenVersion} (same content as current)` : undefined],
    ['updating', s.updating ? html(`<code>${text(s.updating.version)}</code> ${text(s.updating.step)}${s.updating.hook ? ` hook ${text(s.updating.hook)}` : ''} since ${when(s.updating.stepAt, now)!.html}`) : undefined],
    ['last check', lastCheck],
    ['last success', when(s.lastSuccessAt, now)],
    ['next try', failing ?? `on schedule (${app.schedule})`],
    ['held', s.hold ? `at ${s.hold.releaseId} by a rollback since ${s.hold.at}` : undefined],
    ['interrupted', s.interrupted ? `${s.interrupted.releaseId} (${s.interrupted.version}) in ${s.interrupted.phase}` : undefined],
    ['restart needed', s.restartNeeded ? `daemon pid ${s.restartNeeded.pid} runs older code since ${s.restartNeeded.since}` : undefined],
  ];
  const output = s.lastHookOutput.slice(-40);
  return `<section class="app" id="app-${text(s.app)}">
<h2>${text(s.app)} ${badge(s.lastCheck?.result).html}</h2>
${facts(rows)}
<h3>Last hook output</h3>
${output.length ? `<pre>${output.map(text).join('\n')}</pre>` : '<p class="none">none</p>'}
<h3>Recent history</h3>
<div class="history">${history(app.history, now)}</div>
<details><summary>Releases on disk (${s.releases.length}), newest first</summary>
${table(['release', 'version', 'status', 'created'], [...s.releases].reverse().map((r) => [r.id, version(r.version), badge(r.status), when(r.createdAt, now)]))}
</details>
</section>`;
}

function release(r: ReleaseInfo | undefined, now: Date): Html | undefined {
  if (!r) return undefined;
  const created = r.createdAt ? ` ${when(r.createdAt, now)!.html}` : '';
  return html(`<code>${text(r.id)}</code> version <code>${text(r.version)}</code> ${badge(r.status).html}${created}`);
}

function history(entries: AppPageData['history'], now: Date): string {
  if (entries === undefined) return '<p class="none">not recorded by this agent</p>';
  if (entries instanceof Error) return `<p class="bad">cannot read the history: ${text(entries.message)}</p>`;
  const rows = entries.slice(0, 20).map((e) => [
    when(e.at, now),
    e.action,
    badge(e.result),
    versionAt(e.fromVersion, e.fromRelease),
    versionAt(e.toVersion, e.toRelease),
    `${(e.durationMs / 1000).toFixed(1)}\u00a0s`,
    e.actor === 'agent' ? `agent ${e.by}` : e.by,
    e.message,
  ]);
  return table(['time', 'action', 'result', 'from', 'to', 'took', 'by', 'message'], rows, 'no history yet');
}

function versionAt(value: string | undefined, release: string | undefined): Html | string {
  if (!value && !release) return '-';
  const v = value ? (version(value) as Html).html : '?';
  return html(`${v}${release ? `<br><span class="ago">${text(release)}</span>` : ''}`);
}

function fleetSection(fleet: FleetPageData, now: Date): string {
  const head = `<h2>Rollout group ${text(fleet.group)}</h2>\n<p>apps ${text(fleet.apps.join(', '))} · max-parallel ${fleet.maxParallel}</p>`;
  if (!fleet.status) return `<section class="fleet">${head}\n<p class="bad">etcd: ${text(fleet.error ?? 'not read')}</p></section>`;
  const status = fleet.status;
  const known = fleetSections.map((s) => `<h3>${text(s.title)}</h3>\n${s.render(status, now)}`);
  const claimed = new Set(fleetSections.map((s) => s.key));
  const others = Object.entries(status)
    .filter(([key]) => !claimed.has(key))
    .map(([key, value]) => `<h3>${text(key)}</h3>\n${anyValue(value)}`);
  return `<section class="fleet">${head}\n${[...known, ...others].join('\n')}</section>`;
}

function agentsByVersion(status: FleetStatus, now: Date): string {
  const byVersion = new Map<string, typeof status.agents>();
  for (const a of status.agents) byVersion.set(a.version ?? '(none)', [...(byVersion.get(a.version ?? '(none)') ?? []), a]);
  const rows = [...byVersion].map(([v, agents]) => [
    version(v),
    agents.length,
    html(agents.map((a) => `${text(a.id)} ${badge(a.result).html} <span class="ago">checked ${when(a.lastCheckAt, now)!.html}</span>`).join('<br>')),
  ]);
  return table(['version', 'agents', 'who'], rows, 'no agent registered');
}

const style = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2125;background:#f6f7f9}
header{background:#1d2125;color:#fff;padding:.8em 1.5em}header h1{margin:0;font-size:1.3em}
header p{margin:.2em 0 0;color:#c9ced6}header a{color:#9cd1ff}
main{padding:1em 1.5em;display:grid;gap:1em;grid-template-columns:repeat(auto-fill,minmax(40em,1fr))}
section{background:#fff;border:1px solid #d9dde3;border-radius:6px;padding:.8em 1.2em}
h2{margin:.1em 0 .5em;font-size:1.15em}h3{font-size:.95em;margin:1em 0 .3em;color:#4a525c}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:0}dt{color:#59636e}dd{margin:0;overflow-wrap:anywhere}
code{font:12px ui-monospace,monospace;background:#f0f2f5;padding:0 .25em;border-radius:3px}
pre{font:12px/1.35 ui-monospace,monospace;background:#1d2125;color:#e6e6e6;padding:.6em;border-radius:4px;overflow:auto;max-height:18em;white-space:pre-wrap}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.2em .5em;border-bottom:1px solid #e3e6ea;vertical-align:top;overflow-wrap:break-word}
.badge{display:inline-block;white-space:nowrap;padding:0 .5em;border-radius:9px;background:#e3e6ea;font-size:.85em}
.badge.good{background:#d3f5dc;color:#105c26}.badge.bad{background:#fde0df;color:#8a1410}
.scroll{overflow-x:auto}td code{white-space:nowrap}
.bad{color:#8a1410}.none,.ago{color:#7a838d}
`;
